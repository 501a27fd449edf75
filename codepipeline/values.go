package codepipeline

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/pipewright/pipewright/wire"
)

// str returns a pointer to s, or nil for "" so that the member is omitted.
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func ptr[T any](v T) *T { return &v }

// ts returns the wire timestamp of t, or nil for the zero time.
func ts(t time.Time) *wire.Timestamp {
	if t.IsZero() {
		return nil
	}
	return wire.NewTimestamp(t)
}

// callerARN is the identity recorded as having done something.
func (s *Service) callerARN(ctx context.Context) string {
	return "arn:aws:iam::" + s.cfg.AccountID + ":user/" + callerName(ctx)
}

func callerName(ctx context.Context) string {
	if c := wire.CallerFrom(ctx); c.AccessKeyID != "" {
		return "pipewright-" + c.AccessKeyID
	}
	return "pipewright"
}

// pipelineARN is the ARN of a pipeline, formed as AWS forms it.
func (s *Service) pipelineARN(name string) string {
	return "arn:aws:codepipeline:" + s.cfg.Region + ":" + s.cfg.AccountID + ":" + name
}

// Page tokens are opaque to clients: a kind and a position, base64url.
func pageToken(kind string, pos string) *string {
	return str(base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + pos)))
}

// parseToken decodes a page token of the given kind; ok is false for a
// token that is not one of ours.
func parseToken(kind, tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	k, pos, found := strings.Cut(string(b), ":")
	if !found || k != kind {
		return "", false
	}
	return pos, true
}

// parseSeqToken decodes a token that carries a sequence number.
func parseSeqToken(kind string, tok *string) (int64, *wire.Error) {
	if tok == nil {
		return 0, nil
	}
	pos, ok := parseToken(kind, *tok)
	n, err := strconv.ParseInt(pos, 10, 64)
	if !ok || err != nil || n <= 0 {
		return 0, apiError(excInvalidNextToken, "The next token is not valid")
	}
	return n, nil
}

func seqToken(kind string, seq int64) *string { return pageToken(kind, strconv.FormatInt(seq, 10)) }
