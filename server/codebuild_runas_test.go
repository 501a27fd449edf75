package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbt "github.com/aws/aws-sdk-go-v2/service/codebuild/types"

	"github.com/pipewright/pipewright/server"
)

// whoSpec is a buildspec that prints who its build runs as, with run-as
// lines spliced in: top (the top level) and build (the BUILD phase).
func whoSpec(top, build string) string {
	spec := "version: 0.2\n"
	if top != "" {
		spec += "run-as: " + top + "\n"
	}
	spec += "phases:\n  build:\n"
	if build != "" {
		spec += "    run-as: " + build + "\n"
	}
	return spec + `    commands:
      - echo "who=$(id -un) user=$USER logname=$LOGNAME"
      - touch "$HOME/mine" && echo "home-owner=$(stat -c %U "$HOME/mine")"
  post_build:
    commands:
      - echo "post-build-ran"
`
}

// runAsBuild runs a NO_SOURCE build of spec in a new project and returns
// the completed build with its log.
func runAsBuild(t *testing.T, ts *testServer, c *cb.Client, project, spec string) (cbt.Build, string) {
	t.Helper()
	noSourceProject(t, c, project, spec)
	b := startBuild(t, c, &cb.StartBuildInput{ProjectName: aws.String(project)})
	b = waitComplete(t, c, aws.ToString(b.Id))
	return b, buildLog(ts, aws.ToString(b.Id))
}

// phaseOf returns the build's phase of that type.
func phaseOf(b cbt.Build, typ cbt.BuildPhaseType) (cbt.BuildPhase, bool) {
	for _, p := range b.Phases {
		if p.PhaseType == typ {
			return p, true
		}
	}
	return cbt.BuildPhase{}, false
}

// wantClientError checks that the phase failed with CLIENT_ERROR and a
// message holding every part.
func wantClientError(t *testing.T, b cbt.Build, typ cbt.BuildPhaseType, parts ...string) {
	t.Helper()
	p, ok := phaseOf(b, typ)
	if !ok || p.PhaseStatus != cbt.StatusTypeFailed || len(p.Contexts) == 0 || aws.ToString(p.Contexts[0].StatusCode) != "CLIENT_ERROR" {
		t.Errorf("%s: %+v, want FAILED with CLIENT_ERROR (phases %s)", typ, p, phaseList(b))
		return
	}
	msg := aws.ToString(p.Contexts[0].Message)
	for _, part := range parts {
		if !strings.Contains(msg, part) {
			t.Errorf("%s: message %q lacks %q", typ, msg, part)
		}
	}
}

