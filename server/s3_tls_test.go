package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pipewright/pipewright/server"
)

// Over TLS aws-sdk-go-v2 sends S3 bodies it cannot hash up front as
// aws-chunked with a trailing CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER):
// the server, behind a TLS listener, stores them whole and checked.
func TestS3OverTLSWithTrailingChecksums(t *testing.T) {
	cert := httptest.NewUnstartedServer(nil)
	cert.StartTLS()
	tlsConf, httpClient := cert.TLS.Clone(), cert.Client()
	cert.Close()
	srv, err := server.Open(context.Background(), server.Config{Data: t.TempDir(), Region: "us-east-1", AccountID: "000000000000",
		StopGrace: 2 * time.Second, AccessKeyID: testKey, SecretAccessKey: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ln := listenFresh(t)
	go srv.Serve(tls.NewListener(ln, tlsConf))
	c := s3.New(s3.Options{
		BaseEndpoint: aws.String("https://" + ln.Addr().String()), Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testKey, testSecret, ""),
		Retryer:     onlyTransportRaceRetryer(), UsePathStyle: true, HTTPClient: httpClient,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	})
	ctx := context.Background()
	mustBucket(t, c, "tls")
	body := make([]byte, 3<<20+17)
	rand.Read(body)
	var seen []string
	record := func(o *s3.Options) {
		o.HTTPClient = recordingClient{httpClient, &seen}
	}
	// An io.Reader the SDK cannot seek: it must stream it as aws-chunked.
	put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("tls"), Key: aws.String("streamed"),
		Body: io.MultiReader(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body))),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32}, record)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != "STREAMING-UNSIGNED-PAYLOAD-TRAILER" {
		t.Fatalf("the SDK sent x-amz-content-sha256 %q, want the trailer form", seen)
	}
	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("tls"), Key: aws.String("streamed"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the streamed object: %v, %d bytes of %d", err, len(got), len(body))
	}
	if aws.ToString(get.ChecksumCRC32) == "" || aws.ToString(get.ChecksumCRC32) != aws.ToString(put.ChecksumCRC32) {
		t.Fatalf("CRC32 answered on GetObject %q, on PutObject %q", aws.ToString(get.ChecksumCRC32), aws.ToString(put.ChecksumCRC32))
	}
}

// recordingClient notes each request's x-amz-content-sha256.
type recordingClient struct {
	c    *http.Client
	seen *[]string
}

func (r recordingClient) Do(req *http.Request) (*http.Response, error) {
	*r.seen = append(*r.seen, req.Header.Get("X-Amz-Content-Sha256"))
	return r.c.Do(req)
}
