package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestLogsFilter checks FilterLogEvents: streams interleaved by time,
// term patterns, paging with nextToken, startTime polling as `aws logs
// tail --follow` does it, and its errors.
func TestLogsFilter(t *testing.T) {
	ts := startServer(t)
	c := ts.logsClient()
	dir := t.TempDir()
	// Stream a has the even seconds, stream b the odd ones.
	for k, name := range []string{"a", "b"} {
		var text string
		for i := k; i < 20; i += 2 {
			level := "INFO"
			if i%3 == 0 {
				level = "ERROR"
			}
			text += jobLine(i, fmt.Sprintf("%s step %d done", level, i))
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		must(0, ts.srv.Logs().Attach(bg, "/aws/codebuild/p", name, path, logsT0))(t)
	}
	filter := func(in cwl.FilterLogEventsInput) *cwl.FilterLogEventsOutput {
		t.Helper()
		in.LogGroupName = aws.String("/aws/codebuild/p")
		return must(c.FilterLogEvents(bg, &in))(t)
	}
	texts := func(evs []types.FilteredLogEvent) []string {
		var m []string
		for _, e := range evs {
			m = append(m, *e.LogStreamName+":"+*e.Message)
		}
		return m
	}

	all := filter(cwl.FilterLogEventsInput{})
	if len(all.Events) != 20 || all.NextToken != nil || len(all.SearchedLogStreams) != 2 || !*all.SearchedLogStreams[0].SearchedCompletely {
		t.Fatalf("all: %v %v", texts(all.Events), all.NextToken)
	}
	for i, e := range all.Events {
		if *e.Timestamp != logsT0.Add(time.Duration(i)*time.Second).UnixMilli() || *e.LogStreamName != []string{"a", "b"}[i%2] || len(*e.EventId) != 56 {
			t.Fatalf("event %d: %+v", i, e)
		}
	}

	// Pages of 3 give every event once, in order.
	var paged []types.FilteredLogEvent
	var tok *string
	for {
		out := filter(cwl.FilterLogEventsInput{Limit: aws.Int32(3), NextToken: tok})
		paged = append(paged, out.Events...)
		if tok = out.NextToken; tok == nil {
			break
		}
	}
	if len(paged) != 20 || *paged[19].EventId != *all.Events[19].EventId {
		t.Fatalf("paged: %v", texts(paged))
	}

	cases := []struct {
		pattern string
		want    int
	}{
		{"ERROR", 7},             // 0 3 6 9 12 15 18
		{"ERROR done", 7},        // all terms
		{`"step 1"`, 11},         // 1 and 10..19
		{`"step 1 done"`, 1},     // the exact phrase
		{"?ERROR ?INFO", 20},     // alternatives
		{"ERROR -\"step 1\"", 4}, // 0 3 6 9 (not 12 15 18)
		{"nothing", 0},
	}
	for _, tc := range cases {
		if out := filter(cwl.FilterLogEventsInput{FilterPattern: aws.String(tc.pattern)}); len(out.Events) != tc.want {
			t.Errorf("%s: %d events %v, want %d", tc.pattern, len(out.Events), texts(out.Events), tc.want)
		}
	}
	only := filter(cwl.FilterLogEventsInput{LogStreamNames: []string{"b"}, StartTime: aws.Int64(logsT0.Add(15 * time.Second).UnixMilli()),
		EndTime: aws.Int64(logsT0.Add(17 * time.Second).UnixMilli())})
	if m := texts(only.Events); len(m) != 2 || m[0] != "b:ERROR step 15 done" || m[1] != "b:INFO step 17 done" {
		t.Fatalf("stream b from 15 s to 17 s: %v", m)
	}

	// Polling with startTime from the last event seen finds what was added.
	last := all.Events[19]
	f, err := os.OpenFile(filepath.Join(dir, "a"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(jobLine(30, "[pipewright] Phase complete"))
	f.Close()
	polled := filter(cwl.FilterLogEventsInput{StartTime: last.Timestamp})
	if m := texts(polled.Events); len(m) != 2 || *polled.Events[0].EventId != *last.EventId || m[1] != "a:[pipewright] Phase complete" {
		t.Fatalf("poll: %v", m)
	}

	_, err = c.FilterLogEvents(bg, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/codebuild/p"), FilterPattern: aws.String("{ $.level = 1 }")})
	wantAPIError(t, err, "InvalidParameterException", "")
	_, err = c.FilterLogEvents(bg, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/none")})
	wantAPIError(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = c.FilterLogEvents(bg, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/codebuild/p"), NextToken: aws.String("!!")})
	wantAPIError(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	_, err = c.FilterLogEvents(bg, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/aws/codebuild/p"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: aws.String("a")})
	wantAPIError(t, err, "InvalidParameterException", "")
}
