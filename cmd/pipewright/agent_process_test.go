package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cd "github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// uniqueMarker is a string no other process's command line holds.
func uniqueMarker() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "pw-marker-" + hex.EncodeToString(b)
}

// TestAgentProcessKilledMidEvent: the agent is killed -9 while a hook
// runs; the hook's process group outlives it, and the agent started again
// on the same root kills that group and fails the event as AWS's agent
// does after a restart, which fails the deployment.
func TestAgentProcessKilledMidEvent(t *testing.T) {
	// The hook's leader is the marked shell (the script exec'd it), the
	// leader of a process group of its own.
	h := startHeldHook(t, func(started, marker string) string {
		return "#!/bin/sh\ntouch " + started + "\nexec sh -c 'sleep 300; : " + marker + "'\n"
	})
	s, a, id, root, marker := h.s, h.a, h.id, h.root, h.marker
	pgid := h.pid
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	if _, g, ok := procStat(pgid); !ok || g != pgid {
		t.Fatalf("the hook's shell %d is in process group %d, want its own", pgid, g)
	}
	// The agent records the group as soon as the script has started; the
	// kill must come after that, or the restart has nothing to kill.
	waitTracked(t, root, pgid, 10*time.Second)

	a.kill()
	time.Sleep(200 * time.Millisecond)
	members := groupMembers(pgid)
	if !slices.Contains(members, pgid) || len(members) < 2 {
		t.Fatalf("after the agent's kill -9 the hook's group %d has %v, want the shell and its sleep", pgid, members)
	}
	if _, g, _ := procStat(os.Getpid()); g == pgid {
		t.Fatalf("the hook's group %d is the test's own", pgid)
	}

	a.start()
	c := s.codedeploy()
	d := waitProcDeployment(t, c, id, cdt.DeploymentStatusFailed, 60*time.Second)
	if d.ErrorInformation == nil || d.ErrorInformation.Code != cdt.ErrorCodeHealthConstraints {
		t.Errorf("deployment error information %+v, want HEALTH_CONSTRAINTS (its only instance failed)", d.ErrorInformation)
	}
	st, evs := instanceEvents(t, c, id, "host-1")
	want := []string{"ApplicationStop=Succeeded", "DownloadBundle=Succeeded", "BeforeInstall=Failed", "Install=Skipped",
		"AfterInstall=Skipped", "ApplicationStart=Skipped", "ValidateService=Skipped"}
	if got := eventStatuses(evs); st != cdt.InstanceStatusFailed || !slices.Equal(got, want) {
		t.Fatalf("instance %s, events %v, want Failed and %v", st, got, want)
	}
	dg := evs[2].Diagnostics
	if dg == nil || dg.ErrorCode != cdt.LifecycleErrorCodeUnknownError ||
		!strings.Contains(aws.ToString(dg.Message), "Failing in-progress lifecycle event after an agent restart") {
		t.Fatalf("BeforeInstall's diagnostics %+v, want UnknownError (the agent's code 7) after an agent restart", dg)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(groupMembers(pgid)) > 0 || len(pidsWith(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted agent left the hook's group %d running: %v", pgid, groupMembers(pgid))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTracked waits until the agent under root records process group
// pgid as its running script's (in the ongoing-events it keeps under
// Root/opt/codedeploy-agent/deployment-root).
func waitTracked(t *testing.T, root string, pgid int, timeout time.Duration) {
	t.Helper()
	dir := filepath.Join(root, "opt", "codedeploy-agent", "deployment-root", "ongoing-events")
	want := []byte(`"pgid":` + strconv.Itoa(pgid) + `,`)
	deadline := time.Now().Add(timeout)
	for {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil && bytes.Contains(b, want) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not record process group %d in %s within %v", pgid, dir, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAgentProcessRidesOutServerRestart: the server is killed -9 while a
// hook runs; the hook ends while the server is down, and once the server
// is back on the same data and address the agent delivers the report it
// kept, and the deployment carries on to Succeeded.
func TestAgentProcessRidesOutServerRestart(t *testing.T) {
	bin := buildBinary(t)
	s := startProcServer(t, bin)
	procFixture(t, s, "host-1")
	root, out := t.TempDir(), t.TempDir()
	started, ended := filepath.Join(out, "started"), filepath.Join(out, "ended")
	id := procDeploy(t, s, "slow.zip", map[string]string{
		"appspec.yml":     hookAppspec(map[string]string{"BeforeInstall": "scripts/slow.sh"}, nil),
		"scripts/slow.sh": "#!/bin/sh\ntouch " + started + "\nsleep 3\ntouch " + ended + "\n"})
	a := newAgentProc(t, bin, s, "host-1", root)
	a.start()
	waitPath(t, started, 60*time.Second)
	s.kill()
	if _, err := os.Stat(ended); err == nil {
		t.Fatal("the hook ended before the server was killed")
	}
	waitPath(t, ended, 30*time.Second)
	// The agent keeps the end it cannot deliver; it is paused while the
	// server comes back, to see what the server's next life shows before
	// the late report arrives.
	waitPendingReport(t, root, 10*time.Second)
	a.signal(syscall.SIGSTOP)
	s.start()
	c := s.codedeploy()
	dep, err := c.GetDeployment(context.Background(), &cd.GetDeploymentInput{DeploymentId: aws.String(id)})
	if err != nil {
		a.signal(syscall.SIGCONT)
		t.Fatal(err)
	}
	_, evs := instanceEvents(t, c, id, "host-1")
	a.signal(syscall.SIGCONT)
	if st := dep.DeploymentInfo.Status; st != cdt.DeploymentStatusInProgress || evs[2].Status != cdt.LifecycleEventStatusInProgress {
		t.Fatalf("after the server's restart, before the agent's report: deployment %s, events %v; want InProgress", st, eventStatuses(evs))
	}

	d := waitProcDeployment(t, c, id, cdt.DeploymentStatusSucceeded, 60*time.Second)
	st, evs := instanceEvents(t, c, id, "host-1")
	want := make([]string, len(procOrder))
	for i, e := range procOrder {
		want[i] = e + "=Succeeded"
	}
	if got := eventStatuses(evs); st != cdt.InstanceStatusSucceeded || !slices.Equal(got, want) {
		t.Fatalf("instance %s, events %v, want Succeeded and %v", st, got, want)
	}
	if dg := evs[2].Diagnostics; dg == nil || dg.ErrorCode != cdt.LifecycleErrorCodeSuccess {
		t.Errorf("BeforeInstall's diagnostics %+v", dg)
	}
	if o := d.DeploymentOverview; o == nil || o.Succeeded != 1 || o.Failed != 0 {
		t.Errorf("deployment overview %+v", o)
	}
}

// waitPendingReport waits until the agent under root keeps a report it
// could not deliver (in the pending-reports it keeps under
// Root/opt/codedeploy-agent/deployment-root).
func waitPendingReport(t *testing.T, root string, timeout time.Duration) {
	t.Helper()
	dir := filepath.Join(root, "opt", "codedeploy-agent", "deployment-root", "pending-reports")
	deadline := time.Now().Add(timeout)
	for {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".json") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent kept no undelivered report in %s within %v", dir, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBin runs the binary with args and the agent's environment, and
// returns its exit code, stdout and stderr; it fails the test unless the
// binary exits within timeout.
func runBin(t *testing.T, timeout time.Duration, bin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = agentEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not exit within %v: %s", args, timeout, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestAgentFlags: a mistake in `pipewright agent`'s command line exits 2
// with a message naming it; `pipewright help agent` lists the flags; an
// instance the server does not know exits 1 naming it.
func TestAgentFlags(t *testing.T) {
	bin := buildBinary(t)
	root := t.TempDir()
	const url = "http://127.0.0.1:1"
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--instance-name", "h", "--root", root}, "--endpoint is required"},
		{[]string{"--endpoint", url, "--root", root}, "--instance-name is required"},
		{[]string{"--endpoint", url, "--instance-name", "h"}, "--root is required"},
		{[]string{"--endpoint", "127.0.0.1:8080", "--instance-name", "h", "--root", root}, `--endpoint must be an http or https URL, not "127.0.0.1:8080"`},
		{[]string{"--endpoint", "ftp://host", "--instance-name", "h", "--root", root}, `--endpoint must be an http or https URL, not "ftp://host"`},
		{[]string{"--endpoint", "http://", "--instance-name", "h", "--root", root}, `--endpoint must be an http or https URL, not "http://"`},
		{[]string{"--endpoint", url, "--instance-name", "h", "--root", root, "--stop-grace", "-1s"}, "--stop-grace must not be negative"},
		{[]string{"--endpoint", url, "--instance-name", "h", "--root", root, "--log-level", "loud"}, `--log-level must be one of debug, info, warn, error, not "loud"`},
		{[]string{"--endpoint", url, "--instance-name", "h", "--root", root, "--bogus"}, "flag provided but not defined: -bogus"},
	} {
		code, stdout, stderr := runBin(t, 10*time.Second, bin, append([]string{"agent"}, tc.args...)...)
		want := "pipewright agent: " + tc.msg + "\nRun 'pipewright agent --help' for usage.\n"
		if code != 2 || !strings.HasSuffix(stderr, want) || stdout != "" {
			t.Errorf("agent %v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, stdout, stderr, want)
		}
	}

	// Help exits 0, as every help does, and lists every flag.
	for _, args := range [][]string{{"help", "agent"}, {"agent", "--help"}} {
		code, stdout, stderr := runBin(t, 10*time.Second, bin, args...)
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "pipewright agent [flags]: run a CodeDeploy host agent") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, stderr, stdout)
		}
		for _, f := range []string{"--endpoint", "--instance-name", "--root", "--region", "--stop-grace", "--log-level"} {
			if !strings.Contains(stdout, f) {
				t.Errorf("%v does not list %s:\n%s", args, f, stdout)
			}
		}
	}

	// An instance the server does not know: GetOnPremisesInstance answers
	// InstanceNotRegisteredException, which waiting does not mend.
	s := startProcServer(t, bin)
	code, stdout, stderr := runBin(t, 30*time.Second, bin, "agent", "--endpoint", s.url(), "--instance-name", "ghost-host", "--root", root)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "pipewright: agent: the on-premises instance ghost-host: ") ||
		!strings.Contains(stderr, "InstanceNotRegisteredException") {
		t.Errorf("an unknown instance: exit %d, stdout %q, stderr %q; want exit 1 naming ghost-host and InstanceNotRegisteredException", code, stdout, stderr)
	}
}

// TestAgentProcessAsNonRoot runs the agent as nobody: a hook that asks to
// run as root fails with ScriptFailed and says why, and a hook without
// runas runs as nobody.
func TestAgentProcessAsNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the test runs the agent as nobody, which needs root")
	}
	bin := buildBinary(t)
	s := startProcServer(t, bin)
	procFixture(t, s, "host-1")

	// nobody can reach the binary, and owns the agent's root.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shared := filepath.Join(dir, "pipewright")
	if b, err := os.ReadFile(bin); err != nil || os.WriteFile(shared, b, 0o755) != nil {
		t.Fatalf("copying the binary: %v", err)
	}
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil || os.Chown(root, 65534, 65534) != nil {
		t.Fatalf("the agent's root: %v", err)
	}
	a := newAgentProc(t, shared, s, "host-1", root)
	a.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	a.start()
	c := s.codedeploy()

	id := procDeploy(t, s, "asroot.zip", map[string]string{
		"appspec.yml":    hookAppspec(map[string]string{"BeforeInstall": "scripts/who.sh"}, map[string]string{"BeforeInstall": "root"}),
		"scripts/who.sh": "#!/bin/sh\nid -u > " + root + "/uid-asroot\n"})
	waitProcDeployment(t, c, id, cdt.DeploymentStatusFailed, 60*time.Second)
	_, evs := instanceEvents(t, c, id, "host-1")
	if got := eventStatuses(evs); len(got) != len(procOrder) || got[2] != "BeforeInstall=Failed" {
		t.Fatalf("events %v, want BeforeInstall=Failed", got)
	}
	dg := evs[2].Diagnostics
	if dg == nil || dg.ErrorCode != cdt.LifecycleErrorCodeScriptFailed || aws.ToString(dg.ScriptName) != "scripts/who.sh" ||
		!strings.Contains(aws.ToString(dg.Message), "the agent runs as nobody, not root, and cannot run scripts as root") {
		t.Fatalf("BeforeInstall's diagnostics %+v, want ScriptFailed saying the agent is not root", dg)
	}
	if _, err := os.Stat(filepath.Join(root, "uid-asroot")); err == nil {
		t.Error("the script that asked for root ran")
	}

	id = procDeploy(t, s, "asagent.zip", map[string]string{
		"appspec.yml":    hookAppspec(map[string]string{"BeforeInstall": "scripts/who.sh"}, nil),
		"scripts/who.sh": "#!/bin/sh\nid -u > " + root + "/uid\necho \"$USER $HOME\" > " + root + "/user\n"})
	waitProcDeployment(t, c, id, cdt.DeploymentStatusSucceeded, 60*time.Second)
	if b, err := os.ReadFile(filepath.Join(root, "uid")); err != nil || string(b) != "65534\n" {
		t.Errorf("id -u in the hook: %q %v, want 65534", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "user")); err != nil || string(b) != "nobody /nonexistent\n" {
		t.Errorf("$USER $HOME in the hook: %q %v, want nobody's", b, err)
	}
}

// TestAgentProcessKilledAfterTheScriptExited: the hook's script has
// exited but left a child holding its outputs (the agent waits for them,
// as AWS's does) when the agent is killed -9; the agent started again
// kills what is left of the script's process group, whose leader is gone.
func TestAgentProcessKilledAfterTheScriptExited(t *testing.T) {
	h := startHeldHook(t, func(started, marker string) string {
		return "#!/bin/sh\n(exec sh -c 'sleep 300; : " + marker + "') &\ntouch " + started + "\n"
	})
	s, a, id, root, marker, child := h.s, h.a, h.id, h.root, h.marker, h.pid
	_, pgid, ok := procStat(child)
	if !ok {
		t.Fatalf("the child %d is gone", child)
	}
	t.Cleanup(func() { syscall.Kill(-pgid, syscall.SIGKILL) })
	if pgid == child {
		t.Fatalf("the child %d leads its own group; want the script's", child)
	}
	waitTracked(t, root, pgid, 10*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, _, ok := procStat(pgid); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the script %d did not exit", pgid)
		}
	}
	a.kill()
	a.start()
	waitProcDeployment(t, s.codedeploy(), id, cdt.DeploymentStatusFailed, 60*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for len(pidsWith(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted agent left the script's child %d (group %d) running", child, pgid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// heldHook is a deployment whose BeforeInstall hook is running under an
// agent process: pid is the one process whose command line holds marker.
type heldHook struct {
	s                *procServer
	a                *agentProc
	id, root, marker string
	pid              int
}

// startHeldHook starts a server, an agent and a deployment whose
// BeforeInstall hook is script(started, marker), and waits until the hook
// has touched started and one process holds marker.
func startHeldHook(t *testing.T, script func(started, marker string) string) heldHook {
	t.Helper()
	bin := buildBinary(t)
	h := heldHook{s: startProcServer(t, bin), root: t.TempDir(), marker: uniqueMarker()}
	procFixture(t, h.s, "host-1")
	started := filepath.Join(t.TempDir(), "started")
	h.id = procDeploy(t, h.s, "held.zip", map[string]string{
		"appspec.yml":     hookAppspec(map[string]string{"BeforeInstall": "scripts/held.sh"}, nil),
		"scripts/held.sh": script(started, h.marker)})
	h.a = newAgentProc(t, bin, h.s, "host-1", h.root)
	h.a.start()
	waitPath(t, started, 60*time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if pids := pidsWith(h.marker); len(pids) == 1 {
			h.pid = pids[0]
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single process holds %s: %v", h.marker, pidsWith(h.marker))
		}
	}
}
