package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// A kill -9 while an object's body is arriving leaves no half object: after
// the restart the key does not exist, the objects stored before are whole,
// and no content file is left that nothing names.
func TestS3KillDuringPutLeavesNoHalfObject(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr)
		cmd.Env = append(withoutPipewrightKeys(), "PIPEWRIGHT_ACCESS_KEY_ID=AKIAENVKEY0000000000", "PIPEWRIGHT_SECRET_ACCESS_KEY=env-secret")
		serveUntilReady(t, cmd)
		return cmd
	}
	cmd := start()
	c := s3.New(s3.Options{BaseEndpoint: aws.String("http://" + addr), Region: "us-east-1", RetryMaxAttempts: 1, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAENVKEY0000000000", "env-secret", "")})
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("crash")}); err != nil {
		t.Fatal(err)
	}
	kept := make([]byte, 1<<20)
	rand.Read(kept)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("crash"), Key: aws.String("kept"), Body: bytes.NewReader(kept)}); err != nil {
		t.Fatal(err)
	}

	// A 64 MiB PutObject of which 16 MiB arrive, then the server dies.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/crash/half", pr)
	req.ContentLength = 64 << 20
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: "AKIAENVKEY0000000000", SecretAccessKey: "env-secret"}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		sent <- err
	}()
	chunk := make([]byte, 1<<20)
	for range 16 {
		rand.Read(chunk)
		if _, err := pw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	content := filepath.Join(data, "artifacts", "_content")
	deadline := time.Now().Add(10 * time.Second)
	for tempBytes(t, content) < 8<<20 {
		if time.Now().After(deadline) {
			t.Fatal("the body never reached a temporary file")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	pw.CloseWithError(io.ErrClosedPipe)
	<-sent

	cmd = start()
	defer stopCleanly(t, cmd)
	_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("crash"), Key: aws.String("half")})
	var ae smithy.APIError
	if err == nil || !errors.As(err, &ae) || ae.ErrorCode() != "NotFound" {
		t.Fatalf("the half-sent object after the restart: %v", err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("crash"), Key: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, kept) {
		t.Fatalf("the object stored before the kill: %d bytes, want %d intact", len(got), len(kept))
	}
	ents, err := os.ReadDir(content)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || strings.HasPrefix(names[0], ".tmp") {
		t.Fatalf("content files after the restart: %v, want the one of kept", names)
	}
}

// tempBytes is the size of the temporary files in dir.
func tempBytes(t *testing.T, dir string) int64 {
	ents, _ := os.ReadDir(dir)
	var n int64
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp") {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}
