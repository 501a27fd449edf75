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
func (s *Service) runSource(ctx context.Context, r *ActionRun, bucket string) jobResult {
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

	if len(r.Outputs) == 0 {
		return failed(errConfiguration, "The source action declares no output artifact.")
	}
	ref, err := s.archive(ctx, bucket, r, r.Outputs[0].Name, repo, commit.ID)
	if err != nil {
		return failed(errJobFailed, "Could not archive the commit: "+err.Error())
	}
	msg := strings.TrimSpace(commit.Message)
	url := "file://" + repo
	return jobResult{
		status:     ActionSucceeded,
		summary:    msg,
		externalID: commit.ID,
		url:        url,
		outputs:    []ArtifactRef{ref},
		revision: &Revision{
			ID:      commit.ID,
			Summary: msg,
			Created: commit.Time,
			URL:     url,
		},
		vars: map[string]string{
			"CommitId":       commit.ID,
			"CommitMessage":  msg,
			"AuthorDate":     commit.Time.UTC().Format(time.RFC3339),
			"CommitterDate":  commit.CommitTime.UTC().Format(time.RFC3339),
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

// archive stores the zip of a commit as the output artifact of r. A commit
// this server life already archived into the bucket is published again by
// linking the earlier zip (archives of one commit are byte-identical), so
// re-running an unchanged branch costs no archiving.
func (s *Service) archive(ctx context.Context, bucket string, r *ActionRun, name, repo, commit string) (ArtifactRef, error) {
	k := archiveKey{repo: repo, commit: commit, bucket: bucket}
	s.archivesMu.Lock()
	prev, ok := s.archives[k]
	s.archivesMu.Unlock()
	if ok {
		key := artifactKey(r.Pipeline, name)
		if _, err := s.cfg.Artifacts.Link(bucket, prev.Key, key); err == nil {
			return ArtifactRef{Name: name, Bucket: bucket, Key: key}, nil
		}
	}
	ref, err := s.storeArtifact(bucket, r, name, func(f *os.File) error {
		return gitsource.Archive(ctx, repo, commit, f)
	})
	if err != nil {
		return ref, err
	}
	s.archivesMu.Lock()
	if len(s.archives) >= maxArchives {
		clear(s.archives)
	}
	s.archives[k] = ref
	s.archivesMu.Unlock()
	return ref, nil
}

// archiveKey identifies the archive of one commit in one bucket.
type archiveKey struct{ repo, commit, bucket string }

// maxArchives bounds the remembered archives.
const maxArchives = 1024
