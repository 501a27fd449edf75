package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree makes files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readOr(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// TestInstall copies directories and single files under the root, makes
// missing ancestors, applies permissions, and honours each
// file_exists_behavior; the next install first removes what this one
// made, directories included.
func TestInstall(t *testing.T) {
	root, archive := t.TempDir(), t.TempDir()
	writeTree(t, archive, map[string]string{"site/index.html": "v1", "site/css/a.css": "a", "conf/app.conf": "c"})
	spec := &appSpec{Files: []fileMapping{{Source: "site", Destination: "/srv/www"}, {Source: "conf/app.conf", Destination: "/etc/app"}},
		Permissions: []permission{{Object: "/srv/www", Mode: 600, Type: []string{"file"}}, {Object: "/etc/app/app.conf", Mode: "640"}}}
	cleanup := filepath.Join(t.TempDir(), "cleanup")
	in := &installer{root: root, archive: archive, log: &scriptLog{}}
	if err := in.install(spec); err != nil {
		t.Fatal(err)
	}
	if err := in.writeCleanup(cleanup); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"srv/www/index.html": "v1", "srv/www/css/a.css": "a", "etc/app/app.conf": "c"} {
		if got := readOr(filepath.Join(root, p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	for p, want := range map[string]os.FileMode{"srv/www/index.html": 0o600, "srv/www/css/a.css": 0o600, "etc/app/app.conf": 0o640, "srv/www/css": 0o755} {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}

	// A file the install did not make is in the way: DISALLOW refuses it,
	// OVERWRITE replaces it, RETAIN keeps it.
	if err := uninstall(cleanup); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "srv")); !os.IsNotExist(err) {
		t.Fatalf("after uninstall srv is still there: %v", err)
	}
	writeTree(t, root, map[string]string{"srv/www/index.html": "theirs"})
	for behavior, want := range map[string]string{"DISALLOW": "theirs", "OVERWRITE": "v1", "RETAIN": "theirs"} {
		writeTree(t, root, map[string]string{"srv/www/index.html": "theirs"})
		in := &installer{root: root, archive: archive, behavior: behavior, log: &scriptLog{}}
		err := in.install(&appSpec{Files: []fileMapping{{Source: "site", Destination: "/srv/www"}}})
		if behavior == "DISALLOW" {
			if err == nil || !strings.Contains(err.Error(), "a specified file already exists at this location: /srv/www/index.html") {
				t.Errorf("DISALLOW: %v", err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", behavior, err)
		}
		if got := readOr(filepath.Join(root, "srv/www/index.html")); got != want {
			t.Errorf("%s: index.html = %q, want %q", behavior, got, want)
		}
		in.writeCleanup(cleanup)
		if err := uninstall(cleanup); err != nil {
			t.Fatal(err)
		}
	}
	// The appspec's behaviour wins over the deployment's.
	writeTree(t, root, map[string]string{"srv/www/index.html": "theirs"})
	in = &installer{root: root, archive: archive, behavior: "DISALLOW", log: &scriptLog{}}
	if err := in.install(&appSpec{FileExistsBehavior: "OVERWRITE", Files: []fileMapping{{Source: "site", Destination: "/srv/www"}}}); err != nil ||
		readOr(filepath.Join(root, "srv/www/index.html")) != "v1" {
		t.Errorf("appspec OVERWRITE over a DISALLOW deployment: %v", err)
	}
}

// TestScriptLogTail keeps the newest whole entries within 2048
// characters, as AWS's agent does.
func TestScriptLogTail(t *testing.T) {
	l := &scriptLog{}
	for i := range 100 {
		l.add(strings.Repeat("x", 40) + string(rune('a'+i%26)) + "\n")
	}
	tail := l.tail()
	if len(tail) > logTail || len(tail) < logTail-42 || !strings.HasSuffix(tail, "v\n") || !strings.HasPrefix(tail, "xxxx") {
		t.Errorf("tail of %d characters: ...%q", len(tail), tail[len(tail)-10:])
	}
	l = &scriptLog{}
	l.add(strings.Repeat("y", 5000))
	if got := l.tail(); len(got) != logTail {
		t.Errorf("one long entry's tail has %d characters", len(got))
	}
}
