package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/pipewright/pipewright/codedeploy/hostcmd"
)

// newClient returns a client of endpoint (scheme, host and port).
func newClient(endpoint, region string, creds aws.CredentialsProvider) *client {
	return &client{endpoint: strings.TrimRight(endpoint, "/"), region: region, creds: creds,
		http:     &http.Client{Timeout: 0},
		signer:   v4.NewSigner(),
		s3signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })}
}

// client makes SigV4-signed requests to a pipewright endpoint: awsJson1_1
// calls of codedeploy-commands and CodeDeploy, and S3 GETs.
type client struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     *http.Client
	signer   *v4.Signer
	// s3signer signs S3 requests, whose paths are escaped once.
	s3signer *v4.Signer
}

// apiError is an AWS error answer: its type and message.
type apiError struct {
	Status  int
	Type    string
	Message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message)
}

// permanent reports whether err is an answer that repeating the request
// will not change: a 4xx other than throttling.
func permanent(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && !strings.Contains(ae.Type, "Throttl")
}

// commands calls a codedeploy-commands operation.
func (c *client) commands(ctx context.Context, op string, in, out any) error {
	return c.call(ctx, hostcmd.SigningName, hostcmd.TargetPrefix+"."+op, in, out)
}

// codedeploy calls a CodeDeploy operation.
func (c *client) codedeploy(ctx context.Context, op string, in, out any) error {
	return c.call(ctx, "codedeploy", "CodeDeploy_20141006."+op, in, out)
}

func (c *client) call(ctx context.Context, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	if err := c.sign(ctx, req, hex.EncodeToString(sum[:]), service); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return decodeError(resp.StatusCode, resp.Header, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// decodeError reads an awsJson error answer.
func decodeError(status int, h http.Header, b []byte) error {
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
		Msg     string `json:"Message"`
	}
	_ = json.Unmarshal(b, &e)
	typ := h.Get("X-Amzn-Errortype")
	if typ == "" {
		typ = e.Type
	}
	if i := strings.LastIndexByte(typ, '#'); i >= 0 {
		typ = typ[i+1:]
	}
	if i := strings.Index(typ, ":"); i >= 0 {
		typ = typ[:i]
	}
	msg := e.Message
	if msg == "" {
		msg = e.Msg
	}
	if typ == "" {
		typ = http.StatusText(status)
	}
	return &apiError{Status: status, Type: typ, Message: msg}
}

// sign signs req for service with the current credentials.
func (c *client) sign(ctx context.Context, req *http.Request, payloadHash, service string) error {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("agent: credentials: %w", err)
	}
	s := c.signer
	if service == "s3" {
		s = c.s3signer
	}
	return s.SignHTTP(ctx, creds, req, payloadHash, service, c.region, time.Now())
}

// getObject opens bucket/key of the endpoint's S3, path-style.
func (c *client) getObject(ctx context.Context, bucket, key string) (*http.Response, error) {
	u := c.endpoint + "/" + escapePath(bucket) + "/" + escapePath(key)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	const unsigned = "UNSIGNED-PAYLOAD"
	req.Header.Set("X-Amz-Content-Sha256", unsigned)
	if err := c.sign(ctx, req, unsigned, "s3"); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, s3Error(resp.StatusCode, b)
	}
	return resp, nil
}

// s3Error reads an S3 error document's code and message.
func s3Error(status int, b []byte) error {
	code, msg := between(b, "<Code>", "</Code>"), between(b, "<Message>", "</Message>")
	if code == "" {
		code = http.StatusText(status)
	}
	return &apiError{Status: status, Type: code, Message: msg}
}

func between(b []byte, open, close string) string {
	s := string(b)
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	if j := strings.Index(s, close); j >= 0 {
		return s[:j]
	}
	return ""
}

// escapePath escapes an S3 key for a URL path the way SigV4 for S3
// expects: every byte but unreserved ones and '/' percent-encoded.
func escapePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
