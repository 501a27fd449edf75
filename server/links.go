package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pipewright/pipewright/codebuild"
	cbshape "github.com/pipewright/pipewright/codebuild/shape"
	cwlogs "github.com/pipewright/pipewright/logs"
	lshape "github.com/pipewright/pipewright/logs/shape"
	"github.com/pipewright/pipewright/wire"
)

// The links builds carry (deepLink, CODEBUILD_BUILD_URL, a CodeBuild
// action's externalExecutionUrl) are pipewright's own pages, signed like
// every other request (SigV4 in headers, as `curl --aws-sigv4` sends, or a
// presigned query):
//
//	GET /_pipewright/builds/ID            the build's log, signed for codebuild
//	GET /_pipewright/logs?group=G&stream=S a log stream, signed for logs
//
// Each answers the stream's events as text/plain, one "TIME MESSAGE" line
// each (UTC, milliseconds), from the first event to the last written.
const (
	buildsPath = "/_pipewright/builds/"
	logsPath   = "/_pipewright/logs"
)

// links serves the pages above.
type links struct {
	auth *authenticator
	cb   *codebuild.Service
	logs *cwlogs.Service
}

// serves reports whether the request is one of the links' pages.
func (l *links) serves(r *http.Request) bool {
	return r.Method == http.MethodGet && (strings.HasPrefix(r.URL.Path, buildsPath) || r.URL.Path == logsPath)
}

func (l *links) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	service := "logs"
	if r.URL.Path != logsPath {
		service = "codebuild"
	}
	if _, err := l.auth.Authenticate(r, nil, service); err != nil {
		linkError(w, http.StatusForbidden, err)
		return
	}
	group, stream := r.URL.Query().Get("group"), r.URL.Query().Get("stream")
	if service == "codebuild" {
		id := strings.TrimPrefix(r.URL.Path, buildsPath)
		out, err := l.cb.BatchGetBuilds(r.Context(), &cbshape.BatchGetBuildsInput{Ids: []string{id}})
		if err != nil || len(out.Builds) == 0 {
			linkError(w, http.StatusNotFound, wire.Errorf("ResourceNotFoundException", "Build %s does not exist", id))
			return
		}
		group, stream = out.Builds[0].Logs.GetGroupName(), out.Builds[0].Logs.GetStreamName()
	}
	if err := l.writeStream(r.Context(), w, group, stream); err != nil {
		linkError(w, http.StatusNotFound, err)
	}
}

// writeStream writes a log stream's events, page by page; an error comes
// back before anything was written.
func (l *links) writeStream(ctx context.Context, w http.ResponseWriter, group, stream string) error {
	in := &lshape.GetLogEventsRequest{LogGroupName: &group, LogStreamName: &stream, StartFromHead: ptrTo(true)}
	for first := true; ; first = false {
		page, err := l.logs.GetLogEvents(ctx, in)
		if err != nil {
			if first {
				return err
			}
			return nil
		}
		if first {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
		}
		for _, e := range page.Events {
			fmt.Fprintf(w, "%s %s\n", time.UnixMilli(e.GetTimestamp()).UTC().Format("2006-01-02T15:04:05.000Z"), e.GetMessage())
		}
		if len(page.Events) == 0 || page.GetNextForwardToken() == in.GetNextToken() {
			return nil
		}
		in.NextToken = page.NextForwardToken
	}
}

// linkError answers an AWS-shaped JSON error.
func linkError(w http.ResponseWriter, status int, err error) {
	code, msg := "InternalFailure", "The request could not be served."
	var we *wire.Error
	if errors.As(err, &we) {
		code, msg = we.Code, we.Message
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func ptrTo[T any](v T) *T { return &v }