// As root, a build runs as the job user (nobody), or as the user its
// run-as names when --build-users lists it; root, unknown and unlisted
// users fail the build in DOWNLOAD_SOURCE, and a phase naming another
// user than the build's fails that phase.
func TestCodeBuildRunAsUnderRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Parallel()
	ts := startServer(t, func(c *server.Config) { c.BuildUsers = []string{"daemon"} })
	c := newCodeBuild(ts)
	succeeded := func(t *testing.T, b cbt.Build, log, who string) {
		t.Helper()
		want := "who=" + who + " user=" + who + " logname=" + who
		if b.BuildStatus != cbt.StatusTypeSucceeded || !strings.Contains(log, want) || !strings.Contains(log, "home-owner="+who) ||
			!strings.Contains(log, "Running as user "+who+" (uid ") {
			t.Errorf("build %s, phases %s, want %q in the log:\n%s", b.BuildStatus, phaseList(b), want, log)
		}
	}

	t.Run("default", func(t *testing.T) {
		b, log := runAsBuild(t, ts, c, "runas-default", whoSpec("", ""))
		succeeded(t, b, log, "nobody")
	})
	t.Run("job-user", func(t *testing.T) {
		b, log := runAsBuild(t, ts, c, "runas-job-user", whoSpec("nobody", ""))
		succeeded(t, b, log, "nobody")
		if strings.Contains(log, "not applied") {
			t.Errorf("the log says run-as is not applied:\n%s", log)
		}
	})
	t.Run("listed", func(t *testing.T) {
		b, log := runAsBuild(t, ts, c, "runas-listed", whoSpec("daemon", "daemon"))
		succeeded(t, b, log, "daemon")
	})
	t.Run("listed-by-uid-in-every-phase", func(t *testing.T) {
		b, log := runAsBuild(t, ts, c, "runas-phases", "version: 0.2\nphases:\n  install:\n    run-as: daemon\n    commands:\n      - id -un\n  build:\n    run-as: daemon\n    commands:\n      - echo \"who=$(id -un) user=$USER logname=$LOGNAME\"\n      - touch \"$HOME/mine\" && echo \"home-owner=$(stat -c %U \"$HOME/mine\")\"\n")
		succeeded(t, b, log, "daemon")
	})
	t.Run("root", func(t *testing.T) {
		b, log := runAsBuild(t, ts, c, "runas-root", whoSpec("root", ""))
		if b.BuildStatus != cbt.StatusTypeFailed {
			t.Errorf("build %s", b.BuildStatus)
		}
		wantClientError(t, b, cbt.BuildPhaseTypeDownloadSource, "run-as root: builds never run as root")
		if strings.Contains(log, "who=") || !strings.Contains(log, "never run as root") {
			t.Errorf("log:\n%s", log)
		}
	})
	t.Run("unlisted", func(t *testing.T) {
		b, _ := runAsBuild(t, ts, c, "runas-unlisted", whoSpec("bin", ""))
		wantClientError(t, b, cbt.BuildPhaseTypeDownloadSource, "run-as bin: not a user builds may run as", "nobody (uid 65534)", "daemon (uid 1)", "--build-users bin")
	})
	t.Run("unknown", func(t *testing.T) {
		b, _ := runAsBuild(t, ts, c, "runas-unknown", whoSpec("", "no-such-user-pw"))
		wantClientError(t, b, cbt.BuildPhaseTypeBuild, "run-as no-such-user-pw: no such user")
	})
	t.Run("env-differs", func(t *testing.T) {
		b, _ := runAsBuild(t, ts, c, "runas-env-differs", strings.Replace(whoSpec("daemon", ""), "phases:", "env:\n  run-as: nobody\nphases:", 1))
		wantClientError(t, b, cbt.BuildPhaseTypeDownloadSource, "run-as daemon and env/run-as nobody name different users")
	})
	t.Run("env", func(t *testing.T) {
		b, log := runAsBuild(t, ts, c, "runas-env", strings.Replace(whoSpec("", ""), "phases:", "env:\n  run-as: daemon\nphases:", 1))
		succeeded(t, b, log, "daemon")
	})
	t.Run("phase-differs", func(t *testing.T) {
		b, log := runAsBuild(t, ts, c, "runas-phase-differs", whoSpec("daemon", "nobody"))
		if b.BuildStatus != cbt.StatusTypeFailed {
			t.Errorf("build %s", b.BuildStatus)
		}
		wantClientError(t, b, cbt.BuildPhaseTypeBuild, "run-as nobody: this phase cannot run as another user than the build's, daemon (uid 1)")
		if p, _ := phaseOf(b, cbt.BuildPhaseTypePostBuild); p.PhaseStatus != cbt.StatusTypeSucceeded || strings.Contains(log, "who=") || !strings.Contains(log, "post-build-ran") {
			t.Errorf("POST_BUILD %s, log:\n%s", p.PhaseStatus, log)
		}
	})
}

// --build-users never names root, and only a root server takes it.
func TestCodeBuildRunAsUsersAreChecked(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		_, err := server.Open(context.Background(), server.Config{Data: t.TempDir(), BuildUsers: []string{"daemon", "root"}})
		if err == nil || !strings.Contains(err.Error(), "--build-users root: builds never run as root") {
			t.Errorf("Open with --build-users root: %v", err)
		}
	}
	bin := binaryForAll(t)
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(jobDir(t), "data"), "--addr", "127.0.0.1:0", "--build-users", "daemon")
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--build-users daemon: only a server running as root runs builds as other users") {
		t.Errorf("an unprivileged server given --build-users: %v, %s", err, out)
	}
}

// A server that is not root runs builds as itself: a run-as naming its
// own user works, any other fails in DOWNLOAD_SOURCE.
func TestCodeBuildRunAsWithoutRoot(t *testing.T) {
	t.Parallel()
	bin := binaryForAll(t)
	data := filepath.Join(jobDir(t), "data")
	addr := freeAddr(t)
	self := "nobody"
	p := startBinary(t, bin, data, addr, func(cmd *exec.Cmd) {
		cmd.Env = append(cmd.Env, "HOME=/nonexistent")
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		}
	})
	t.Cleanup(func() { p.kill9() })
	if os.Geteuid() != 0 {
		out, err := exec.Command("id", "-un").Output()
		if err != nil {
			t.Fatal(err)
		}
		self = strings.TrimSpace(string(out))
	}
	ts := &testServer{t: t, data: data, url: "http://" + addr}
	c := newCodeBuild(ts)

	b, log := runAsBuild(t, ts, c, "runas-self", whoSpec(self, self))
	want := "who=" + self + " user=" + self + " logname=" + self
	if b.BuildStatus != cbt.StatusTypeSucceeded || !strings.Contains(log, want) || !strings.Contains(log, "Running as user "+self) {
		t.Errorf("build %s, phases %s, want %q in the log:\n%s", b.BuildStatus, phaseList(b), want, log)
	}
	b, _ = runAsBuild(t, ts, c, "runas-other", whoSpec("daemon", ""))
	wantClientError(t, b, cbt.BuildPhaseTypeDownloadSource, "run-as daemon: pipewright does not run as root and cannot switch users",
		"builds run as "+self, "start pipewright as root with --build-users daemon")
}

// binaryForAll builds the binary where every user may run it.
func binaryForAll(t *testing.T) string {
	t.Helper()
	bin := binary(t)
	for d := filepath.Dir(bin); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}
