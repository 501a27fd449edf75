package artifacts_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/store/sqlite"
)

// TestOpenImportsTheFileLayout: the objects a store of the earlier layout
// (one file per key, escaped, under a directory per bucket) left are
// objects of the new store, and their old files are gone.
func TestOpenImportsTheFileLayout(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "artifacts")
	files := map[string]string{
		"codepipeline-us-east-1/pipe/SourceArti/abc.zip": "zip",
		"codepipeline-us-east-1/%2Eenv":                  "dot",
		"codepipeline-us-east-1/folder/%":                "slash",
		"codepipeline-us-east-1/100%25.zip":              "percent",
		"codepipeline-us-east-1/.m.%2Eenv":               "sidecar",
		"codepipeline-us-east-1/pipe/.tmp-123":           "half written",
		"__my_bucket/k":                                  "upper",
	}
	for p, c := range files {
		p = filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := artifacts.Open(root, db.Objects())
	if err != nil {
		t.Fatal(err)
	}
	for bk, want := range map[[2]string]string{
		{"codepipeline-us-east-1", "pipe/SourceArti/abc.zip"}: "zip",
		{"codepipeline-us-east-1", ".env"}:                    "dot",
		{"codepipeline-us-east-1", "folder/"}:                 "slash",
		{"codepipeline-us-east-1", "100%.zip"}:                "percent",
		{"MyBucket", "k"}:                                     "upper",
	} {
		if got, obj := mustGet(t, s, bk[0], bk[1]); string(got) != want || obj.ETag == "" || obj.SHA256 == "" {
			t.Errorf("%s/%s = %q %+v, want %q", bk[0], bk[1], got, obj, want)
		}
	}
	l, err := s.List(ctx, "codepipeline-us-east-1", artifacts.ListOptions{})
	if err != nil || len(l.Objects) != 4 {
		t.Errorf("List = %+v, %v", l, err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != "_content" {
		t.Errorf("root holds %v after the import", entries)
	}
	if _, err := artifacts.Open(root, db.Objects()); err != nil {
		t.Fatal(err)
	}
	if got, _ := mustGet(t, s, "MyBucket", "k"); string(got) != "upper" {
		t.Errorf("after reopening: %q", got)
	}
}
