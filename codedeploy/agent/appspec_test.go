package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadAppSpec reads appspecs as AWS's agent takes them and refuses
// what it refuses, and what would reach outside the bundle.
func TestReadAppSpec(t *testing.T) {
	cases := []struct {
		name, text, err string
	}{
		{"minimal", "version: 0.0\nos: linux\n", ""},
		{"full", "version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /srv\nfile_exists_behavior: RETAIN\npermissions:\n  - object: /srv\n    mode: 640\n    type: [file]\nhooks:\n  BeforeInstall:\n    - location: a.sh\n      timeout: 300\n      runas: nobody\n", ""},
		{"string timeout", "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: \"30\"\n", ""},
		{"version", "version: 1.0\nos: linux\n", "version 1 is not supported"},
		{"windows", "version: 0.0\nos: windows\n", `os "windows" is not supported`},
		{"behavior", "version: 0.0\nos: linux\nfile_exists_behavior: MERGE\n", `file_exists_behavior "MERGE"`},
		{"relative destination", "version: 0.0\nos: linux\nfiles:\n  - source: a\n    destination: srv\n", "must be an absolute path"},
		{"source outside", "version: 0.0\nos: linux\nfiles:\n  - source: ../../etc\n    destination: /srv\n", "lies outside the revision"},
		{"script outside", "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: /../x.sh\n", "lies outside the revision"},
		{"no location", "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - timeout: 3\n", "has no location"},
		{"bad timeout", "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: a.sh\n      timeout: -1\n", "positive number of seconds"},
		{"too long", "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: a.sh\n      timeout: 3000\n    - location: b.sh\n      timeout: 601\n", "3601 seconds in all"},
		{"bad mode", "version: 0.0\nos: linux\npermissions:\n  - object: /srv\n    mode: 99\n", "not an octal mode"},
		{"yaml", "version: [", "not valid YAML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "appspec.yml"), []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := readAppSpec(dir, "appspec.yml")
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("readAppSpec: %v, want %q", err, c.err)
			}
		})
	}
	dir := t.TempDir()
	if _, err := readAppSpec(dir, "appspec.yml"); err == nil || !strings.Contains(err.Error(), "was not found in the revision") {
		t.Errorf("no appspec: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "appspec.yaml"), []byte("version: 0.0\nos: linux\n"), 0o644)
	if _, err := readAppSpec(dir, "appspec.yml"); err != nil {
		t.Errorf("appspec.yaml beside a missing appspec.yml: %v", err)
	}
}

// TestInside checks what stays inside a bundle.
func TestInside(t *testing.T) {
	for p, want := range map[string]bool{"a": true, "/": true, "/a/b": true, "a/../b": true, "..": false, "../a": false,
		"a/../../b": false, "/../a": false, "a\x00b": false, "./a": true} {
		if got := inside(p); got != want {
			t.Errorf("inside(%q) = %v, want %v", p, got, want)
		}
	}
}
