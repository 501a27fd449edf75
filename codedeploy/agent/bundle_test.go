package agent

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type tarEntry struct {
	name, link, body string
	kind             byte
	mode             int64
}

func writeTar(t *testing.T, gz bool, entries ...tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.kind, Linkname: e.link, Mode: e.mode, Size: int64(len(e.body))}
		if e.kind != tar.TypeReg {
			h.Size = 0
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	w.Close()
	if zw != nil {
		zw.Close()
	}
	p := filepath.Join(t.TempDir(), "bundle")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnpackTar extracts tar and tgz bundles, keeping the executable bit
// and links inside the bundle, and refuses entries and links that lead
// outside it, writing nothing there.
func TestUnpackTar(t *testing.T) {
	for _, kind := range []string{"tar", "tgz"} {
		file := writeTar(t, kind == "tgz",
			tarEntry{name: "scripts/", kind: tar.TypeDir, mode: 0o755},
			tarEntry{name: "scripts/run.sh", kind: tar.TypeReg, body: "#!/bin/sh\n", mode: 0o755},
			tarEntry{name: "/site/index.html", kind: tar.TypeReg, body: "hi\n", mode: 0o644},
			tarEntry{name: "site/link", kind: tar.TypeSymlink, link: "index.html"})
		dir := filepath.Join(t.TempDir(), "archive")
		if err := unpack(kind, file, dir); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if fi, err := os.Stat(filepath.Join(dir, "scripts/run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: scripts/run.sh %v %v", kind, fi, err)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "site/link")); err != nil || string(b) != "hi\n" {
			t.Errorf("%s: site/link %q %v", kind, b, err)
		}
	}
	outside := t.TempDir()
	for name, e := range map[string]tarEntry{
		"dotdot":        {name: "../" + filepath.Base(outside) + "/x", kind: tar.TypeReg, body: "x"},
		"absolute link": {name: "l", kind: tar.TypeSymlink, link: "/etc/passwd"},
		"link up":       {name: "a/l", kind: tar.TypeSymlink, link: "../../x"},
	} {
		dir := filepath.Join(outside, "archive-"+strings.ReplaceAll(name, " ", "-"))
		err := unpack("tar", writeTar(t, false, e), dir)
		if err == nil {
			t.Errorf("%s: extracted", name)
		}
	}
	if _, err := os.Stat(filepath.Join(outside, "x")); err == nil {
		t.Errorf("an entry was written outside the archive")
	}
	if err := unpack("tgz", writeTar(t, false, tarEntry{name: "a", kind: tar.TypeReg, body: "a"}), t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a gzip file") {
		t.Errorf("a tar as tgz: %v", err)
	}
	if err := unpack("YAML", "x", t.TempDir()); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("bundle type YAML: %v", err)
	}
}
