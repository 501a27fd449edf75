package artifacts

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newStore(t testing.TB, buckets ...string) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range buckets {
		if err := s.EnsureBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func hashes(b []byte) (string, string) {
	sh := sha256.Sum256(b)
	mh := md5.Sum(b)
	return hex.EncodeToString(sh[:]), hex.EncodeToString(mh[:])
}

func mustGet(t *testing.T, s *Store, bucket, key string) ([]byte, Object) {
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

// tempFiles lists the files under root whose names start with prefix.
func tempFiles(t *testing.T, root, prefix string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), prefix) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutGetStatDeleteRoundTrip(t *testing.T) {
	s := newStore(t, "artifact-bucket")
	content := []byte("hello, pipeline\n")
	sha, md := hashes(content)

	obj, err := s.Put("artifact-bucket", "pipe/SourceArti/abc.zip", bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	want := Object{Bucket: "artifact-bucket", Key: "pipe/SourceArti/abc.zip", Size: int64(len(content)), SHA256: sha, MD5: md}
	if obj.Modified.IsZero() {
		t.Error("Put: Modified is zero")
	}
	obj.Modified = want.Modified
	if obj != want {
		t.Errorf("Put = %+v, want %+v", obj, want)
	}

	got, gobj := mustGet(t, s, "artifact-bucket", "pipe/SourceArti/abc.zip")
	if !bytes.Equal(got, content) {
		t.Errorf("Get content = %q, want %q", got, content)
	}
	sobj, err := s.Stat("artifact-bucket", "pipe/SourceArti/abc.zip")
	if err != nil {
		t.Fatal(err)
	}
	if gobj != sobj || sobj.SHA256 != sha || sobj.MD5 != md || sobj.Size != int64(len(content)) {
		t.Errorf("Get = %+v, Stat = %+v", gobj, sobj)
	}

	p, err := s.Path("artifact-bucket", "pipe/SourceArti/abc.zip")
	if err != nil {
		t.Fatal(err)
	}
	if wantP := filepath.Join(s.root, "artifact-bucket", "pipe", "SourceArti", "abc.zip"); p != wantP {
		t.Errorf("Path = %q, want %q", p, wantP)
	}
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, content) {
		t.Errorf("reading Path: %q, %v", b, err)
	}

	for i := 0; i < 2; i++ {
		if err := s.Delete("artifact-bucket", "pipe/SourceArti/abc.zip"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if _, _, err := s.Get("artifact-bucket", "pipe/SourceArti/abc.zip"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, err := s.Stat("artifact-bucket", "pipe/SourceArti/abc.zip"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after Delete: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(s.root, "artifact-bucket", "pipe")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty directories left after Delete: %v", err)
	}
}

func TestPutReplaces(t *testing.T) {
	s := newStore(t, "bucket")
	for _, c := range []string{"first version", "second, longer version", ""} {
		obj, err := s.Put("bucket", "k", strings.NewReader(c))
		if err != nil {
			t.Fatal(err)
		}
		got, gobj := mustGet(t, s, "bucket", "k")
		sha, _ := hashes([]byte(c))
		if string(got) != c || gobj.SHA256 != sha || obj.SHA256 != sha || gobj.Size != int64(len(c)) {
			t.Errorf("after Put(%q): Get = %q %+v", c, got, gobj)
		}
	}
}

func TestKeysWithS3Characters(t *testing.T) {
	s := newStore(t, "bucket")
	keys := []string{
		"pipe/SourceArti/abc.zip",
		"a b/c+d=e&f;g,h:i@j$k!l'm(n)o*p~q",
		"100%.zip",
		"100%25.zip",
		".env",
		"%2Eenv",
		"x/.hidden/..dots/...",
		"folder/",
		"folder/%",
		"a//b",
		"a/%/b",
		"ünïcödé/日本語.txt",
		`back\slash`,
		"tab\tand\nnewline",
		"?query#frag",
		".tmp-123",
		".m.abc",
		"-dash",
		"~tilde",
	}
	for i, k := range keys {
		if _, err := s.Put("bucket", k, strings.NewReader(fmt.Sprint("content ", i))); err != nil {
			t.Fatalf("Put(%q): %v", k, err)
		}
	}
	paths := map[string]string{}
	for i, k := range keys {
		got, _ := mustGet(t, s, "bucket", k)
		if want := fmt.Sprint("content ", i); string(got) != want {
			t.Errorf("Get(%q) = %q, want %q", k, got, want)
		}
		p, err := s.Path("bucket", k)
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := paths[p]; dup {
			t.Errorf("keys %q and %q share path %s", k, other, p)
		}
		paths[p] = k
		rel, err := filepath.Rel(filepath.Join(s.root, "bucket"), p)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("Path(%q) = %s is outside the bucket", k, p)
		}
		if strings.HasPrefix(filepath.Base(p), ".") {
			t.Errorf("Path(%q) = %s has a name reserved for the store", k, p)
		}
	}
	// Reopening must not remove objects whose keys look like store files.
	s2, err := Open(s.root)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		got, _ := mustGet(t, s2, "bucket", k)
		if want := fmt.Sprint("content ", i); string(got) != want {
			t.Errorf("after reopen, Get(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestInvalidKeys(t *testing.T) {
	s := newStore(t, "bucket")
	for _, k := range []string{
		"",
		"/abs",
		"/",
		"..",
		".",
		"../escape",
		"a/../../escape",
		"a/..",
		"a/./b",
		"nul\x00byte",
		"bad\xffutf8",
		strings.Repeat("k", 1025),
		strings.Repeat("s", 251) + "/x",
		strings.Repeat("%", 84),
	} {
		if _, err := s.Path("bucket", k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Path(%.40q): %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Put("bucket", k, strings.NewReader("x")); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put(%.40q): %v, want ErrInvalidKey", k, err)
		}
		if _, _, err := s.Get("bucket", k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Get(%.40q): %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete("bucket", k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete(%.40q): %v, want ErrInvalidKey", k, err)
		}
	}
	if _, err := s.Path("bucket", strings.Repeat("k", 1024)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("1024-byte single segment key: %v, want ErrInvalidKey (segment too long)", err)
	}
	if _, err := s.Put("bucket", strings.Repeat("k/", 511)+"k", strings.NewReader("x")); err != nil {
		t.Errorf("1023-byte key: %v", err)
	}
}

func TestBucketNames(t *testing.T) {
	s := newStore(t)
	tests := []struct {
		name, dir string
	}{
		{"codepipeline-us-east-1-123", "codepipeline-us-east-1-123"},
		{"my.bucket.example", "my.bucket.example"},
		{"abc", "abc"},
		{strings.Repeat("a", 63), strings.Repeat("a", 63)},
		{"MyBucket", "__my_bucket"},
		{"-lead", "_-lead"},
		{"trail.", "_trail."},
		{"...", "_..."},
		{"a..b", "_a..b"},
	}
	for _, tt := range tests {
		if err := s.EnsureBucket(tt.name); err != nil {
			t.Errorf("EnsureBucket(%q): %v", tt.name, err)
			continue
		}
		if err := s.EnsureBucket(tt.name); err != nil {
			t.Errorf("second EnsureBucket(%q): %v", tt.name, err)
		}
		if fi, err := os.Stat(filepath.Join(s.root, tt.dir)); err != nil || !fi.IsDir() {
			t.Errorf("EnsureBucket(%q): directory %q: %v", tt.name, tt.dir, err)
		}
	}
	for _, name := range []string{"ab", strings.Repeat("a", 64), "a_b", "has space", "slash/es", "..", "bück", ""} {
		if err := s.EnsureBucket(name); !errors.Is(err, ErrInvalidBucketName) {
			t.Errorf("EnsureBucket(%q): %v, want ErrInvalidBucketName", name, err)
		}
		if _, err := s.Put(name, "k", strings.NewReader("x")); !errors.Is(err, ErrInvalidBucketName) {
			t.Errorf("Put(%q, ...): %v, want ErrInvalidBucketName", name, err)
		}
	}

	// Buckets differing only in case are distinct.
	if err := s.EnsureBucket("mybucket"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("MyBucket", "k", strings.NewReader("upper")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("mybucket", "k", strings.NewReader("lower")); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustGet(t, s, "MyBucket", "k"); string(got) != "upper" {
		t.Errorf("MyBucket/k = %q", got)
	}
}

func TestMissingBucket(t *testing.T) {
	s := newStore(t)
	if _, err := s.Put("nobucket", "k", strings.NewReader("x")); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("Put: %v, want ErrNoSuchBucket", err)
	}
	if _, _, err := s.Get("nobucket", "k"); !errors.Is(err, ErrNoSuchBucket) || !errors.Is(err, ErrNotFound) {
		t.Errorf("Get: %v, want ErrNoSuchBucket and ErrNotFound", err)
	}
	if _, err := s.Stat("nobucket", "k"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("Stat: %v, want ErrNoSuchBucket", err)
	}
	if err := s.Delete("nobucket", "k"); !errors.Is(err, ErrNoSuchBucket) {
		t.Errorf("Delete: %v, want ErrNoSuchBucket", err)
	}
	if _, err := os.Stat(filepath.Join(s.root, "nobucket")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bucket directory was created: %v", err)
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
	if _, err := s.Stat("bucket", "new/object"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat after failed Put: %v, want ErrNotFound", err)
	}

	if _, err := s.Put("bucket", "old", strings.NewReader("old content")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("bucket", "old", &failingReader{n: 300 << 10}); !errors.Is(err, errBoom) {
		t.Fatalf("Put: %v, want errBoom", err)
	}
	if got, obj := mustGet(t, s, "bucket", "old"); string(got) != "old content" || obj.Size != 11 {
		t.Errorf("after failed replace: %q %+v", got, obj)
	}
	if left := tempFiles(t, s.root, tmpPrefix); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestPutInProgressIsInvisible(t *testing.T) {
	s := newStore(t, "bucket")
	if _, err := s.Put("bucket", "k", strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}
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
	got, obj := mustGet(t, s, "bucket", "k")
	if string(got) != "old" || obj.Size != 3 {
		t.Errorf("during Put: Get = %q %+v", got, obj)
	}
	if obj, err := s.Stat("bucket", "k"); err != nil || obj.Size != 3 {
		t.Errorf("during Put: Stat = %+v, %v", obj, err)
	}
	if _, err := s.Stat("bucket", "k2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat(k2): %v", err)
	}
	pw.Write(bytes.Repeat([]byte("n"), 100<<10))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, obj := mustGet(t, s, "bucket", "k"); len(got) != 200<<10 || obj.Size != 200<<10 {
		t.Errorf("after Put: %d bytes, %+v", len(got), obj)
	}
}

func TestOpenCleansLeftovers(t *testing.T) {
	s := newStore(t, "bucket")
	if _, err := s.Put("bucket", "dir/kept", strings.NewReader("kept")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.root, "bucket", "dir")
	for name, content := range map[string]string{
		".tmp-123456":  "half-written object",
		".tmp-999":     "",
		".m.gone":      "orphan sidecar",
		".m.%2Etmp-1":  "orphan sidecar",
		".tmp-partial": "x",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(s.root)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != ".m.kept kept" {
		t.Errorf("after Open, dir holds %q, want %q", got, ".m.kept kept")
	}
	if got, _ := mustGet(t, s2, "bucket", "dir/kept"); string(got) != "kept" {
		t.Errorf("kept = %q", got)
	}
	if _, _, err := s2.Get("bucket", "dir/.tmp-123456"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a temporary file's name: %v, want ErrNotFound", err)
	}
}

func TestStaleOrBadSidecarIsRecomputed(t *testing.T) {
	s := newStore(t, "bucket")
	if _, err := s.Put("bucket", "k", strings.NewReader("original")); err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path("bucket", "k")

	// The object is replaced behind the store's back (as a crash between
	// the sidecar and object renames would leave it).
	tmp := filepath.Join(filepath.Dir(p), "replacement")
	if err := os.WriteFile(tmp, []byte("replaced!"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	sha, md := hashes([]byte("replaced!"))
	obj, err := s.Stat("bucket", "k")
	if err != nil || obj.SHA256 != sha || obj.MD5 != md || obj.Size != 9 {
		t.Errorf("Stat after replacement = %+v, %v", obj, err)
	}
	if _, gobj := mustGet(t, s, "bucket", "k"); gobj.SHA256 != sha {
		t.Errorf("Get after replacement = %+v", gobj)
	}

	for _, bad := range []string{"", "garbage\n", "pipewright-object-v1 1 2 3 abc def\n"} {
		if err := os.WriteFile(metaPath(p), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if obj, err := s.Stat("bucket", "k"); err != nil || obj.SHA256 != sha {
			t.Errorf("Stat with sidecar %q = %+v, %v", bad, obj, err)
		}
	}
	os.Remove(metaPath(p))
	if obj, err := s.Stat("bucket", "k"); err != nil || obj.SHA256 != sha {
		t.Errorf("Stat without sidecar = %+v, %v", obj, err)
	}
	if _, err := os.Stat(metaPath(p)); err != nil {
		t.Errorf("sidecar not rewritten: %v", err)
	}
}

func TestKeyConflicts(t *testing.T) {
	s := newStore(t, "bucket")
	if _, err := s.Put("bucket", "a", strings.NewReader("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("bucket", "a/b", strings.NewReader("ab")); !errors.Is(err, ErrKeyConflict) {
		t.Errorf("Put(a/b) over object a: %v, want ErrKeyConflict", err)
	}
	if _, _, err := s.Get("bucket", "a/b"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(a/b): %v, want ErrNotFound", err)
	}
	if err := s.Delete("bucket", "a/b"); err != nil {
		t.Errorf("Delete(a/b): %v", err)
	}
	if _, err := s.Put("bucket", "x/y", strings.NewReader("xy")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("bucket", "x", strings.NewReader("x")); !errors.Is(err, ErrKeyConflict) {
		t.Errorf("Put(x) over prefix of x/y: %v, want ErrKeyConflict", err)
	}
	if _, _, err := s.Get("bucket", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(x) of a directory: %v, want ErrNotFound", err)
	}
	if err := s.Delete("bucket", "x"); err != nil {
		t.Errorf("Delete(x): %v", err)
	}
	if got, _ := mustGet(t, s, "bucket", "x/y"); string(got) != "xy" {
		t.Errorf("x/y = %q", got)
	}
	// Once x/y is gone, x can be an object.
	if err := s.Delete("bucket", "x/y"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put("bucket", "x", strings.NewReader("x")); err != nil {
		t.Errorf("Put(x) after Delete(x/y): %v", err)
	}
	if left := tempFiles(t, s.root, tmpPrefix); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	for _, m := range tempFiles(t, s.root, metaPrefix) {
		obj := filepath.Join(filepath.Dir(m), strings.TrimPrefix(filepath.Base(m), metaPrefix))
		if fi, err := os.Stat(obj); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("sidecar %s has no object", m)
		}
	}
}

func TestConcurrentPutGetDelete(t *testing.T) {
	s := newStore(t, "bucket")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				key := fmt.Sprintf("shared/dir%d/obj", i%3)
				content := strings.Repeat(fmt.Sprint(g), 1000+i)
				switch (g + i) % 3 {
				case 0:
					if _, err := s.Put("bucket", key, strings.NewReader(content)); err != nil {
						t.Error(err)
					}
				case 1:
					f, obj, err := s.Get("bucket", key)
					if errors.Is(err, ErrNotFound) {
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
		}()
	}
	wg.Wait()
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
