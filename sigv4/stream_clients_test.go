package sigv4_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/pipewright/pipewright/sigv4"
)

// upload is what s3Recorder saw of one request.
type upload struct {
	contentSHA string
	content    []byte
	trailer    map[string]string
	err        error
}

// s3Recorder is an S3 endpoint stand-in: it verifies each request with
// VerifyStream, reads the payload to its end and records what it got,
// answering 200 or, on failure, an S3 error document.
type s3Recorder struct {
	v  *sigv4.Verifier
	mu sync.Mutex
	up []upload
}

func (s *s3Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := upload{contentSHA: r.Header.Get("X-Amz-Content-Sha256")}
	_, p, err := s.v.VerifyStream(r, "s3")
	if err == nil {
		u.content, err = io.ReadAll(p)
		u.trailer = p.Trailer()
	}
	u.err = err
	s.mu.Lock()
	s.up = append(s.up, u)
	s.mu.Unlock()
	if err != nil {
		// Take the rest of the body, as a server that wants its client to
		// see the answer does: a client still sending a body the server
		// left unread may meet a reset connection instead.
		io.Copy(io.Discard, r.Body)
		code := "InternalError"
		var e *sigv4.Error
		if errors.As(err, &e) {
			code = e.Code
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "<Error><Code>"+code+"</Code><Message>refused</Message></Error>")
		return
	}
	w.Header().Set("ETag", `"d41d8cd98f00b204e9800998ecf8427e"`)
}

func (s *s3Recorder) last() upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up[len(s.up)-1]
}

// TestGoSDKS3Uploads puts objects and parts through aws-sdk-go-v2's S3
// client with its default flexible checksums: over HTTPS it sends
// aws-chunked bodies with a CRC32 trailer, over plain HTTP a signed hex
// hash.
func TestGoSDKS3Uploads(t *testing.T) {
	t.Parallel()
	data := content(300_000)
	crc := make([]byte, 4)
	binary.BigEndian.PutUint32(crc, crc32.ChecksumIEEE(data))
	wantCRC := base64.StdEncoding.EncodeToString(crc)

	for _, c := range []struct {
		name        string
		tls         bool
		body        func() io.Reader
		contentSHA  string
		wantTrailer bool
		noLength    bool // ContentLength not given: the SDK frames 64 KiB chunks
	}{
		{name: "https seekable", tls: true, body: func() io.Reader { return bytes.NewReader(data) },
			contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", wantTrailer: true},
		{name: "https unseekable", tls: true, body: func() io.Reader { return io.MultiReader(bytes.NewReader(data)) },
			contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", wantTrailer: true},
		{name: "https unknown length", tls: true, body: func() io.Reader { return io.MultiReader(bytes.NewReader(data)) },
			contentSHA: "STREAMING-UNSIGNED-PAYLOAD-TRAILER", wantTrailer: true, noLength: true},
		{name: "http seekable", body: func() io.Reader { return bytes.NewReader(data) }, contentSHA: hexSHA(data)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rec := &s3Recorder{v: newVerifierNow()}
			var srv *httptest.Server
			if c.tls {
				srv = httptest.NewTLSServer(rec)
			} else {
				srv = httptest.NewServer(rec)
			}
			t.Cleanup(srv.Close)
			newClient := func(secret string) *s3.Client {
				return s3.New(s3.Options{
					Region:                     testRegion,
					BaseEndpoint:               aws.String(srv.URL),
					UsePathStyle:               true,
					Credentials:                credentials.NewStaticCredentialsProvider(testAKID, secret, ""),
					HTTPClient:                 srv.Client(),
					Retryer:                    aws.NopRetryer{},
					RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
				})
			}
			client := newClient(testSecret)
			ctx := context.Background()
			length := aws.Int64(int64(len(data)))
			if c.noLength {
				length = nil
			}
			check := func(what string) {
				t.Helper()
				u := rec.last()
				if u.err != nil || !bytes.Equal(u.content, data) {
					t.Fatalf("%s: server read %d bytes, %v", what, len(u.content), u.err)
				}
				if u.contentSHA != c.contentSHA {
					t.Errorf("%s: x-amz-content-sha256 %q, want %q", what, u.contentSHA, c.contentSHA)
				}
				if got := u.trailer["x-amz-checksum-crc32"]; c.wantTrailer && got != wantCRC || !c.wantTrailer && u.trailer != nil {
					t.Errorf("%s: trailer %v, want crc32 %s", what, u.trailer, wantCRC)
				}
			}
			_, err := client.PutObject(ctx, &s3.PutObjectInput{
				Bucket: aws.String("bucket"), Key: aws.String("dir/some key ü.bin"),
				Body: c.body(), ContentLength: length,
			})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			check("PutObject")
			_, err = client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String("bucket"), Key: aws.String("a//b/../c"), UploadId: aws.String("u+1/2"),
				PartNumber: aws.Int32(3), Body: c.body(), ContentLength: length,
			})
			if err != nil {
				t.Fatalf("UploadPart: %v", err)
			}
			check("UploadPart")

			_, err = newClient("wrong").PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bucket"), Key: aws.String("k"), Body: c.body()})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != sigv4.CodeInvalidSignature {
				t.Fatalf("wrong secret: %v", err)
			}
		})
	}
}
