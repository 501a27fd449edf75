package agent

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

// download fetches the revision's bundle into file, checking its ETag
// when the specification gives one.
func (a *Agent) download(ctx context.Context, s *spec, file string) error {
	r := s.Revision.S3Revision
	resp, err := a.c.getObject(ctx, r.Bucket, r.Key)
	if err != nil {
		return fmt.Errorf("could not download the revision s3://%s/%s: %w", r.Bucket, r.Key, err)
	}
	defer resp.Body.Close()
	if r.ETag != "" && strings.Trim(resp.Header.Get("ETag"), `"`) != strings.Trim(r.ETag, `"`) {
		return fmt.Errorf("the revision s3://%s/%s has changed: its ETag is %s, the deployment's %s", r.Bucket, r.Key, resp.Header.Get("ETag"), r.ETag)
	}
	w, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		w.Close()
		return fmt.Errorf("could not download the revision s3://%s/%s: %w", r.Bucket, r.Key, err)
	}
	return w.Close()
}

// unpack extracts the bundle file of type kind (zip, tar, tgz) into dir.
func unpack(kind, file, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	switch kind {
	case "zip":
		_, err := artifacts.Unzip(file, dir)
		return err
	case "tar", "tgz":
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		var r io.Reader = f
		if kind == "tgz" {
			gz, err := gzip.NewReader(f)
			if err != nil {
				return fmt.Errorf("the bundle is not a gzip file: %w", err)
			}
			defer gz.Close()
			r = gz
		}
		return untar(r, dir)
	}
	return fmt.Errorf("the bundle type %q is not supported: zip, tar and tgz are", kind)
}

// untar extracts a tar stream into dir: directories, regular files and
// symbolic links, every path through an os.Root on dir so that nothing
// lands outside it.
func untar(r io.Reader, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("the bundle is not a valid tar file: %w", err)
		}
		name := path.Clean(strings.TrimLeft(h.Name, "/"))
		if name == "." {
			continue
		}
		if !inside(name) {
			return fmt.Errorf("the bundle's entry %q lies outside it", h.Name)
		}
		if err := root.MkdirAll(path.Dir(name), 0o755); err != nil && path.Dir(name) != "." {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			w, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, tr); err != nil {
				w.Close()
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			t := h.Linkname
			if path.IsAbs(t) || !inside(path.Join(path.Dir(name), t)) {
				return fmt.Errorf("the bundle's link %q points outside it", h.Name)
			}
			if err := root.Symlink(t, name); err != nil {
				return err
			}
		}
	}
}
