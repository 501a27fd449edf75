package runner

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests here play a whole server life in a child process of the test
// binary, as an unprivileged user: lifeEnv names the scenario, lifeDataEnv
// its data directory. The child prints one lifeReport as JSON.
const (
	lifeEnv     = "PIPEWRIGHT_ISOLATION_TEST_LIFE"
	lifeDataEnv = "PIPEWRIGHT_ISOLATION_TEST_DATA"
)

// lifeReport is what a server life saw.
type lifeReport struct {
	UID          int
	Isolation    string
	PidfdReaping bool
	TreeID       string
	ExitCode     int
	TreeErr      string
	Output       []string
	Log          string
	Err          string
}

func init() {
	switch os.Getenv(lifeEnv) {
	case "":
		return
	case "no-userns":
		// Root of a user namespace of our own: forbid user namespaces in
		// it, then become an ordinary user there.
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
			reportLife(lifeReport{Err: err.Error()})
		}
		if err := becomeNobody(); err != nil {
			reportLife(lifeReport{Err: err.Error()})
		}
	}
	reportLife(serverLife(os.Getenv(lifeDataEnv)))
}

// becomeNobody drops every thread of the process to nobody, with no
// supplementary groups.
func becomeNobody() error {
	if err := syscall.Setgroups([]int{}); err != nil {
		return err
	}
	if err := syscall.Setgid(int(nobody.GID)); err != nil {
		return err
	}
	return syscall.Setuid(int(nobody.UID))
}

// reportLife prints the report and ends the child.
func reportLife(rep lifeReport) {
	json.NewEncoder(os.Stdout).Encode(rep)
	syscall.Exit(0)
}

// serverLife protects itself as the server does, starts a runner with the
// best isolation and runs isolationScript over the job tree in data.
func serverLife(data string) lifeReport {
	rep := lifeReport{UID: os.Geteuid(), TreeID: fmt.Sprintf("life-%d", os.Getpid())}
	if err := ProtectServer(); err != nil {
		rep.Err = err.Error()
		return rep
	}
	var logs bytes.Buffer
	r, err := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		rep.Err = err.Error()
		return rep
	}
	rep.Isolation, rep.PidfdReaping, rep.Log = r.Isolation(), reaper.usesPidfds(), logs.String()
	jt := jobTree{data: data, ws: filepath.Join(data, "work", "mine"), other: filepath.Join(data, "work", "other")}
	var mu sync.Mutex
	p, err := r.Start(jt.spec(rep.TreeID, func(l Line) {
		if l.Stream == "stdout" {
			mu.Lock()
			rep.Output = append(rep.Output, l.Text)
			mu.Unlock()
		}
	}))
	if err != nil {
		rep.Err = err.Error()
		return rep
	}
	res := p.Wait()
	rep.ExitCode = res.ExitCode
	if res.Err != nil {
		rep.TreeErr = res.Err.Error()
	}
	return rep
}

// runLife runs a server life as nobody over a job tree nobody owns, in a
// user namespace of its own when ownUserNS is set, and returns the tree,
// the life's environment and its report.
func runLife(t *testing.T, scenario string, ownUserNS bool) (jobTree, map[string]bool, lifeReport) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a life as another user")
	}
	data, err := os.MkdirTemp("", "pipewright-life-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	jt := newJobTree(t, data, nobody)
	err = filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() != "setuid-id" {
			err = os.Lchown(p, int(nobody.UID), int(nobody.GID))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), lifeEnv+"="+scenario, lifeDataEnv+"="+data)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody.UID, Gid: nobody.GID, Groups: []uint32{}}}
	if ownUserNS {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:                 syscall.CLONE_NEWUSER,
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: int(nobody.UID), HostID: int(nobody.UID), Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: int(nobody.GID), HostID: int(nobody.GID), Size: 1}},
			GidMappingsEnableSetgroups: true,
		}
	}
	done := make(chan struct{})
	var out []byte
	go func() {
		out, err = cmd.Output()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("the server life did not end")
	}
	if err != nil {
		t.Fatalf("server life: %v", err)
	}
	var rep lifeReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("server life printed %q: %v", out, err)
	}
	if rep.Err != "" {
		t.Fatalf("server life: %s\n%s", rep.Err, rep.Log)
	}
	if rep.UID != int(nobody.UID) || !rep.PidfdReaping {
		t.Errorf("the life ran as uid %d, pidfd reaping %v: the server's reads of its own /proc entries fail once it is not dumpable", rep.UID, rep.PidfdReaping)
	}
	if rep.ExitCode != 0 || rep.TreeErr != "" {
		t.Errorf("the tree: exit %d, err %s, output %q", rep.ExitCode, rep.TreeErr, rep.Output)
	}
	env := map[string]bool{}
	for _, kv := range cmd.Env {
		env[kv] = true
	}
	return jt, env, rep
}

func TestUnprivilegedServerIsolatesInAUserNamespace(t *testing.T) {
	jt, env, rep := runLife(t, "unprivileged", false)
	if rep.Isolation != IsolationNamespaces {
		t.Fatalf("isolation %q, want namespaces; the runner logged:\n%s", rep.Isolation, rep.Log)
	}
	checkIsolated(t, jt, rep.Output, nobody, rep.TreeID, env)
}

func TestProbeNoticesKernelWithoutUserNamespaces(t *testing.T) {
	_, env, rep := runLife(t, "no-userns", true)
	if rep.Isolation != IsolationNone {
		t.Fatalf("isolation %q where user namespaces are forbidden, want none", rep.Isolation)
	}
	// Without namespaces the tree sees the data directory of its user, as
	// documented; that the server is not dumpable still keeps the server's
	// environment from it.
	saw := strings.Join(rep.Output, "\n")
	if !strings.Contains(saw, "SEES-CREDENTIALS") {
		t.Errorf("output %q", rep.Output)
	}
	for _, l := range rep.Output {
		if kv, ok := strings.CutPrefix(l, "ENV "); ok && env[kv] && !shellSet(kv) && !strings.HasPrefix(kv, "PATH=") {
			t.Errorf("the tree read the server's environment entry %q", kv)
		}
	}
}
