package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/pipewright/pipewright/logs/shape"
)

var logsT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// jobLine is a line as the job layer writes it: event i at logsT0 + i s.
func jobLine(i int, text string) string {
	return logsT0.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05.000Z") + " " + text + "\n"
}

// attachFile writes n job lines into a file and attaches it as group/stream.
func attachFile(t *testing.T, ts *testServer, group, stream string, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), stream+".log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fmt.Fprint(f, jobLine(i, fmt.Sprintf("line %d", i)))
	}
	f.Close()
	if err := ts.srv.Logs().Attach(bg, group, stream, path, logsT0); err != nil {
		t.Fatal(err)
	}
	return path
}

func getEvents(t *testing.T, c *cwl.Client, in cwl.GetLogEventsInput) *cwl.GetLogEventsOutput {
	t.Helper()
	in.LogGroupName, in.LogStreamName = aws.String("/aws/codebuild/p"), aws.String("b1")
	return must(c.GetLogEvents(bg, &in))(t)
}

func messages(out *cwl.GetLogEventsOutput) []string {
	var m []string
	for _, e := range out.Events {
		m = append(m, *e.Message)
	}
	return m
}

// TestLogsTokens checks GetLogEvents's forward and backward paging as AWS
// does it: the same token back when nothing is new, the last page by
// default.
func TestLogsTokens(t *testing.T) {
	ts := startServer(t)
	c := ts.logsClient()
	attachFile(t, ts, "/aws/codebuild/p", "b1", 25)
	// Attach is idempotent.
	path := attachFile(t, ts, "/aws/codebuild/p", "b1", 25)

	var got []string
	tok := (*string)(nil)
	for range 5 {
		out := getEvents(t, c, cwl.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(10), NextToken: tok})
		got = append(got, messages(out)...)
		if tok != nil && *out.NextForwardToken == *tok {
			break
		}
		if out.NextBackwardToken == nil || (*out.NextForwardToken)[:2] != "f/" || len(*out.NextForwardToken) != 58 {
			t.Fatalf("tokens: %v %v", *out.NextForwardToken, out.NextBackwardToken)
		}
		tok = out.NextForwardToken
	}
	if len(got) != 25 || got[0] != "line 0" || got[24] != "line 24" {
		t.Fatalf("forward: %v", got)
	}
	e0 := getEvents(t, c, cwl.GetLogEventsInput{StartFromHead: aws.Bool(true), Limit: aws.Int32(1)}).Events[0]
	if *e0.Timestamp != logsT0.UnixMilli() || *e0.IngestionTime != logsT0.UnixMilli() {
		t.Fatalf("event: %+v", e0)
	}

	// The default reads the last page; backward tokens go towards the start.
	last := getEvents(t, c, cwl.GetLogEventsInput{Limit: aws.Int32(10)})
	if m := messages(last); len(m) != 10 || m[0] != "line 15" || m[9] != "line 24" {
		t.Fatalf("last page: %v", m)
	}
	back := getEvents(t, c, cwl.GetLogEventsInput{Limit: aws.Int32(10), NextToken: last.NextBackwardToken})
	if m := messages(back); len(m) != 10 || m[0] != "line 5" || m[9] != "line 14" {
		t.Fatalf("back page: %v", m)
	}
	back = getEvents(t, c, cwl.GetLogEventsInput{Limit: aws.Int32(10), NextToken: back.NextBackwardToken})
	if m := messages(back); len(m) != 5 || m[0] != "line 0" {
		t.Fatalf("first page: %v", m)
	}
	head := getEvents(t, c, cwl.GetLogEventsInput{NextToken: back.NextBackwardToken})
	if len(head.Events) != 0 || *head.NextBackwardToken != *back.NextBackwardToken {
		t.Fatalf("past the start: %v %s", messages(head), *head.NextBackwardToken)
	}
	// Nothing new after the last page: the same forward token.
	none := getEvents(t, c, cwl.GetLogEventsInput{NextToken: last.NextForwardToken})
	if len(none.Events) != 0 || *none.NextForwardToken != *last.NextForwardToken {
		t.Fatalf("nothing new: %v %s", messages(none), *none.NextForwardToken)
	}

	// A line being written is not an event until its newline arrives.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := jobLine(25, "[pipewright] the end")
	f.WriteString(line[:20])
	if out := getEvents(t, c, cwl.GetLogEventsInput{NextToken: last.NextForwardToken}); len(out.Events) != 0 || *out.NextForwardToken != *last.NextForwardToken {
		t.Fatalf("partial line read: %v", messages(out))
	}
	f.WriteString(line[20:])
	out := getEvents(t, c, cwl.GetLogEventsInput{NextToken: last.NextForwardToken})
	if m := messages(out); len(m) != 1 || m[0] != "[pipewright] the end" {
		t.Fatalf("grown: %v", m)
	}

	// startTime is inclusive, endTime exclusive.
	win := getEvents(t, c, cwl.GetLogEventsInput{StartFromHead: aws.Bool(true),
		StartTime: aws.Int64(logsT0.Add(3 * time.Second).UnixMilli()), EndTime: aws.Int64(logsT0.Add(6 * time.Second).UnixMilli())})
	if m := messages(win); len(m) != 3 || m[0] != "line 3" || m[2] != "line 5" {
		t.Fatalf("window: %v", m)
	}
	_, err = c.GetLogEvents(bg, &cwl.GetLogEventsInput{LogGroupName: aws.String("/aws/codebuild/p"), LogStreamName: aws.String("b1"), NextToken: aws.String("x/1")})
	wantAPIError(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	_, err = c.GetLogEvents(bg, &cwl.GetLogEventsInput{LogGroupName: aws.String("/aws/codebuild/p"), LogStreamName: aws.String("b2")})
	wantAPIError(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")

	// Detach forgets the stream and leaves the file.
	if err := ts.srv.Logs().Detach(bg, "/aws/codebuild/p", "b1"); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetLogEvents(bg, &cwl.GetLogEventsInput{LogGroupName: aws.String("/aws/codebuild/p"), LogStreamName: aws.String("b1")})
	wantAPIError(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestLogsBigFile pages through a 20 MB attached file completely, and a
// page costs the server far less memory than the file.
func TestLogsBigFile(t *testing.T) {
	ts := startServer(t)
	c := ts.logsClient()
	path := filepath.Join(t.TempDir(), "big.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pad := fmt.Sprintf("%070d", 0)
	n := 0
	for size := 0; size < 20<<20; n++ {
		l := jobLine(n/100, fmt.Sprintf("%d %s", n, pad))
		f.WriteString(l)
		size += len(l)
	}
	f.Close()
	must(0, ts.srv.Logs().Attach(bg, "/aws/codebuild/p", "b1", path, logsT0))(t)

	count, pages := 0, 0
	var tok *string
	for {
		out := getEvents(t, c, cwl.GetLogEventsInput{StartFromHead: aws.Bool(true), NextToken: tok})
		for _, e := range out.Events {
			if want := fmt.Sprintf("%d %s", count, pad); *e.Message != want {
				t.Fatalf("event %d: %q", count, *e.Message)
			}
			count++
		}
		if tok != nil && *out.NextForwardToken == *tok {
			break
		}
		tok = out.NextForwardToken
		pages++
	}
	if count != n || pages < 20 {
		t.Fatalf("read %d of %d events in %d pages", count, n, pages)
	}

	// Memory: one full page from the middle and the last page, called on
	// the service directly, allocate a fraction of the file.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	mid := fmt.Sprintf("f/%056d", 10<<20)
	if _, err := ts.srv.Logs().GetLogEvents(bg, &shape.GetLogEventsRequest{LogGroupName: aws.String("/aws/codebuild/p"), LogStreamName: aws.String("b1"), NextToken: &mid}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.srv.Logs().GetLogEvents(bg, &shape.GetLogEventsRequest{LogGroupName: aws.String("/aws/codebuild/p"), LogStreamName: aws.String("b1")}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("two pages allocated %d bytes", alloc)
	}
}
