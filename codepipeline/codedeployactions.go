package codepipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/pipewright/pipewright/codedeploy"
	cdshape "github.com/pipewright/pipewright/codedeploy/shape"
)

// A CodeDeploy action (Deploy/AWS/CodeDeploy) runs in the server like a
// source action: it creates a deployment of its input artifact (a zip in
// the artifact store, deployed as an S3 revision with bundleType zip) in
// the codedeploy service and follows it to its end. The deployment's id is
// derived from the action execution id, so a run started again after a
// restart finds the deployment it created instead of creating another.
// A stop-and-wait waits for the deployment; an abandon leaves it running
// unless the pipeline is tagged pipewright:abandon-cancels-jobs, and then
// stopDeployment stops it (the group's DEPLOYMENT_STOP_ON_REQUEST rollback
// applies).

// deployPoll is how often a CodeDeploy run reads its deployment.
const deployPoll = 250 * time.Millisecond

// isCodeDeploy reports whether a run is a CodeDeploy action's.
func isCodeDeploy(t ActionTypeID) bool {
	return t.Category == "Deploy" && t.Owner == "AWS" && t.Provider == "CodeDeploy"
}

// deploymentURL is a deployment's externalExecutionUrl, AWS's console
// page for it.
func (s *Service) deploymentURL(id string) string {
	return fmt.Sprintf("https://console.aws.amazon.com/codedeploy/home?region=%s#/deployments/%s", s.cfg.Region, id)
}

// runCodeDeploy creates (or finds again) the run's deployment and waits
// for its end; a cancelled ctx returns at once (the caller records nothing).
func (s *Service) runCodeDeploy(ctx context.Context, r *ActionRun) jobResult {
	if s.deploys == nil {
		return failed(errJobFailed, "This pipewright server runs no CodeDeploy service.")
	}
	if len(r.Input.InputArtifacts) != 1 {
		return failed(errConfiguration, "A CodeDeploy action takes exactly one input artifact, its revision.")
	}
	in := r.Input.InputArtifacts[0]
	cfg := r.Input.ResolvedConfiguration
	app, group := cfg["ApplicationName"], cfg["DeploymentGroupName"]
	out, err := s.deploys.CreatePipelineDeployment(ctx, r.ID, &cdshape.CreateDeploymentInput{
		ApplicationName: &app, DeploymentGroupName: &group,
		Description: new("Deployed by CodePipeline " + r.Pipeline),
		Revision: &cdshape.RevisionLocation{RevisionType: new(cdshape.RevisionLocationTypeS3),
			S3Location: &cdshape.S3Location{Bucket: &in.Bucket, Key: &in.Key, BundleType: new(cdshape.BundleTypeZip)}},
	})
	if err != nil {
		if ctx.Err() != nil {
			return jobResult{}
		}
		return failed(errJobFailed, "Could not create the deployment: "+errText(err))
	}
	id, url := *out.DeploymentId, s.deploymentURL(*out.DeploymentId)
	s.updateRun(r.ID, func(r *ActionRun) bool {
		if r.ExternalID == id && r.ExternalURL == url {
			return false
		}
		r.ExternalID, r.ExternalURL = id, url
		return true
	})
	for {
		d, err := s.deploys.GetDeployment(ctx, &cdshape.GetDeploymentInput{DeploymentId: &id})
		if ctx.Err() != nil {
			return jobResult{}
		}
		if err != nil {
			return jobResult{status: ActionFailed, errCode: errJobFailed, errMsg: "Could not read the deployment: " + errText(err), externalID: id, url: url}
		}
		if res, done := deploymentResult(d.DeploymentInfo); done {
			res.externalID, res.url = id, url
			return res
		}
		select {
		case <-ctx.Done():
			return jobResult{}
		case <-time.After(deployPoll):
		}
	}
}

// deploymentResult is how a deployment that ended ends its action: a
// Succeeded deployment succeeds it, a Failed or Stopped one fails it with
// the deployment's errorInformation message, as on AWS.
func deploymentResult(d *cdshape.DeploymentInfo) (jobResult, bool) {
	switch st := d.GetStatus(); st {
	case cdshape.DeploymentStatusSucceeded:
		return jobResult{status: ActionSucceeded, summary: "Deployment " + d.GetDeploymentId() + " succeeded"}, true
	case cdshape.DeploymentStatusFailed, cdshape.DeploymentStatusStopped:
		msg := d.GetErrorInformation().GetMessage()
		if msg == "" {
			msg = fmt.Sprintf("Deployment %s ended %s", d.GetDeploymentId(), st)
		}
		return failed(errJobFailed, msg), true
	}
	return jobResult{}, false
}

// stopDeployment stops the deployment of a CodeDeploy run (an abandon on a
// pipeline tagged pipewright:abandon-cancels-jobs, an action timeout), or
// keeps it from being created when the run has not created it yet; one
// that already ended is left as it is.
func (s *Service) stopDeployment(r *ActionRun) {
	if s.deploys == nil {
		return
	}
	if err := s.deploys.StopPipelineDeployment(context.Background(), r.ID); err != nil {
		s.log.Warn("stop deployment", "actionExecutionId", r.ID, "deploymentId", codedeploy.PipelineDeploymentID(r.ID), "err", err)
	}
}
