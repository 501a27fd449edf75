package codepipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pipewright/pipewright/gitsource"
)

// runSource carries out Source/AWS/CodeCommit: the repository is the git
// repository GIT_ROOT/RepositoryName, the revision the tip of BranchName (or
// the execution's COMMIT_ID override), the output artifact a zip of the
// commit's files.
func (s *Service) runSource(ctx context.Context, r *ActionRun, a *actionDef, bucket string) jobResult {
	cfg := r.Input.ResolvedConfiguration
	repoName, branch := cfg["RepositoryName"], cfg["BranchName"]
	if repoName == "" || strings.ContainsAny(repoName, `/\`) || repoName == "." || repoName == ".." {
		return failed(errConfiguration, fmt.Sprintf("The repository name '%s' is not valid.", repoName))
	}
	repo := filepath.Join(s.cfg.GitRoot, repoName)

	var commit gitsource.Commit
	var err error
	if rev := s.overrideFor(ctx, r); rev != "" {
		commit, err = gitsource.Lookup(ctx, repo, rev)
	} else {
		commit, err = gitsource.Resolve(ctx, repo, branch)
	}
	switch {
	case errors.Is(err, gitsource.ErrRepositoryNotFound):
		return failed(errConfiguration, fmt.Sprintf("The repository '%s' does not exist in %s.", repoName, s.cfg.GitRoot))
	case errors.Is(err, gitsource.ErrBranchNotFound):
		return failed(errConfiguration, fmt.Sprintf("The branch '%s' does not exist in repository '%s'.", branch, repoName))
	case errors.Is(err, gitsource.ErrCommitNotFound):
		return failed("RevisionUnavailable", fmt.Sprintf("The revision could not be found in repository '%s': %v", repoName, err))
	case err != nil:
		return failed(errJobFailed, err.Error())
	}

	out := a.outputs[0].name
	ref, err := s.storeArtifact(bucket, r, out, func(f *os.File) error {
		return gitsource.Archive(ctx, repo, commit.ID, f)
	})
	if err != nil {
		return failed(errJobFailed, "Could not archive the commit: "+err.Error())
	}
	return jobResult{
		status:  ActionSucceeded,
		outputs: []ArtifactRef{ref},
		revision: &Revision{
			ID:      commit.ID,
			Summary: strings.TrimSpace(commit.Message),
			Created: commit.Time,
		},
		vars: map[string]string{
			"CommitId":       commit.ID,
			"CommitMessage":  strings.TrimSpace(commit.Message),
			"AuthorDate":     commit.Time.UTC().Format(time.RFC3339),
			"BranchName":     branch,
			"RepositoryName": repoName,
		},
	}
}

// overrideFor returns the COMMIT_ID the execution pins this source action to.
func (s *Service) overrideFor(ctx context.Context, r *ActionRun) string {
	var rev string
	s.store.View(ctx, func(tx Tx) error {
		e, err := tx.GetExecution(r.Pipeline, r.ExecutionID)
		if err != nil {
			return err
		}
		for _, o := range e.SourceRevisions {
			if o.ActionName == r.Action && o.RevisionType == "COMMIT_ID" {
				rev = o.RevisionValue
			}
		}
		return nil
	})
	return rev
}

func failed(code, msg string) jobResult {
	return jobResult{status: ActionFailed, errCode: code, errMsg: msg}
}
