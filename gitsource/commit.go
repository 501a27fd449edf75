package gitsource

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Resolve finds the commit at the tip of branch in the repository at
// repoDir, which may be bare or have a working tree (repoDir itself, not a
// subdirectory of one). branch is a branch name such as "main" or
// "feature/x", looked up as refs/heads/<branch>; names git would not accept
// as branch names (see "git check-ref-format --branch") are refused with
// ErrBranchNotFound before git runs.
//
// Errors match ErrRepositoryNotFound or ErrBranchNotFound when the
// repository or branch is missing (an empty repository has no branches).
func Resolve(ctx context.Context, repoDir, branch string) (Commit, error) {
	if err := checkBranchName(branch); err != nil {
		return Commit{}, err
	}
	r, err := openRepository(repoDir)
	if err != nil {
		return Commit{}, err
	}
	obj, raw, err := r.readObject(ctx, "refs/heads/"+branch+"^{commit}")
	if err != nil {
		return Commit{}, err
	}
	if obj.missing {
		return Commit{}, fmt.Errorf("%w: no branch %q in %s", ErrBranchNotFound, branch, r.dir)
	}
	c, _, _, err := parseCommit(obj.oid, raw)
	return c, err
}

// Lookup finds the commit with the given full or abbreviated (at least 4
// hex digits) id, as given in a sourceRevisions override of type
// COMMIT_ID. An id that names no commit, several objects, or something
// other than a commit (such as a tag or a tree) yields ErrCommitNotFound;
// so does an abbreviated id that git resolves to a ref of the same name
// (git prefers refs over abbreviated ids) instead of a commit starting with
// those digits.
func Lookup(ctx context.Context, repoDir, rev string) (Commit, error) {
	id, err := checkCommitID(rev)
	if err != nil {
		return Commit{}, err
	}
	r, err := openRepository(repoDir)
	if err != nil {
		return Commit{}, err
	}
	obj, raw, err := r.readObject(ctx, id+"^{commit}")
	if err != nil {
		return Commit{}, err
	}
	if obj.missing {
		return Commit{}, fmt.Errorf("%w: %s in %s: %s", ErrCommitNotFound, rev, r.dir, obj.why)
	}
	if !strings.HasPrefix(obj.oid, id) {
		return Commit{}, fmt.Errorf("%w: %s in %s: it is a ref name or not a commit's id", ErrCommitNotFound, rev, r.dir)
	}
	c, _, _, err := parseCommit(obj.oid, raw)
	return c, err
}

// object is the header of a "git cat-file --batch" reply.
type object struct {
	oid     string
	typ     string
	size    int64
	missing bool
	why     string // "missing" or "ambiguous" when missing
}

// parseHeader parses a reply header line without its newline.
func parseHeader(line string) (object, error) {
	for _, why := range []string{"missing", "ambiguous"} {
		if strings.HasSuffix(line, " "+why) {
			return object{missing: true, why: why}, nil
		}
	}
	f := strings.Split(line, " ")
	if len(f) == 3 {
		if size, err := strconv.ParseInt(f[2], 10, 64); err == nil && size >= 0 {
			return object{oid: f[0], typ: f[1], size: size}, nil
		}
	}
	return object{}, fmt.Errorf("gitsource: unexpected reply from git cat-file: %q", line)
}

// readObject reads one object with a "git cat-file --batch" process. The
// returned object is marked missing if git found no single object by that
// name.
func (r *repository) readObject(ctx context.Context, name string) (object, []byte, error) {
	cmd := r.command(ctx, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(name + "\n")
	stderr := &limitedBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return object{}, nil, r.gitError(ctx, "git cat-file", err, stderr.Bytes())
	}
	line, rest, ok := bytes.Cut(out, []byte{'\n'})
	if !ok {
		return object{}, nil, fmt.Errorf("gitsource: unexpected reply from git cat-file: %q", out)
	}
	obj, err := parseHeader(string(line))
	if err != nil || obj.missing {
		return obj, nil, err
	}
	if int64(len(rest)) < obj.size {
		return object{}, nil, fmt.Errorf("gitsource: short reply from git cat-file for %s", obj.oid)
	}
	if obj.typ != "commit" {
		return object{}, nil, fmt.Errorf("gitsource: %s is a %s, not a commit", obj.oid, obj.typ)
	}
	return obj, rest[:obj.size], nil
}

// parseCommit parses a raw commit object and returns it with its tree id
// and committer date.
func parseCommit(id string, raw []byte) (c Commit, tree string, committed time.Time, err error) {
	c.ID = id
	headers, msg, _ := bytes.Cut(raw, []byte("\n\n"))
	var author, committer string
	for _, line := range strings.Split(string(headers), "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "tree":
			tree = val
		case "author":
			author = val
		case "committer":
			committer = val
		}
	}
	if tree == "" || author == "" {
		return Commit{}, "", time.Time{}, fmt.Errorf("gitsource: commit %s is malformed", id)
	}
	c.AuthorName, c.AuthorEmail, c.Time = parseIdent(author)
	_, _, committed = parseIdent(committer)
	if committed.IsZero() {
		committed = c.Time
	}
	c.CommitTime = committed
	c.Message = strings.ToValidUTF8(strings.TrimRight(string(msg), "\n"), "\uFFFD")
	c.AuthorName = strings.ToValidUTF8(c.AuthorName, "\uFFFD")
	c.AuthorEmail = strings.ToValidUTF8(c.AuthorEmail, "\uFFFD")
	return c, tree, committed, nil
}

// parseIdent parses "Name <email> 1700000000 +0100". Missing parts are
// returned empty or zero.
func parseIdent(s string) (name, email string, when time.Time) {
	lt := strings.IndexByte(s, '<')
	gt := strings.LastIndexByte(s, '>')
	if lt < 0 || gt < lt {
		return strings.TrimSpace(s), "", time.Time{}
	}
	name = strings.TrimSpace(s[:lt])
	email = s[lt+1 : gt]
	f := strings.Fields(s[gt+1:])
	if len(f) != 2 {
		return name, email, time.Time{}
	}
	sec, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return name, email, time.Time{}
	}
	when = time.Unix(sec, 0)
	tz := f[1]
	if len(tz) == 5 && (tz[0] == '+' || tz[0] == '-') {
		if hhmm, err := strconv.Atoi(tz[1:]); err == nil {
			off := (hhmm/100*60 + hhmm%100) * 60
			if tz[0] == '-' {
				off = -off
			}
			when = when.In(time.FixedZone(tz, off))
		}
	}
	return name, email, when
}
