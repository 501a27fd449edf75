package gitsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrRevisionNotFound is returned by Revision when the revision names no
// branch, tag or commit of the repository.
var ErrRevisionNotFound = errors.New("gitsource: revision not found")

// Revision finds the commit a CodeBuild sourceVersion names in a CodeCommit
// repository: "" is the repository's HEAD (its default branch); otherwise a
// branch ("main", "refs/heads/main"), a tag ("v1", "refs/tags/v1", peeled
// to its commit) or a full or abbreviated commit id, tried in that order,
// as a name can be more than one of them.
func Revision(ctx context.Context, repoDir, rev string) (Commit, error) {
	r, err := openRepository(repoDir)
	if err != nil {
		return Commit{}, err
	}
	var names []string
	switch {
	case rev == "":
		names = []string{"HEAD^{commit}"}
	case strings.HasPrefix(rev, "refs/heads/"), strings.HasPrefix(rev, "refs/tags/"):
		if err := checkBranchName(strings.TrimPrefix(strings.TrimPrefix(rev, "refs/heads/"), "refs/tags/")); err != nil {
			return Commit{}, fmt.Errorf("%w: %q", ErrRevisionNotFound, rev)
		}
		names = []string{rev + "^{commit}"}
	default:
		if checkBranchName(rev) == nil {
			names = []string{"refs/heads/" + rev + "^{commit}", "refs/tags/" + rev + "^{commit}"}
		}
	}
	for _, name := range names {
		obj, raw, err := r.readObject(ctx, name)
		if err != nil {
			return Commit{}, err
		}
		if !obj.missing {
			c, _, _, err := parseCommit(obj.oid, raw)
			return c, err
		}
	}
	if _, err := checkCommitID(rev); err == nil {
		c, err := Lookup(ctx, repoDir, rev)
		if !errors.Is(err, ErrCommitNotFound) {
			return c, err
		}
	}
	return Commit{}, fmt.Errorf("%w: no branch, tag or commit %q in %s", ErrRevisionNotFound, rev, r.dir)
}
