package codebuild

import (
	"context"
	"errors"
	"sync"

	"github.com/google/uuid"

	"github.com/pipewright/pipewright/codebuild/shape"
)

// A pipeline's CodeBuild action (Build/AWS/CodeBuild, Test/AWS/CodeBuild)
// runs its build through this Go API, as a user would through the wire,
// with a client token: the action execution's id. One token names one
// build for ever, so a pipeline that crashed between deciding to start the
// build and starting it starts it again and gets the same build, and the
// build's id is known before it exists (PipelineBuildID).

// PipelineBuild is what a pipeline action asks for.
type PipelineBuild struct {
	// Token is the action execution's id.
	Token    string
	Project  string
	Pipeline string
	// Inputs are the action's input artifacts, the primary source first;
	// the others are secondary sources (CODEBUILD_SRC_DIR_<name>).
	Inputs []ArtifactRef
	// Outputs are where the action's output artifacts go: the first is
	// the buildspec's primary artifacts, the others its
	// secondary-artifacts of the same identifier.
	Outputs []ArtifactRef
	// Env overrides the project's environment variables (the action's
	// EnvironmentVariables configuration).
	Env []shape.EnvironmentVariable
}

// BuildEnd is how a pipeline's build ended, for the action that started it.
type BuildEnd struct {
	Token    string
	Pipeline string
	BuildID  string
	// URL is where the build can be seen (its externalExecutionUrl).
	URL    string
	Status shape.StatusType
	// Outputs are the artifacts the build stored, in PipelineBuild.Outputs'
	// order; Variables its exported variables.
	Outputs   []ArtifactRef
	Variables map[string]string
}

// pipelineSpace is the namespace of the build ids pipelines' tokens make.
var pipelineSpace = uuid.MustParse("0b6c2f44-58a1-4b8e-a6f0-3d9e1c7a5b20")

// PipelineBuildID is the id of the build a pipeline's token makes.
func PipelineBuildID(project, token string) string {
	return project + ":" + uuid.NewSHA1(pipelineSpace, []byte(token)).String()
}

// pipelineToken is how a pipeline's build records its token, apart from
// users' idempotency tokens.
func pipelineToken(token string) string { return "codepipeline/" + token }

// pipelineListeners hears of the ends of pipelines' builds.
type pipelineListeners struct {
	mu sync.Mutex
	fn func(BuildEnd)
}

// OnPipelineBuildEnd registers the function told of the end of every build
// a pipeline started (again after a restart; it must not block for long).
func (s *Service) OnPipelineBuildEnd(fn func(BuildEnd)) {
	s.listeners.mu.Lock()
	s.listeners.fn = fn
	s.listeners.mu.Unlock()
}

// StartForPipeline starts the build of a pipeline action, or returns the
// one its token already started, whatever became of it. A build that
// already ended is reported to the listener again.
func (s *Service) StartForPipeline(ctx context.Context, pb PipelineBuild) (*Build, error) {
	var prev *Build
	err := s.store.View(ctx, func(tx Tx) (err error) { prev, err = tx.GetBuild(PipelineBuildID(pb.Project, pb.Token)); return err })
	if err == nil {
		if isComplete(&prev.Doc) {
			s.notifyPipeline(prev)
		}
		return prev, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	src, arts := shape.SourceType("CODEPIPELINE"), shape.ArtifactsType("CODEPIPELINE")
	in := &shape.StartBuildInput{ProjectName: &pb.Project, SourceTypeOverride: &src,
		ArtifactsOverride: &shape.ProjectArtifacts{Type: &arts}, EnvironmentVariablesOverride: pb.Env}
	return s.start(ctx, in, "codepipeline/"+pb.Pipeline, startExtra{
		id: PipelineBuildID(pb.Project, pb.Token), token: pipelineToken(pb.Token), inputs: pb.Inputs, outputs: pb.Outputs, pipeline: pb.Pipeline,
	})
}

// StopForPipeline stops a pipeline's build (an abandon on a pipeline that
// cancels its jobs, an action timeout).
func (s *Service) StopForPipeline(ctx context.Context, id, by, reason string) error {
	_, err := s.stopBuild(ctx, id, StopIntent{By: by, Reason: reason})
	return err
}

// notifyPipeline tells the listener of a completed build a pipeline
// started.
func (s *Service) notifyPipeline(b *Build) {
	if b.Run.Pipeline == "" || !isComplete(&b.Doc) {
		return
	}
	s.listeners.mu.Lock()
	fn := s.listeners.fn
	s.listeners.mu.Unlock()
	if fn == nil {
		return
	}
	end := BuildEnd{Token: b.Token[len("codepipeline/"):], Pipeline: b.Run.Pipeline, BuildID: b.ID, URL: s.BuildURL(b.ID),
		Status: b.Doc.GetBuildStatus(), Variables: map[string]string{}}
	if end.Status == statusSucceeded {
		end.Outputs = b.Run.Outputs
		for _, v := range b.Doc.ExportedEnvironmentVariables {
			end.Variables[v.GetName()] = v.GetValue()
		}
	}
	fn(end)
}

// BuildURL is where a build can be seen on this server.
func (s *Service) BuildURL(id string) string { return s.baseURL() + "/_pipewright/builds/" + id }
