package agent

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// appSpec is a revision's appspec.yml, as far as an in-place deployment
// to a Linux host uses it.
type appSpec struct {
	Version            any             `yaml:"version"`
	OS                 string          `yaml:"os"`
	Files              []fileMapping   `yaml:"files"`
	FileExistsBehavior string          `yaml:"file_exists_behavior"`
	Permissions        []permission    `yaml:"permissions"`
	Hooks              map[string][]hk `yaml:"hooks"`
}

// fileMapping is one entry of files: source in the bundle, destination on
// the host.
type fileMapping struct {
	Source      string `yaml:"source"`
	Destination string `yaml:"destination"`
}

// permission is one entry of permissions.
type permission struct {
	Object  string   `yaml:"object"`
	Pattern string   `yaml:"pattern"`
	Except  []string `yaml:"except"`
	Owner   string   `yaml:"owner"`
	Group   string   `yaml:"group"`
	Mode    any      `yaml:"mode"`
	Type    []string `yaml:"type"`
}

// hk is one script of a hook.
type hk struct {
	Location string `yaml:"location"`
	Timeout  any    `yaml:"timeout"`
	RunAs    string `yaml:"runas"`
}

// maxHookSeconds is AWS's bound on one lifecycle event's scripts, and a
// script's timeout when it names none.
const maxHookSeconds = 3600

// timeoutSeconds is the script's timeout.
func (h hk) timeoutSeconds() (int, error) {
	switch v := h.Timeout.(type) {
	case nil:
		return maxHookSeconds, nil
	case int:
		if v > 0 {
			return v, nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("the timeout of script %s must be a positive number of seconds", h.Location)
}

// readAppSpec reads and checks the appspec of the bundle extracted in
// archive: name, or appspec.yaml beside it when name is appspec.yml and
// absent, as AWS's agent does.
func readAppSpec(archive, name string) (*appSpec, error) {
	b, err := os.ReadFile(filepath.Join(archive, filepath.FromSlash(name)))
	if errors.Is(err, os.ErrNotExist) && name == "appspec.yml" {
		b, err = os.ReadFile(filepath.Join(archive, "appspec.yaml"))
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the application specification file %s was not found in the revision", name)
	}
	if err != nil {
		return nil, err
	}
	var a appSpec
	if err := yaml.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("the application specification file %s is not valid YAML: %v", name, err)
	}
	return &a, a.check()
}

// check refuses what AWS's agent refuses, and what would lead outside the
// bundle.
func (a *appSpec) check() error {
	if v := fmt.Sprint(a.Version); v != "0" && v != "0.0" {
		return fmt.Errorf("the appspec version %v is not supported: it must be 0.0", a.Version)
	}
	if a.OS != "linux" {
		return fmt.Errorf("the appspec os %q is not supported by this agent: it must be linux", a.OS)
	}
	switch a.FileExistsBehavior {
	case "", "DISALLOW", "OVERWRITE", "RETAIN":
	default:
		return fmt.Errorf("file_exists_behavior %q is not one of DISALLOW, OVERWRITE, RETAIN", a.FileExistsBehavior)
	}
	for _, f := range a.Files {
		if f.Source == "" || f.Destination == "" {
			return errors.New("every files entry must have a source and a destination")
		}
		if !inside(f.Source) {
			return fmt.Errorf("the source %s lies outside the revision", f.Source)
		}
		if !path.IsAbs(f.Destination) {
			return fmt.Errorf("the destination %s must be an absolute path", f.Destination)
		}
	}
	for ev, scripts := range a.Hooks {
		total := 0
		for _, s := range scripts {
			if s.Location == "" {
				return fmt.Errorf("a script of hook %s has no location", ev)
			}
			if !inside(s.Location) {
				return fmt.Errorf("the script %s lies outside the revision", s.Location)
			}
			n, err := s.timeoutSeconds()
			if err != nil {
				return err
			}
			total += n
		}
		if total > maxHookSeconds {
			return fmt.Errorf("the scripts of hook %s have timeouts of %d seconds in all: at most %d are allowed", ev, total, maxHookSeconds)
		}
	}
	for _, p := range a.Permissions {
		if p.Object == "" || !path.IsAbs(p.Object) {
			return errors.New("every permissions entry must have an absolute object")
		}
		if _, err := p.mode(); err != nil {
			return err
		}
	}
	return nil
}

// mode is the permission's mode, or 0 when it names none.
func (p permission) mode() (os.FileMode, error) {
	var s string
	switch v := p.Mode.(type) {
	case nil:
		return 0, nil
	case int:
		s = strconv.Itoa(v)
	case string:
		s = v
	default:
		return 0, fmt.Errorf("the mode of %s is not an octal number", p.Object)
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("the mode %s of %s is not an octal mode", s, p.Object)
	}
	return os.FileMode(n&0o777) | modeBits(n), nil
}

// modeBits maps the setuid, setgid and sticky bits of a numeric mode.
func modeBits(n uint64) os.FileMode {
	var m os.FileMode
	if n&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// inside reports whether p, relative to the bundle's root (a leading "/"
// names the root, as appspecs write it), stays inside the bundle.
func inside(p string) bool {
	c := path.Clean(strings.TrimLeft(p, "/"))
	return !strings.Contains(p, "\x00") && c != ".." && !strings.HasPrefix(c, "../")
}

// bundlePath is p, checked with inside, as a path below archive.
func bundlePath(archive, p string) string {
	return filepath.Join(archive, filepath.FromSlash(path.Clean(strings.TrimLeft(p, "/"))))
}
