package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/pipewright/pipewright/codedeploy/envelope"
	"github.com/pipewright/pipewright/codedeploy/hostcmd"
)

// spec is the deployment specification a GetDeploymentSpecification
// answer carries, as far as the agent uses it.
type spec struct {
	DeploymentID        string `json:"DeploymentId"`
	DeploymentGroupID   string `json:"DeploymentGroupId"`
	DeploymentGroupName string `json:"DeploymentGroupName"`
	ApplicationName     string `json:"ApplicationName"`
	DeploymentCreator   string `json:"DeploymentCreator"`
	DeploymentType      string `json:"DeploymentType"`
	AppSpecFilename     string `json:"AppSpecFilename"`
	Revision            struct {
		RevisionType string `json:"RevisionType"`
		S3Revision   *struct {
			Bucket     string `json:"Bucket"`
			Key        string `json:"Key"`
			BundleType string `json:"BundleType"`
			ETag       string `json:"ETag"`
			Version    string `json:"Version"`
		} `json:"S3Revision"`
	} `json:"Revision"`
	AgentActionOverrides struct {
		AgentOverrides struct {
			FileExistsBehavior string `json:"FileExistsBehavior"`
		} `json:"AgentOverrides"`
	} `json:"AgentActionOverrides"`
}

// errSpec marks a specification the agent cannot use: asking again
// does not change it.
var errSpec = errors.New("agent: deployment specification")

// isLocal reports whether err is the agent's own finding, not the
// network's or the server's.
func isLocal(err error) bool { return errors.Is(err, errSpec) }

// parseSpec opens the answer's PKCS7/JSON envelope, checking its
// signature, and reads the specification in it; its errors are errSpec's.
func parseSpec(out *hostcmd.GetDeploymentSpecificationOutput) (*spec, error) {
	s, err := readSpec(out)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSpec, err)
	}
	return s, nil
}

func readSpec(out *hostcmd.GetDeploymentSpecificationOutput) (*spec, error) {
	if out.DeploymentSystem == nil || *out.DeploymentSystem != hostcmd.DeploymentSystem {
		return nil, fmt.Errorf("the deployment system is not %s", hostcmd.DeploymentSystem)
	}
	ds := out.DeploymentSpecification
	if ds == nil || ds.GenericEnvelope == nil || ds.GenericEnvelope.Format == nil || ds.GenericEnvelope.Payload == nil {
		return nil, fmt.Errorf("the answer carries no deployment specification")
	}
	doc, err := envelope.Verify(envelope.Envelope{Format: *ds.GenericEnvelope.Format, Payload: *ds.GenericEnvelope.Payload})
	if err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	var s spec
	if err := json.Unmarshal(doc, &s); err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	if s.DeploymentID == "" || !safeName(s.DeploymentID) || !safeName(s.DeploymentGroupID) {
		return nil, fmt.Errorf("bad DeploymentId or DeploymentGroupId")
	}
	if s.Revision.RevisionType != "S3" || s.Revision.S3Revision == nil {
		return nil, fmt.Errorf("revision type %q is not supported: only S3 revisions are", s.Revision.RevisionType)
	}
	if s.AppSpecFilename == "" {
		s.AppSpecFilename = "appspec.yml"
	}
	if f := path.Clean(s.AppSpecFilename); strings.HasPrefix(f, "../") || f == ".." || path.IsAbs(f) {
		return nil, fmt.Errorf("AppSpecFilename %q lies outside the bundle", s.AppSpecFilename)
	}
	return &s, nil
}

// safeName reports whether s can name a directory: no separator, not a
// dot name, not empty.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}
