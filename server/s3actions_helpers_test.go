package server_test

import (
	"archive/zip"
	"bytes"
	"io"
	"path/filepath"
	"sort"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
)

// The S3 actions' tests put and read objects straight through the
// server's artifact store (the store the S3 endpoint serves), so that they
// test the actions and builds, not the endpoint.

// objects opens the server's artifact store.
func (ts *testServer) objects() *artifacts.Store {
	ts.t.Helper()
	st, err := artifacts.Open(filepath.Join(ts.data, "artifacts"))
	if err != nil {
		ts.t.Fatal(err)
	}
	return st
}

// putObject stores body as bucket/key, creating the bucket, and returns
// its ETag (MD5 hex).
func (ts *testServer) putObject(bucket, key string, body []byte) string {
	ts.t.Helper()
	st := ts.objects()
	if err := st.EnsureBucket(bucket); err != nil {
		ts.t.Fatal(err)
	}
	obj, err := st.Put(bucket, key, bytes.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	return obj.MD5
}

// makeBucket creates an empty bucket.
func (ts *testServer) makeBucket(bucket string) {
	ts.t.Helper()
	if err := ts.objects().EnsureBucket(bucket); err != nil {
		ts.t.Fatal(err)
	}
}

// object returns the content of bucket/key, or nil and false.
func (ts *testServer) object(bucket, key string) ([]byte, bool) {
	ts.t.Helper()
	f, _, err := ts.objects().Get(bucket, key)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		ts.t.Fatal(err)
	}
	return b, true
}

// zipOf is a zip of the given files.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// unzipOf is the files of a zip.
func unzipOf(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(body)
	}
	return out
}
