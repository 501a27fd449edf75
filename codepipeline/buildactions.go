package codepipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pipewright/pipewright/codebuild"
	cbshape "github.com/pipewright/pipewright/codebuild/shape"
	"github.com/pipewright/pipewright/wire"
)

// A CodeBuild action (Build/AWS/CodeBuild, Test/AWS/CodeBuild) follows the
// protocol of jobactions.go with the codebuild service in the job layer's
// place: the run's ID is the build's client token (so the build's id is
// known when the run is created), the build is started through the
// service's Go API, and the service tells the pipeline when it ended.

// startBuild starts the build of a CodeBuild run (again, after a restart:
// the token returns the build it started before).
func (s *Service) startBuild(r *ActionRun, def *definition) {
	if s.builds == nil {
		s.complete(r.ID, r.Pipeline, failed(errJobFailed, "This pipewright server runs no CodeBuild service."))
		return
	}
	pb, err := s.pipelineBuild(r, def)
	if err != nil {
		s.complete(r.ID, r.Pipeline, failed(errConfiguration, err.Error()))
		return
	}
	b, err := s.builds.StartForPipeline(context.Background(), pb)
	if err != nil {
		s.complete(r.ID, r.Pipeline, failed(errJobFailed, "Could not start the build: "+errText(err)))
		return
	}
	url, arn := s.builds.BuildURL(b.ID), b.Doc.Logs.GetCloudWatchLogsArn()
	s.updateRun(r.ID, func(r *ActionRun) bool {
		if r.ExternalURL == url && r.LogStreamARN == arn {
			return false
		}
		r.ExternalURL, r.LogStreamARN = url, arn
		return true
	})
}

// errText is an error as a user reads it: an AWS error's message alone.
func errText(err error) string {
	var we *wire.Error
	if errors.As(err, &we) {
		return we.Message
	}
	return err.Error()
}

// pipelineBuild is what a CodeBuild run asks of the codebuild service.
func (s *Service) pipelineBuild(r *ActionRun, def *definition) (codebuild.PipelineBuild, error) {
	cfg := r.Input.ResolvedConfiguration
	pb := codebuild.PipelineBuild{Token: r.ID, Project: cfg["ProjectName"], Pipeline: r.Pipeline}
	primary := cfg["PrimarySource"]
	for _, in := range r.Input.InputArtifacts {
		ref := codebuild.ArtifactRef{Name: in.Name, Bucket: in.Bucket, Key: in.Key}
		if in.Name == primary {
			pb.Inputs = append([]codebuild.ArtifactRef{ref}, pb.Inputs...)
		} else {
			pb.Inputs = append(pb.Inputs, ref)
		}
	}
	if primary != "" && (len(pb.Inputs) == 0 || pb.Inputs[0].Name != primary) {
		return pb, fmt.Errorf("PrimarySource %s is not one of the action's input artifacts", primary)
	}
	for _, o := range r.Outputs {
		pb.Outputs = append(pb.Outputs, codebuild.ArtifactRef{Name: o.Name, Bucket: def.bucket, Key: artifactKey(r.Pipeline, o.Name)})
	}
	if ev := cfg["EnvironmentVariables"]; ev != "" {
		if err := json.Unmarshal([]byte(ev), &pb.Env); err != nil {
			return pb, fmt.Errorf("EnvironmentVariables is not a JSON list of {name, value, type}: %v", err)
		}
	}
	if cfg["BatchEnabled"] == "true" {
		return pb, fmt.Errorf("BatchEnabled: pipewright does not run batch builds")
	}
	return pb, nil
}

// stopBuild stops the build of a CodeBuild run (an abandon on a pipeline
// tagged pipewright:abandon-cancels-jobs, an action timeout).
func (s *Service) stopBuild(r *ActionRun, reason string) {
	if s.builds == nil || r.ExternalID == "" {
		return
	}
	if err := s.builds.StopForPipeline(context.Background(), r.ExternalID, "codepipeline/"+r.Pipeline, reason); err != nil {
		s.log.Warn("stop build", "actionExecutionId", r.ID, "buildId", r.ExternalID, "err", err)
	}
}

// buildEnded records how a pipeline's build ended on its run.
func (s *Service) buildEnded(end codebuild.BuildEnd) {
	res := jobResult{externalID: end.BuildID, url: end.URL}
	if end.Status == cbshape.StatusType("SUCCEEDED") {
		res.status = ActionSucceeded
		for _, o := range end.Outputs {
			res.outputs = append(res.outputs, ArtifactRef{Name: o.Name, Bucket: o.Bucket, Key: o.Key})
		}
		res.vars = end.Variables
	} else {
		res.status, res.errCode = ActionFailed, errJobFailed
		res.errMsg = "Build terminated with state: " + string(end.Status)
	}
	s.complete(end.Token, end.Pipeline, res)
}
