package server_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/pipewright/pipewright/jobs"
)

// TestBuildsCannotReachTheSecrets runs secretProbe as a build's commands:
// a build is a job of the same layer as a Commands action and sees no
// more of the server.
func TestBuildsCannotReachTheSecrets(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	creds, _ := json.Marshal(map[string]string{"accessKeyId": testKey, "secretAccessKey": testSecret})
	if err := os.WriteFile(filepath.Join(ts.data, "credentials.json"), creds, 0o600); err != nil {
		t.Fatal(err)
	}
	ts.gitRepo("app", map[string]string{"input.txt": "input-ok"})
	c := newCodeBuild(ts)
	var spec strings.Builder
	spec.WriteString("version: 0.2\nphases:\n  build:\n    commands:\n")
	for i, cmd := range secretProbe {
		if i == 0 {
			// The driver keeps the EXIT trap for itself.
			cmd, _, _ = strings.Cut(cmd, "; trap")
			cmd += `; printf %s "$NEEDLE_B64" | base64 -d > "$needle"`
		}
		spec.WriteString("      - |\n")
		for _, line := range strings.Split(cmd, "\n") {
			spec.WriteString("        " + strings.TrimLeft(line, "\t") + "\n")
		}
	}
	noSourceProject(t, c, "probe", "", func(in *cb.CreateProjectInput) {
		in.Source = &cbt.ProjectSource{Type: cbt.SourceTypeCodecommit, Location: aws.String("app"), Buildspec: aws.String(spec.String())}
	})
	b := waitComplete(t, c, aws.ToString(startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String("probe"),
		EnvironmentVariablesOverride: []cbt.EnvironmentVariable{
			{Name: aws.String("NEEDLE_B64"), Value: aws.String(base64.StdEncoding.EncodeToString([]byte(testSecret)))},
			{Name: aws.String("DATA_DIR"), Value: aws.String(ts.data)},
			{Name: aws.String("GREETING"), Value: aws.String("hello-variable")},
		}}).Id))
	id := aws.ToString(b.Id)
	log := buildLog(ts, id)
	if b.BuildStatus != cbt.StatusTypeSucceeded {
		t.Fatalf("the probe build %s:\n%s", b.BuildStatus, log)
	}
	jobUID := os.Geteuid()
	if jobUID == 0 {
		jobUID = 65534
	}
	checkProbeLog(t, []byte(log), ts.data, filepath.Join(ts.data, "work", jobs.IDFor("codebuild", id)), jobUID, true)
}
