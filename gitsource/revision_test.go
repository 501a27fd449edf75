package gitsource

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRevisionFindsBranchesTagsAndCommits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "init", "-q", "-b", "trunk", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	git("commit", "-q", "--allow-empty", "-m", "one")
	first := git("rev-parse", "HEAD")
	git("tag", "-a", "-m", "annotated", "v1")
	git("commit", "-q", "--allow-empty", "-m", "two")
	second := git("rev-parse", "HEAD")
	git("branch", "feature/x", first)
	for _, tc := range []struct{ rev, want string }{
		{"", second},
		{"trunk", second},
		{"refs/heads/trunk", second},
		{"feature/x", first},
		{"v1", first},
		{"refs/tags/v1", first},
		{first, first},
		{second[:7], second},
	} {
		c, err := Revision(context.Background(), dir, tc.rev)
		if err != nil || c.ID != tc.want {
			t.Errorf("Revision(%q) = %s, %v; want %s", tc.rev, c.ID, err, tc.want)
		}
	}
	for _, rev := range []string{"nope", "refs/heads/nope", "main~1", "-x", strings.Repeat("0", 40)} {
		if _, err := Revision(context.Background(), dir, rev); !errors.Is(err, ErrRevisionNotFound) {
			t.Errorf("Revision(%q): %v, want ErrRevisionNotFound", rev, err)
		}
	}
}
