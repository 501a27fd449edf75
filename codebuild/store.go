package codebuild

import (
	"context"
	"errors"
	"time"

	"github.com/pipewright/pipewright/codebuild/shape"
)

// Store is the persistence the CodeBuild service needs. Every method of Tx
// works inside one transaction; Update and Progress commit all of fn's
// writes or none. Updates are compare-and-set on RowVersion: when the
// stored version is not the record's, the write returns ErrConflict and
// changes nothing; on success the record's RowVersion is advanced.
type Store interface {
	// Update commits durably (what a user asked for: a project, a start,
	// a stop).
	Update(ctx context.Context, fn func(Tx) error) error
	// Progress commits so that a crash of the server never undoes it; a
	// power loss may undo the latest ones (what the service derives).
	Progress(ctx context.Context, fn func(Tx) error) error
	View(ctx context.Context, fn func(Tx) error) error
}

// Store errors.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("concurrent modification")
)

// Tx is one transaction of the Store.
type Tx interface {
	CreateProject(p *Project) error // ErrExists
	GetProject(name string) (*Project, error)
	UpdateProject(p *Project) error
	DeleteProject(name string) error
	// ListProjects returns every project, by name.
	ListProjects() ([]*Project, error)

	CreateBuild(b *Build) error // assigns Seq
	GetBuild(id string) (*Build, error)
	UpdateBuild(b *Build) error
	DeleteBuild(id string) error
	// ListBuildIDs returns the ids of a project's builds (every build when
	// project is ""), oldest first.
	ListBuildIDs(project string) ([]string, error)
	// ActiveBuilds returns the builds that are not complete, oldest first.
	ActiveBuilds() ([]*Build, error)
	// FindBuildByToken returns the newest build of a project started with
	// an idempotency token; ErrNotFound when there is none.
	FindBuildByToken(project, token string) (*Build, error)
}

// Project is a build project as the API shows it, with what the service
// keeps beside it.
type Project struct {
	shape.Project
	// Builds counts the project's builds so far: the next build's number
	// is Builds+1.
	Builds     int64 `json:"pwBuilds"`
	RowVersion int64 `json:"-"`
}

// Build is one build as the API shows it (Doc), with what the service
// keeps to carry it out.
type Build struct {
	ID      string
	Project string
	Seq     int64
	Doc     shape.Build
	// Run is what the build runs, fixed at StartBuild.
	Run RunSpec
	// Token is the idempotencyToken of the StartBuild that made it.
	Token string
	// JobID is the job that runs the build once it left the queue.
	JobID string
	// Stop is the recorded StopBuild, if any.
	Stop       *StopIntent
	RowVersion int64
}

// RunSpec is the part of a build's settings that only the service needs.
type RunSpec struct {
	// Inputs are the source artifacts (CODEPIPELINE), primary first.
	Inputs []ArtifactRef `json:"inputs,omitempty"`
	// Outputs are where a pipeline's build stores its artifacts: the
	// primary first, then the secondary ones by name.
	Outputs []ArtifactRef `json:"outputs,omitempty"`
	// Pipeline names the pipeline that started the build ("" for a user).
	Pipeline string `json:"pipeline,omitempty"`
	// Artifacts and SecondaryArtifacts are a user's build's artifacts
	// settings of type S3 (the project's, or StartBuild's overrides),
	// resolved into Outputs when the build leaves the queue.
	Artifacts          *shape.ProjectArtifacts  `json:"artifacts,omitempty"`
	SecondaryArtifacts []shape.ProjectArtifacts `json:"secondaryArtifacts,omitempty"`
	// Request is the StartBuild that made the build, for RetryBuild.
	Request *shape.StartBuildInput `json:"request,omitempty"`
	// Digest tells the request apart from another with the same
	// idempotency token.
	Digest string `json:"digest,omitempty"`
}

// ArtifactRef is an object of the artifact store a build reads (a source)
// or writes (an artifact).
type ArtifactRef struct {
	Name   string `json:"name"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Secondary marks a user's build's secondary artifact, whose Name is
	// its identifier; without it a build's first output is its primary
	// artifact, as a pipeline's are.
	Secondary bool `json:"secondary,omitempty"`
	// Folder, for an artifact of packaging NONE, is where its files go:
	// the job zips them into Bucket/Key as any artifact's, and they are
	// stored one by one under Folder once the job ended.
	Folder *S3Folder `json:"folder,omitempty"`
}

// S3Folder is a key prefix of a bucket ("" for the bucket's root).
type S3Folder struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix,omitempty"`
}

// StopIntent is a recorded StopBuild.
type StopIntent struct {
	At time.Time `json:"at"`
	// By is the caller (an access key id) or "codepipeline/PIPELINE".
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}
