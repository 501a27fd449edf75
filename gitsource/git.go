// Package gitsource implements the CodeCommit source action on local git
// repositories: it resolves a branch or commit id to a commit and produces
// the source artifact, a zip of the commit's files.
//
// Everything goes through the git command-line tool, one process per call:
// "git cat-file --batch", which reads object names on its standard input
// (so no name is ever parsed as an option) and reports missing objects on
// its standard output (so no error message is parsed to tell a missing
// branch from a broken repository). The repository is named explicitly
// with --git-dir (repoDir/.git if it exists, else repoDir itself as a bare
// repository), so git never searches for a repository elsewhere, such as a
// parent directory; as with any explicit --git-dir, git's safe.directory
// ownership check does not apply, and cat-file runs no command configured
// in the repository. Git runs in a clean environment: every GIT_*, LC_*,
// LANG and PAGER variable is dropped, replace refs are ignored, no terminal
// prompt or pager is used, and messages are in the C locale. The system and
// global git configuration still apply.
package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

var (
	// ErrRepositoryNotFound is returned when repoDir does not exist or is
	// not a git repository (bare, or with a .git directly inside it).
	ErrRepositoryNotFound = errors.New("gitsource: repository not found")
	// ErrBranchNotFound is returned when the branch does not exist, or is
	// not a valid branch name.
	ErrBranchNotFound = errors.New("gitsource: branch not found")
	// ErrCommitNotFound is returned when a commit id does not name exactly
	// one commit, or is not a commit id.
	ErrCommitNotFound = errors.New("gitsource: commit not found")
)

// Commit is the revision a source action produced.
type Commit struct {
	// ID is the full hex object name of the commit.
	ID string
	// Message is the full commit message without trailing newlines.
	// Bytes that are not UTF-8 are replaced with U+FFFD.
	Message     string
	AuthorName  string
	AuthorEmail string
	// Time is the author date, in the author's time zone.
	Time time.Time
	// CommitTime is the committer date, in the committer's time zone (the
	// author date when the commit has no committer line).
	CommitTime time.Time
}

// repository is a validated repository directory.
type repository struct {
	dir    string // absolute
	gitDir string // dir/.git if it exists, else dir (a bare repository)
	env    []string
}

// openRepository checks that repoDir is an existing directory and prepares
// the environment git runs in.
func openRepository(repoDir string) (*repository, error) {
	abs, err := filepath.Abs(repoDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRepositoryNotFound, repoDir, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrRepositoryNotFound, repoDir)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrRepositoryNotFound, repoDir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrRepositoryNotFound, repoDir)
	}
	gitDir := abs
	if _, err := os.Stat(filepath.Join(abs, ".git")); err == nil {
		gitDir = filepath.Join(abs, ".git")
	}
	return &repository{dir: abs, gitDir: gitDir, env: gitEnv()}, nil
}

// gitEnv returns the environment for git commands: the process
// environment without GIT_*, locale and pager variables, plus settings
// that make git non-interactive and its output predictable.
func gitEnv() []string {
	environ := os.Environ()
	env := make([]string, 0, len(environ)+8)
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "GIT_"), strings.HasPrefix(name, "LC_"),
			name == "LANG", name == "LANGUAGE", name == "PAGER":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_PAGER=cat",
		"PAGER=cat",
		"GIT_OPTIONAL_LOCKS=0",
		"GIT_NO_REPLACE_OBJECTS=1",
		"LC_ALL=C",
	)
}

// command returns a git command on the repository. The repository is
// named with --git-dir, so git never searches for one elsewhere (such as
// in a parent directory).
func (r *repository) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--git-dir=" + r.gitDir}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Env = r.env
	cmd.WaitDelay = time.Second
	return cmd
}

// gitError converts the failure of a git command into an error, recognising
// a directory that is not a repository.
func (r *repository) gitError(ctx context.Context, what string, err error, stderr []byte) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("gitsource: %s in %s: %w", what, r.dir, ctxErr)
	}
	msg := strings.TrimSpace(string(stderr))
	if strings.Contains(msg, "not a git repository") {
		return fmt.Errorf("%w: %s is not a git repository", ErrRepositoryNotFound, r.dir)
	}
	if msg == "" {
		return fmt.Errorf("gitsource: %s in %s: %w", what, r.dir, err)
	}
	return fmt.Errorf("gitsource: %s in %s: %w: %s", what, r.dir, err, msg)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
