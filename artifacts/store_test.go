package artifacts_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/store/sqlite"
)

// fixture is a store over a real SQLite index in a temporary directory.
type fixture struct {
	*artifacts.Store
	root string
	db   *sqlite.DB
}

func newStore(t testing.TB, buckets ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{root: filepath.Join(dir, "artifacts"), db: db}
	f.Store = f.reopen(t)
	for _, b := range buckets {
		if err := f.EnsureBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// reopen opens the store again on the same root and index.
func (f *fixture) reopen(t testing.TB) *artifacts.Store {
	t.Helper()
	s, err := artifacts.Open(f.root, f.db.Objects())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// files lists the names of the files under the content directory.
func (f *fixture) files(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.root, "_content"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// wantFiles checks that the content directory holds exactly the files of
// the given objects' paths.
func (f *fixture) wantFiles(t testing.TB, bucket string, keys ...string) {
	t.Helper()
	var want []string
	for _, k := range keys {
		p, err := f.Path(bucket, k)
		if err != nil {
			t.Fatalf("Path(%q): %v", k, err)
		}
		if !slices.Contains(want, filepath.Base(p)) {
			want = append(want, filepath.Base(p))
		}
	}
	slices.Sort(want)
	if got := f.files(t); !slices.Equal(got, want) {
		t.Errorf("content files %q, want %q (of %q)", got, want, keys)
	}
}

func hashes(b []byte) (string, string) {
	sh := sha256.Sum256(b)
	mh := md5.Sum(b)
	return hex.EncodeToString(sh[:]), hex.EncodeToString(mh[:])
}

func mustGet(t *testing.T, s *artifacts.Store, bucket, key string) ([]byte, artifacts.Object) {
	t.Helper()
	f, obj, err := s.Get(bucket, key)
	if err != nil {
		t.Fatalf("Get(%q, %q): %v", bucket, key, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b, obj
}

func mustPut(t *testing.T, s *artifacts.Store, bucket, key, content string) artifacts.Object {
	t.Helper()
	obj, err := s.Put(bucket, key, strings.NewReader(content))
	if err != nil {
		t.Fatalf("Put(%q, %q): %v", bucket, key, err)
	}
	return obj
}

func TestPutGetStatDeleteRoundTrip(t *testing.T) {
	s := newStore(t, "artifact-bucket")
	content := []byte("hello, pipeline\n")
	sha, md := hashes(content)
	const key = "pipe/SourceArti/abc.zip"

	obj, err := s.Put("artifact-bucket", key, bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if obj.Bucket != "artifact-bucket" || obj.Key != key || obj.Size != int64(len(content)) || obj.SHA256 != sha || obj.MD5 != md || obj.ETag != md {
		t.Errorf("Put = %+v", obj)
	}
	if obj.Modified.IsZero() || obj.ChecksumAlgorithm != artifacts.CRC64NVME || obj.Checksum == "" || obj.ChecksumType != "FULL_OBJECT" {
		t.Errorf("Put = %+v: want a modification time and a CRC64NVME full-object checksum", obj)
	}

	got, gobj := mustGet(t, s.Store, "artifact-bucket", key)
	if !bytes.Equal(got, content) {
		t.Errorf("Get content = %q, want %q", got, content)
	}
	sobj, err := s.Stat("artifact-bucket", key)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []artifacts.Object{gobj, sobj} {
		if o.SHA256 != sha || o.MD5 != md || o.Size != int64(len(content)) || !o.Modified.Equal(obj.Modified) || o.Checksum != obj.Checksum {
			t.Errorf("Get/Stat = %+v, want %+v", o, obj)
		}
	}

	p, err := s.Path("artifact-bucket", key)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, content) {
		t.Errorf("reading Path: %q, %v", b, err)
	}

	for i := range 2 {
		if err := s.Delete("artifact-bucket", key); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, _, err := s.Get("artifact-bucket", key); !errors.Is(err, artifacts.ErrNotFound) || errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Stat("artifact-bucket", key); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Path("artifact-bucket", key); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("Path after Delete: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("content file left after Delete: %v", err)
	}
}

func TestPutReplaces(t *testing.T) {
	s := newStore(t, "bucket")
	for _, c := range []string{"first version", "second, longer version", ""} {
		obj := mustPut(t, s.Store, "bucket", "k", c)
		got, gobj := mustGet(t, s.Store, "bucket", "k")
		sha, _ := hashes([]byte(c))
		if string(got) != c || gobj.SHA256 != sha || obj.SHA256 != sha || gobj.Size != int64(len(c)) {
			t.Errorf("after Put(%q): Get = %q %+v", c, got, gobj)
		}
		s.wantFiles(t, "bucket", "k")
	}
}

// TestKeySemantics: keys are strings, not paths.
func TestKeySemantics(t *testing.T) {
	s := newStore(t, "bucket")
	keys := []string{
		"a", "a/b", "a/b/c", "a//b", "a/", "/abs", "/", ".", "..", "../x", "a/../../x", "a/./b",
		"pipe/SourceArti/abc.zip", "a b/c+d=e&f;g,h:i@j$k!l'm(n)o*p~q", "100%.zip", "100%25.zip", ".env",
		"folder/", "ünïcödé/日本語.txt", `back\slash`, "tab\tand\nnewline", "?query#frag", ".tmp-123",
		"nul\x00byte", strings.Repeat("k", 1024), strings.Repeat("s", 300) + "/x",
	}
	for i, k := range keys {
		mustPut(t, s.Store, "bucket", k, fmt.Sprint("content ", i))
	}
	check := func(st *artifacts.Store) {
		t.Helper()
		for i, k := range keys {
			if got, obj := mustGet(t, st, "bucket", k); string(got) != fmt.Sprint("content ", i) || obj.Key != k {
				t.Errorf("Get(%.40q) = %q, %q", k, got, obj.Key)
			}
		}
	}
	check(s.Store)
	check(s.reopen(t))
	s.wantFiles(t, "bucket", keys...)
	if err := s.Delete("bucket", "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustGet(t, s.Store, "bucket", "a/b"); string(got) != "content 1" {
		t.Errorf("a/b after deleting a: %q", got)
	}
}

func TestInvalidKeys(t *testing.T) {
	s := newStore(t, "bucket")
	for _, k := range []string{"", "bad\xffutf8", strings.Repeat("k", 1025)} {
		if _, err := s.Path("bucket", k); !errors.Is(err, artifacts.ErrInvalidKey) {
			t.Errorf("Path(%.40q): %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Put("bucket", k, strings.NewReader("x")); !errors.Is(err, artifacts.ErrInvalidKey) {
			t.Errorf("Put(%.40q): %v, want ErrInvalidKey", k, err)
		}
		if _, _, err := s.Get("bucket", k); !errors.Is(err, artifacts.ErrInvalidKey) {
			t.Errorf("Get(%.40q): %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete("bucket", k); !errors.Is(err, artifacts.ErrInvalidKey) {
			t.Errorf("Delete(%.40q): %v, want ErrInvalidKey", k, err)
		}
	}
	if got := s.files(t); len(got) != 0 {
		t.Errorf("files left: %q", got)
	}
}

func TestEnsureBucketNames(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"codepipeline-us-east-1-123", "my.bucket.example", "abc", strings.Repeat("a", 63), "MyBucket", "-lead", "trail.", "...", "a..b"} {
		if err := s.EnsureBucket(name); err != nil {
			t.Errorf("EnsureBucket(%q): %v", name, err)
		}
		if err := s.EnsureBucket(name); err != nil {
			t.Errorf("second EnsureBucket(%q): %v", name, err)
		}
		mustPut(t, s.Store, name, "k", name)
	}
	for _, name := range []string{"ab", strings.Repeat("a", 64), "a_b", "has space", "slash/es", "..", "bück", ""} {
		if err := s.EnsureBucket(name); !errors.Is(err, artifacts.ErrInvalidBucketName) {
			t.Errorf("EnsureBucket(%q): %v, want ErrInvalidBucketName", name, err)
		}
		if _, err := s.Put(name, "k", strings.NewReader("x")); !errors.Is(err, artifacts.ErrInvalidBucketName) {
			t.Errorf("Put(%q, ...): %v, want ErrInvalidBucketName", name, err)
		}
	}
	// Buckets differing only in case are distinct.
	if err := s.EnsureBucket("mybucket"); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s.Store, "mybucket", "k", "lower")
	if got, _ := mustGet(t, s.Store, "MyBucket", "k"); string(got) != "MyBucket" {
		t.Errorf("MyBucket/k = %q", got)
	}
}

func TestMissingBucket(t *testing.T) {
	s := newStore(t)
	if _, err := s.Put("nobucket", "k", strings.NewReader("x")); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("Put: %v, want ErrNoSuchBucket", err)
	}
	if _, _, err := s.Get("nobucket", "k"); !errors.Is(err, artifacts.ErrNoSuchBucket) || !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("Get: %v, want ErrNoSuchBucket and ErrNotFound", err)
	}
	if _, err := s.Stat("nobucket", "k"); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("Stat: %v, want ErrNoSuchBucket", err)
	}
	if err := s.Delete("nobucket", "k"); !errors.Is(err, artifacts.ErrNoSuchBucket) {
		t.Errorf("Delete: %v, want ErrNoSuchBucket", err)
	}
	if got := s.files(t); len(got) != 0 {
		t.Errorf("files left: %q", got)
	}
}

// failingReader returns n bytes of data, then an error.
type failingReader struct{ n int }

var errBoom = errors.New("boom")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBoom
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func TestPutFailingReaderLeavesNothing(t *testing.T) {
	s := newStore(t, "bucket")
	if _, err := s.Put("bucket", "new/object", &failingReader{n: 1 << 20}); !errors.Is(err, errBoom) {
		t.Fatalf("Put: %v, want errBoom", err)
	}
	if _, err := s.Stat("bucket", "new/object"); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("Stat after failed Put: %v, want ErrNotFound", err)
	}
	mustPut(t, s.Store, "bucket", "old", "old content")
	if _, err := s.PutObject(context.Background(), "bucket", "old", &failingReader{n: 300 << 10}, artifacts.PutOptions{Size: -1}); !errors.Is(err, errBoom) {
		t.Fatalf("PutObject: %v, want errBoom", err)
	}
	if got, obj := mustGet(t, s.Store, "bucket", "old"); string(got) != "old content" || obj.Size != 11 {
		t.Errorf("after failed replace: %q %+v", got, obj)
	}
	s.wantFiles(t, "bucket", "old")
}

func TestPutInProgressIsInvisible(t *testing.T) {
	s := newStore(t, "bucket")
	mustPut(t, s.Store, "bucket", "k", "old")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put("bucket", "k", pr)
		done <- err
	}()
	if _, err := pw.Write(bytes.Repeat([]byte("n"), 100<<10)); err != nil {
		t.Fatal(err)
	}
	// The Put has consumed half of its content: readers see the old object.
	got, obj := mustGet(t, s.Store, "bucket", "k")
	if string(got) != "old" || obj.Size != 3 {
		t.Errorf("during Put: Get = %q %+v", got, obj)
	}
	if _, err := s.Stat("bucket", "k2"); !errors.Is(err, artifacts.ErrNotFound) {
		t.Errorf("Stat(k2): %v", err)
	}
	pw.Write(bytes.Repeat([]byte("n"), 100<<10))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, obj := mustGet(t, s.Store, "bucket", "k"); len(got) != 200<<10 || obj.Size != 200<<10 {
		t.Errorf("after Put: %d bytes, %+v", len(got), obj)
	}
	s.wantFiles(t, "bucket", "k")
}

// TestOpenRemovesLeftovers: what a crash leaves (a temporary file, a
// content file renamed into place whose metadata never committed) is gone
// after Open; named content and other files stay.
func TestOpenRemovesLeftovers(t *testing.T) {
	s := newStore(t, "bucket")
	mustPut(t, s.Store, "bucket", "dir/kept", "kept")
	data := filepath.Join(s.root, "_content")
	for name, content := range map[string]string{
		".tmp-123456":                      "half-written object",
		".tmp-999":                         "",
		"0123456789abcdef0123456789abcdef": "renamed, never committed",
		"ffffffffffffffffffffffffffffffff": "",
	} {
		if err := os.WriteFile(filepath.Join(data, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(data, "README"), []byte("not the store's"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := s.reopen(t)
	p, _ := s2.Path("bucket", "dir/kept")
	if got, want := s.files(t), []string{"README", filepath.Base(p)}; !slices.Equal(got, want) && !slices.Equal(got, []string{want[1], want[0]}) {
		t.Errorf("after Open, data holds %q, want %q", got, want)
	}
	if got, _ := mustGet(t, s2, "bucket", "dir/kept"); string(got) != "kept" {
		t.Errorf("kept = %q", got)
	}
}

func TestConcurrentPutGetDelete(t *testing.T) {
	s := newStore(t, "bucket")
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 20 {
				key := fmt.Sprintf("shared/dir%d/obj", i%3)
				content := strings.Repeat(fmt.Sprint(g), 1000+i)
				switch (g + i) % 3 {
				case 0:
					if _, err := s.Put("bucket", key, strings.NewReader(content)); err != nil {
						t.Error(err)
					}
				case 1:
					f, obj, err := s.Get("bucket", key)
					if errors.Is(err, artifacts.ErrNotFound) {
						continue
					}
					if err != nil {
						t.Error(err)
						continue
					}
					b, _ := io.ReadAll(f)
					f.Close()
					sha, _ := hashes(b)
					if int64(len(b)) != obj.Size || sha != obj.SHA256 {
						t.Errorf("Get(%s): %d bytes with metadata %+v", key, len(b), obj)
					}
				case 2:
					if err := s.Delete("bucket", key); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	var live []string
	for i := range 3 {
		key := fmt.Sprintf("shared/dir%d/obj", i)
		if _, err := s.Stat("bucket", key); err == nil {
			live = append(live, key)
		}
	}
	s.wantFiles(t, "bucket", live...)
}

func TestLinkSharesContentAndSurvivesDelete(t *testing.T) {
	s := newStore(t, "bucket")
	orig := mustPut(t, s.Store, "bucket", "p/a/one.zip", "content")
	linked, err := s.Link("bucket", "p/a/one.zip", "p/b/two.zip")
	if err != nil {
		t.Fatal(err)
	}
	if linked.SHA256 != orig.SHA256 || linked.Size != orig.Size || linked.Key != "p/b/two.zip" || linked.ETag != orig.ETag {
		t.Fatalf("linked %+v, original %+v", linked, orig)
	}
	s.wantFiles(t, "bucket", "p/a/one.zip", "p/b/two.zip")
	if len(s.files(t)) != 1 {
		t.Errorf("Link copied the content: %q", s.files(t))
	}
	if err := s.Delete("bucket", "p/a/one.zip"); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustGet(t, s.Store, "bucket", "p/b/two.zip"); string(got) != "content" {
		t.Fatalf("content %q", got)
	}
	if _, err := s.Link("bucket", "p/a/one.zip", "p/c/three.zip"); !errors.Is(err, artifacts.ErrNotFound) {
		t.Fatalf("linking a missing object: %v", err)
	}
	if err := s.Delete("bucket", "p/b/two.zip"); err != nil {
		t.Fatal(err)
	}
	s.wantFiles(t, "bucket")
}

func BenchmarkPutSmall(b *testing.B) {
	s := newStore(b, "bucket")
	content := bytes.Repeat([]byte("artifact "), 2000)
	for b.Loop() {
		if _, err := s.Put("bucket", "pipe/SourceArti/abc.zip", bytes.NewReader(content)); err != nil {
			b.Fatal(err)
		}
	}
}
