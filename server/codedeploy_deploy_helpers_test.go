package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipewright/pipewright/server"
)

// deployTag is the tag of the instances the test groups deploy to.
var deployTag = cdt.Tag{Key: aws.String("env"), Value: aws.String("test")}

// deployFixture makes the application web with the group fleet over the
// instances tagged env=test (with the config given) and the bucket
// bundles.
func deployFixture(t *testing.T, ts *testServer, config string) *cd.Client {
	t.Helper()
	c, ctx := newCodeDeploy(ts), context.Background()
	cdMust[*cd.CreateApplicationOutput](t, "CreateApplication")(c.CreateApplication(ctx, &cd.CreateApplicationInput{ApplicationName: aws.String("web")}))
	cdMust[*cd.CreateDeploymentGroupOutput](t, "CreateDeploymentGroup")(c.CreateDeploymentGroup(ctx, &cd.CreateDeploymentGroupInput{
		ApplicationName: aws.String("web"), DeploymentGroupName: aws.String("fleet"), ServiceRoleArn: aws.String(cdRole),
		DeploymentConfigName:         aws.String(config),
		OnPremisesInstanceTagFilters: []cdt.TagFilter{{Key: deployTag.Key, Value: deployTag.Value, Type: cdt.TagFilterTypeKeyAndValue}}}))
	mustBucket(t, ts.s3Client(), "bundles")
	return c
}

// putBundle stores a zip bundle of files (scripts/ ones executable) as
// bundles/key and returns its revision.
func putBundle(t *testing.T, ts *testServer, key string, files map[string]string) *cdt.RevisionLocation {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, text := range files {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate}
		h.SetMode(0o644)
		if strings.HasPrefix(name, "scripts/") {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(text))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.s3Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bundles"), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
	return &cdt.RevisionLocation{RevisionType: cdt.RevisionLocationTypeS3,
		S3Location: &cdt.S3Location{Bucket: aws.String("bundles"), Key: aws.String(key), BundleType: cdt.BundleTypeZip}}
}

// appspec is an appspec.yml that copies site/ to out/www and runs each
// hook's script (hooks maps an event to a script of the bundle).
func appspec(out string, hooks map[string]string) string {
	var b strings.Builder
	b.WriteString("version: 0.0\nos: linux\nfiles:\n  - source: site\n    destination: " + out + "/www\nhooks:\n")
	for _, ev := range []string{"ApplicationStop", "BeforeInstall", "AfterInstall", "ApplicationStart", "ValidateService"} {
		if s, ok := hooks[ev]; ok {
			b.WriteString("  " + ev + ":\n    - location: " + s + "\n      timeout: 60\n")
		}
	}
	return b.String()
}

// hookScript appends its event and deployment to out/hooks.log.
func hookScript(out string) string {
	return "#!/bin/sh\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID\" >> " + out + "/hooks.log\n"
}

// waitDeployment polls GetDeployment until the deployment's status is
// want, failing the test after timeout or at another final status.
func waitDeployment(t *testing.T, c *cd.Client, id string, want cdt.DeploymentStatus, timeout time.Duration) *cdt.DeploymentInfo {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, err := c.GetDeployment(context.Background(), &cd.GetDeploymentInput{DeploymentId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetDeployment %s: %v", id, err)
		}
		d := out.DeploymentInfo
		if d.Status == want {
			return d
		}
		final := d.Status == cdt.DeploymentStatusSucceeded || d.Status == cdt.DeploymentStatusFailed || d.Status == cdt.DeploymentStatusStopped
		if final || time.Now().After(deadline) {
			t.Fatalf("deployment %s is %s (%+v), want %s; its instances:\n%s", id, d.Status, d.ErrorInformation, want, instancesReport(c, id))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// events is the names and statuses of an instance's lifecycle events.
func events(t *testing.T, c *cd.Client, id, instance string) (cdt.InstanceStatus, []string, []cdt.LifecycleEvent) {
	t.Helper()
	out := cdMust[*cd.GetDeploymentInstanceOutput](t, "GetDeploymentInstance")(c.GetDeploymentInstance(context.Background(),
		&cd.GetDeploymentInstanceInput{DeploymentId: aws.String(id), InstanceId: aws.String(instance)}))
	var got []string
	for _, e := range out.InstanceSummary.LifecycleEvents {
		got = append(got, aws.ToString(e.LifecycleEventName)+"="+string(e.Status))
	}
	return out.InstanceSummary.Status, got, out.InstanceSummary.LifecycleEvents
}

// waitFile waits until path exists.
func waitFile(t *testing.T, ts *testServer, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ts.present(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restartSameAddr shuts the server down cleanly and opens it again on the
// same data and the same address, which the agents keep calling.
func (ts *testServer) restartSameAddr(opts ...option) {
	ts.t.Helper()
	addr := strings.TrimPrefix(ts.url, "http://")
	ts.close()
	cfg := server.Config{Data: ts.data, Region: "us-east-1", AccountID: "000000000000", StopGrace: 2 * time.Second,
		AccessKeyID: testKey, SecretAccessKey: testSecret}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.Open(context.Background(), cfg)
	if err != nil {
		ts.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		srv.Close()
		ts.t.Fatal(err)
	}
	go srv.Serve(ln)
	ts.srv = srv
	ts.client = newClient(ts.url, testKey, testSecret)
}

// instancesReport is every instance of a deployment with its events and
// their diagnostics, for a failure's message.
func instancesReport(c *cd.Client, id string) string {
	ctx := context.Background()
	l, err := c.ListDeploymentInstances(ctx, &cd.ListDeploymentInstancesInput{DeploymentId: aws.String(id)})
	if err != nil || len(l.InstancesList) == 0 {
		return fmt.Sprint("no instances: ", err)
	}
	b, err := c.BatchGetDeploymentInstances(ctx, &cd.BatchGetDeploymentInstancesInput{DeploymentId: aws.String(id), InstanceIds: l.InstancesList})
	if err != nil {
		return err.Error()
	}
	var sb strings.Builder
	for _, i := range b.InstancesSummary {
		fmt.Fprintf(&sb, "%s %s\n", aws.ToString(i.InstanceId), i.Status)
		for _, e := range i.LifecycleEvents {
			fmt.Fprintf(&sb, "  %s %s", aws.ToString(e.LifecycleEventName), e.Status)
			if dg := e.Diagnostics; dg != nil {
				fmt.Fprintf(&sb, " %s %s: %s | %s", dg.ErrorCode, aws.ToString(dg.ScriptName), aws.ToString(dg.Message), aws.ToString(dg.LogTail))
			}
			sb.WriteString("\n")
		}
	}
	return sb.String()
}
