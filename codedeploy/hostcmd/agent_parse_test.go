package hostcmd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// parseScript loads AWS's agent (ARGV[0]) and reads an envelope (format
// ARGV[1], payload in the file ARGV[2]) with its own
// DeploymentSpecification.parse, logging to ARGV[3].
const parseScript = `src = ARGV[0]
Dir[File.join(src, 'vendor/gems/*/lib')].each { |d| $:.unshift d }
$:.unshift File.join(src, 'lib')
require 'instance_agent'
require 'instance_agent/plugins/codedeploy/deployment_specification'
InstanceAgent::Log.init(ARGV[3])
env = Struct.new(:format, :payload).new(ARGV[1], File.read(ARGV[2]))
s = InstanceAgent::Plugins::CodeDeployPlugin::DeploymentSpecification.parse(env)
print [s.deployment_id, s.deployment_group_name, s.application_name, s.bucket, s.key, s.bundle_type, s.etag].join(" ")
`

// specCommands hands out one deployment's specification.
type specCommands struct{ Idle }

func (specCommands) Specification(_ context.Context, _ Host, id string) ([]byte, error) {
	if id != "d-ABCDEFGHI/g/i/1" {
		return nil, ErrUnknownDeployment
	}
	return []byte(`{"DeploymentId":"arn:aws:codedeploy:us-east-1:000000000000:deployment/d-ABCDEFGHI","DeploymentGroupId":"g-1","DeploymentGroupName":"web","ApplicationName":"app","DeploymentCreator":"user","DeploymentType":"IN_PLACE","AppSpecFilename":"appspec.yml","Revision":{"RevisionType":"S3","S3Revision":{"Bucket":"bundles","Key":"app.zip","BundleType":"zip","ETag":"0123abcd"}},"AgentActionOverrides":{"AgentOverrides":{"FileExistsBehavior":"OVERWRITE"}},"AllPossibleLifecycleEvents":["ApplicationStop","BeforeInstall"]}`), nil
}

// TestAgentReadsSpecification has AWS's agent (../shared/third-party,
// when ruby is installed) read the envelope GetDeploymentSpecification
// answers with its own deployment_specification.rb.
func TestAgentReadsSpecification(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "third-party", "aws-codedeploy-agent"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "lib", "instance_agent")); err != nil {
		t.Skipf("AWS's agent is not at %s", src)
	}
	if _, err := exec.LookPath("ruby"); err != nil {
		t.Skip("ruby is missing: AWS's agent cannot read the envelope here")
	}
	url := endpoint(t, Config{Commands: specCommands{}, PollWait: time.Millisecond})
	st, out := call(t, url, "GetDeploymentSpecification", `{"DeploymentExecutionId":"d-ABCDEFGHI/g/i/1","HostIdentifier":"`+testHost+`"}`, true)
	if st != 200 {
		t.Fatalf("GetDeploymentSpecification: %d %v", st, out)
	}
	spec, _ := out["DeploymentSpecification"].(map[string]any)
	env, _ := spec["GenericEnvelope"].(map[string]any)
	format, _ := env["Format"].(string)
	payload, _ := env["Payload"].(string)
	dir := t.TempDir()
	file := filepath.Join(dir, "payload")
	if err := os.WriteFile(file, []byte(payload), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ruby", "-e", parseScript, src, format, file, filepath.Join(dir, "agent.log"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"}
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the agent could not read the envelope: %v\n%s", err, got)
	}
	if want := "d-ABCDEFGHI web app bundles app.zip zip 0123abcd"; string(got) != want {
		t.Errorf("the agent read %q, want %q", got, want)
	}
}
