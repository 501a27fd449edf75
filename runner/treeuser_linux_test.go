package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A tree's Spec.User replaces the job user for that tree alone, in every
// isolation mode of a root server; a server that is not root refuses it.
func TestTreeRunsAsItsSpecUser(t *testing.T) {
	if os.Geteuid() != 0 {
		r := isolatedRunner(t, isolatedKey{MethodProcessGroup, IsolationNone})
		_, err := r.Start(Spec{ID: newID(t), Script: "true", User: &Credential{UID: 1, GID: 1}})
		if err == nil || !strings.Contains(err.Error(), "needs a server running as root") {
			t.Fatalf("a tree user on a server that is not root: %v", err)
		}
		return
	}
	daemon := Credential{UID: 1, GID: 1}
	eachCombination(t, func(t *testing.T, r *Runner) {
		dir, err := os.MkdirTemp("", "pipewright-treeuser-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		ws := filepath.Join(dir, "ws")
		if err := os.Mkdir(ws, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o711); err != nil {
			t.Fatal(err)
		}
		if err := r.HandOverTo(ws, &daemon); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			user *Credential
			dir  string
			want string
		}{{&daemon, ws, "1 1"}, {nil, dir, expectedJobUser(r)}} {
			out := newLines()
			p, err := r.Start(Spec{ID: newID(t), Dir: c.dir, Env: []string{"PATH=/usr/bin:/bin"}, OnLine: out.add, User: c.user,
				Script: `echo "$(id -u) $(id -g)"; [ "$(id -u)" != 1 ] || touch made`})
			if err != nil {
				t.Fatal(err)
			}
			res := resultWithin(t, p, 10*time.Second)
			if got := strings.Join(out.texts("stdout"), "|"); res.ExitCode != 0 || got != c.want {
				t.Errorf("user %v: result %+v, output %q, want %q", c.user, res, got, c.want)
			}
		}
		st, err := os.Stat(filepath.Join(ws, "made"))
		if err != nil {
			t.Fatal(err)
		}
		if s := st.Sys().(*syscall.Stat_t); s.Uid != 1 || s.Gid != 1 {
			t.Errorf("the tree's file belongs to %d:%d, want 1:1", s.Uid, s.Gid)
		}
	})
}

// expectedJobUser is "UID GID" of the trees the runner starts without a
// Spec.User.
func expectedJobUser(r *Runner) string {
	if c, ok := r.JobCredential(); ok {
		return fmt.Sprintf("%d %d", c.UID, c.GID)
	}
	return "0 0"
}
