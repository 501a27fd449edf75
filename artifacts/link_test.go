package artifacts_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
)

func TestLinkSharesContentAndSurvivesDelete(t *testing.T) {
	s, err := artifacts.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket("bucket"); err != nil {
		t.Fatal(err)
	}
	orig, err := s.Put("bucket", "p/a/one.zip", strings.NewReader("content"))
	if err != nil {
		t.Fatal(err)
	}
	linked, err := s.Link("bucket", "p/a/one.zip", "p/b/two.zip")
	if err != nil {
		t.Fatal(err)
	}
	if linked.SHA256 != orig.SHA256 || linked.Size != orig.Size || linked.Key != "p/b/two.zip" {
		t.Fatalf("linked %+v, original %+v", linked, orig)
	}
	if err := s.Delete("bucket", "p/a/one.zip"); err != nil {
		t.Fatal(err)
	}
	f, _, err := s.Get("bucket", "p/b/two.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if string(b) != "content" {
		t.Fatalf("content %q", b)
	}
	if _, err := s.Link("bucket", "p/a/one.zip", "p/c/three.zip"); !errors.Is(err, artifacts.ErrNotFound) {
		t.Fatalf("linking a missing object: %v", err)
	}
	if _, err := s.Link("bucket", "p/b/two.zip", "../escape"); err == nil {
		t.Fatal("a key escaping the bucket was accepted")
	}
}
