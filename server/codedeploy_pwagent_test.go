package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipewright/pipewright/server"
)

// fastHosts makes a server's host long polls short, so that tests end
// quickly.
func fastHosts(c *server.Config) { c.HostPollWait = 2 * time.Second }

// createDeployment starts a deployment of rev to the group fleet of web.
func createDeployment(t *testing.T, c *cd.Client, rev *cdt.RevisionLocation, desc string) string {
	t.Helper()
	out := cdMust[*cd.CreateDeploymentOutput](t, "CreateDeployment")(c.CreateDeployment(context.Background(), &cd.CreateDeploymentInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), Revision: rev, Description: aws.String(desc)}))
	return aws.ToString(out.DeploymentId)
}

// TestCodeDeployPWAgentDeploys runs two deployments through pipewright's
// agent on one host: every hook runs with AWS's environment and none of
// the agent's credentials, the files land under the host's root, and the
// second deployment's ApplicationStop runs the first revision's script
// and its Install replaces the first revision's files.
func TestCodeDeployPWAgentDeploys(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "agent-secret")
	ts := startServer(t, fastHosts)
	c := deployFixture(t, ts, "CodeDeployDefault.OneAtATime")
	h := startPWAgents(t, ts, 1, time.Second)[0]

	hooks := map[string]string{"ApplicationStop": "scripts/hook.sh", "BeforeInstall": "scripts/hook.sh", "AfterInstall": "scripts/hook.sh",
		"ApplicationStart": "scripts/hook.sh", "ValidateService": "scripts/hook.sh"}
	bundle := func(rev string) map[string]string {
		return map[string]string{
			"appspec.yml":     appspec("/srv", hooks),
			"scripts/hook.sh": "#!/bin/sh\nmkdir -p " + h.root + "/log\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME " + rev + " secret=$AWS_SECRET_ACCESS_KEY\" >> " + h.root + "/log/hooks.log\necho out-$LIFECYCLE_EVENT\n",
			"site/index.html": rev + "\n", "site/" + rev + ".txt": rev + "\n"}
	}
	id1 := createDeployment(t, c, putBundle(t, ts, "v1.zip", bundle("v1")), "v1")
	waitDeployment(t, c, id1, cdt.DeploymentStatusSucceeded, 30*time.Second)
	st, got, evs := events(t, c, id1, "host-1")
	if st != cdt.InstanceStatusSucceeded || !slices.Equal(got, eventsAll("Succeeded")) {
		t.Fatalf("v1: instance %s, events %v", st, got)
	}
	for _, e := range evs {
		if e.Diagnostics == nil || e.Diagnostics.ErrorCode != cdt.LifecycleErrorCodeSuccess {
			t.Errorf("v1 %s: diagnostics %+v", aws.ToString(e.LifecycleEventName), e.Diagnostics)
		}
		if n := aws.ToString(e.LifecycleEventName); n == "BeforeInstall" && !strings.Contains(aws.ToString(e.Diagnostics.LogTail), "[stdout]out-BeforeInstall") {
			t.Errorf("v1 BeforeInstall's log tail is %q", aws.ToString(e.Diagnostics.LogTail))
		}
	}
	if got := h.file("srv/www/index.html"); got != "v1\n" {
		t.Errorf("srv/www/index.html after v1: %q", got)
	}
	want := ""
	for _, ev := range []string{"BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
		want += ev + " " + id1 + " web fleet v1 secret=\n"
	}
	if got := h.file("log/hooks.log"); got != want {
		t.Errorf("hooks.log after v1:\n%s\nwant:\n%s", got, want)
	}

	id2 := createDeployment(t, c, putBundle(t, ts, "v2.zip", bundle("v2")), "v2")
	waitDeployment(t, c, id2, cdt.DeploymentStatusSucceeded, 30*time.Second)
	want += "ApplicationStop " + id2 + " web fleet v1 secret=\n"
	for _, ev := range []string{"BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
		want += ev + " " + id2 + " web fleet v2 secret=\n"
	}
	if got := h.file("log/hooks.log"); got != want {
		t.Errorf("hooks.log after v2:\n%s\nwant:\n%s", got, want)
	}
	if got, old := h.file("srv/www/index.html"), h.file("srv/www/v1.txt"); got != "v2\n" || old != "" {
		t.Errorf("after v2: index.html %q, v1.txt %q (the first install's files are removed)", got, old)
	}
}

// TestCodeDeployPWAgentTarBundles deploys tar and tgz revisions through
// pipewright's agent: their scripts keep their executable bit and their
// files are installed.
func TestCodeDeployPWAgentTarBundles(t *testing.T) {
	ts := startServer(t, fastHosts)
	c := deployFixture(t, ts, "CodeDeployDefault.OneAtATime")
	h := startPWAgents(t, ts, 1, time.Second)[0]
	files := map[string]string{"appspec.yml": hookAppspec(map[string]string{"AfterInstall": "scripts/after.sh"}, "60"),
		"scripts/after.sh": "#!/bin/sh\necho \"$BUNDLE_KEY\" > ../../../../../../after\n"}
	for _, kind := range []cdt.BundleType{cdt.BundleTypeTar, cdt.BundleTypeTarGZip} {
		var buf bytes.Buffer
		var w io.Writer = &buf
		var gz *gzip.Writer
		if kind == cdt.BundleTypeTarGZip {
			gz = gzip.NewWriter(&buf)
			w = gz
		}
		tw := tar.NewWriter(w)
		files["site/index.html"] = string(kind) + "\n"
		for _, name := range []string{"appspec.yml", "scripts/after.sh", "site/index.html"} {
			mode := int64(0o644)
			if strings.HasPrefix(name, "scripts/") {
				mode = 0o755
			}
			tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(files[name])), Typeflag: tar.TypeReg})
			tw.Write([]byte(files[name]))
		}
		tw.Close()
		if gz != nil {
			gz.Close()
		}
		key := "app." + string(kind)
		if _, err := ts.s3Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bundles"), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			t.Fatal(err)
		}
		rev := &cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeS3,
			S3Location: &cdt.S3Location{Bucket: aws.String("bundles"), Key: aws.String(key), BundleType: kind}}
		id := createDeployment(t, c, rev, string(kind))
		waitDeployment(t, c, id, cdt.DeploymentStatusSucceeded, 30*time.Second)
		if got, after := h.file("srv/www/index.html"), h.file("after"); got != string(kind)+"\n" || after != key+"\n" {
			t.Errorf("%s: index.html %q, the hook wrote %q", kind, got, after)
		}
	}
}
