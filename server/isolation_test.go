package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/pipewright/pipewright/server"
)

// jobDir returns a directory the commands of a job can read and write,
// whichever user they run as (t.TempDir is 0700, in a 0700 parent).
func jobDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "pipewright-job-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

// hostPID returns the PID, as the test sees it, of the process of a job's
// tree whose PID in the tree's own PID namespace is nsPID (what $$ and $!
// say there), or 0 if there is none (yet).
func hostPID(jobID string, nsPID int) int {
	for pid := range treeProcs(jobID) {
		if ids := nsPIDs(pid); len(ids) > 0 && ids[len(ids)-1] == nsPID {
			return pid
		}
	}
	return 0
}

// nsPIDs returns a process's PIDs in each PID namespace it is in, the
// test's first (its NSpid line).
func nsPIDs(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			var out []int
			for _, f := range strings.Fields(v) {
				n, _ := strconv.Atoi(f)
				out = append(out, n)
			}
			return out
		}
	}
	return nil
}

// inOwnPIDNamespace reports whether a process lives in a PID namespace
// below the test's (its NSpid line has more than one PID).
func inOwnPIDNamespace(pid int) bool { return len(nsPIDs(pid)) > 1 }

func TestAbandonUnderIsolationKillsWholeTree(t *testing.T) {
	t.Parallel()
	ts := startServer(t, withGrace(500*time.Millisecond))
	if iso := ts.srv.Isolation(); iso != "namespaces" {
		t.Fatalf("isolation %q, want namespaces", iso)
	}
	ts.gitRepo("app", map[string]string{"a": "a"})
	// A background child, a setsid'd grandchild, a double-forked daemon
	// and a process that ignores SIGTERM.
	cmds := []string{
		"sleep 300 &",
		"setsid sleep 301 &",
		"( setsid sh -c 'sleep 302 & :' & )",
		`sh -c 'trap "" TERM; while true; do sleep 0.1; done' &`,
		"sleep 303",
	}
	tags := []types.Tag{{Key: aws.String("pipewright:abandon-cancels-jobs"), Value: aws.String("true")}}
	id := ts.createPipeline(declaration("kill", "app", "", stage("Build", commandsAction("Tree", 1, cmds...))), tags...)
	ts.waitAction("kill", "Build", "Tree", types.ActionExecutionStatusInProgress)
	tree := ts.jobOf("kill", "Build", "Tree")
	// The main shell, four sleeps and the looping sh.
	var pids []int
	eventually(t, 10*time.Second, "the tree's processes", func() bool {
		pids = nil
		for pid := range treeProcs(tree) {
			pids = append(pids, pid)
		}
		return len(pids) >= 6
	})
	for _, p := range pids {
		if !inOwnPIDNamespace(p) {
			t.Errorf("process %d of the tree is not in a PID namespace of its own", p)
		}
	}
	if err := ts.stop("kill", id, true, "kill it all"); err != nil {
		t.Fatal(err)
	}
	ts.waitStatus("kill", id, types.PipelineExecutionStatusStopped, 5*time.Second)
	eventually(t, 5*time.Second, "every process of the tree gone", func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		return len(treeProcs(tree)) == 0
	})
	if a := ts.actionState("kill", "Build", "Tree"); a.Status != types.ActionExecutionStatusAbandoned {
		t.Fatalf("action %s", a.Status)
	}
}

// secretProbe is the Commands action that looks for the server's secret
// key everywhere it can read, given only its base64 form (so that the key
// itself is in no environment or command line of the tree), and tries to
// open the server's files (its own needle file, in its TMPDIR inside the
// workspace, does not count); it reports what it found, and what it could
// see of the data directory, its input artifact and its variables.
var secretProbe = []string{
	`needle=$(mktemp); trap 'rm -f "$needle"' EXIT; printf %s "$NEEDLE_B64" | base64 -d > "$needle"`,
	`hit() { if grep -a -q -F -f "$needle"; then echo "FOUND in $1"; fi; }`,
	`env | hit environment`,
	`for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do cat "$f" 2>/dev/null | hit "$f"; done`,
	`find "$DATA_DIR" -type f 2>/dev/null | while IFS= read -r f; do [ "$f" = "$needle" ] || cat "$f" 2>/dev/null | hit "$f"; done`,
	`find "$DATA_DIR" 2>/dev/null | sed 's/^/SEEN /'`,
	`for f in pipewright.db pipewright.db-wal pipewright.db-shm credentials.json; do
	   if (exec 3<"$DATA_DIR/$f") 2>/dev/null; then echo "OPENED $f for reading"; fi
	   if (exec 3>>"$DATA_DIR/$f") 2>/dev/null; then echo "OPENED $f for writing"; fi
	 done`,
	`echo "INPUT $(cat input.txt)"`,
	`echo "VARIABLE $GREETING"`,
	`echo "EUID $EUID"`,
}

// TestCommandsCannotReachTheSecrets runs the real binary, as root and as
// an unprivileged user, with its key pair in its environment and in
// DATA/credentials.json, and a pipeline whose Commands action looks for
// the secret key and tries to open the database and the credentials. An
// unprivileged server refuses --job-user.
func TestCommandsCannotReachTheSecrets(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	// The unprivileged server must be able to execute it.
	for d := filepath.Dir(bin); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"root", "unprivileged"} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			uid := os.Geteuid()
			switch {
			case user == "root" && uid != 0:
				t.Skip("needs root")
			case user == "unprivileged" && uid == 0:
				uid = 65534
			}
			checkCommandsCannotReachTheSecrets(t, bin, uid)
		})
	}
	t.Run("job-user-needs-root", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(bin, "serve", "--data", jobDir(t), "--addr", "127.0.0.1:0", "--job-user", "nobody")
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--job-user nobody: only a server running as root runs jobs as another user") {
			t.Errorf("an unprivileged server given --job-user: %v, %s", err, out)
		}
	})
}

func checkCommandsCannotReachTheSecrets(t *testing.T, bin string, uid int) {
	data, err := os.MkdirTemp("", "pipewright-data-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	ts := &testServer{t: t, data: data}
	ts.gitRepo("app", map[string]string{"input.txt": "input-ok"})
	creds, _ := json.Marshal(map[string]string{"accessKeyId": testKey, "secretAccessKey": testSecret})
	if err := os.WriteFile(filepath.Join(data, "credentials.json"), creds, 0o600); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(data, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			err = os.Lchown(p, uid, uid)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	p := startBinary(t, bin, data, addr, func(cmd *exec.Cmd) {
		cmd.Env = append(cmd.Env, "HOME=/nonexistent")
		if uid != os.Geteuid() {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
		}
	})
	t.Cleanup(func() { p.kill9() })
	if p.isolation != "namespaces" {
		t.Fatalf("the server isolates jobs with %q, want namespaces", p.isolation)
	}
	ts.client = newClient("http://"+addr, testKey, testSecret)

	probe := commandsAction("Probe", 1, secretProbe...)
	probe.EnvironmentVariables = []types.EnvironmentVariable{
		{Name: aws.String("NEEDLE_B64"), Value: aws.String(base64.StdEncoding.EncodeToString([]byte(testSecret)))},
		{Name: aws.String("DATA_DIR"), Value: aws.String(data)},
		{Name: aws.String("GREETING"), Value: aws.String("#{variables.Greeting}")},
	}
	decl := declaration("probe", "app", "", stage("Build", probe))
	decl.Variables = []types.PipelineVariableDeclaration{{Name: aws.String("Greeting"), DefaultValue: aws.String("hello-variable")}}
	id := ts.createPipeline(decl)
	ts.waitStatus("probe", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	a := ts.actionState("probe", "Build", "Probe")
	action := aws.ToString(a.ExternalExecutionId)
	log, err := os.ReadFile(filepath.Join(data, "logs", action+".log"))
	if err != nil {
		t.Fatal(err)
	}
	jobUID := uid
	if uid == 0 {
		jobUID = 65534
	}
	checkProbeLog(t, log, data, filepath.Join(data, "work", action), jobUID, true)
}

// checkProbeLog checks what secretProbe reported: nothing found, nothing
// opened, nothing seen in the data directory but the path to the
// workspace ws and, when it may list them, what is in it; and that it ran
// as jobUID and saw its input artifact and variables.
func checkProbeLog(t *testing.T, log []byte, data, ws string, jobUID int, listable bool) {
	t.Helper()
	got := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		// Each line is "TIME TEXT".
		_, text, _ := strings.Cut(line, " ")
		got[text] = true
		switch {
		case strings.HasPrefix(text, "FOUND"), strings.HasPrefix(text, "OPENED"):
			t.Errorf("the commands report %q", text)
		case strings.HasPrefix(text, "SEEN "):
			if p := strings.TrimPrefix(text, "SEEN "); p != data && p != filepath.Join(data, "work") && p != ws && !strings.HasPrefix(p, ws+"/") {
				t.Errorf("the commands see %s in the data directory", p)
			}
		}
	}
	want := []string{"INPUT input-ok", "VARIABLE hello-variable", fmt.Sprintf("EUID %d", jobUID)}
	if listable {
		want = append(want, "SEEN "+filepath.Join(ws, "src", "input.txt"))
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("the commands did not report %q; log:\n%s", w, log)
		}
	}
}

// TestCommandsCannotReachTheSecretsAsJobUser runs the same probe where
// namespaces are not used: as the job user, kept out by the permissions of
// the data directory alone.
func TestCommandsCannotReachTheSecretsAsJobUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	t.Parallel()
	ts := startServer(t, func(c *server.Config) { c.Isolation = "job-user" })
	if iso := ts.srv.Isolation(); iso != "job-user" {
		t.Fatalf("isolation %q", iso)
	}
	creds, _ := json.Marshal(map[string]string{"accessKeyId": testKey, "secretAccessKey": testSecret})
	if err := os.WriteFile(filepath.Join(ts.data, "credentials.json"), creds, 0o600); err != nil {
		t.Fatal(err)
	}
	// The job user passes through the test's temporary directories.
	if err := os.Chmod(filepath.Dir(ts.data), 0o711); err != nil {
		t.Fatal(err)
	}
	ts.gitRepo("app", map[string]string{"input.txt": "input-ok"})
	probe := commandsAction("Probe", 1, secretProbe...)
	probe.EnvironmentVariables = []types.EnvironmentVariable{
		{Name: aws.String("NEEDLE_B64"), Value: aws.String(base64.StdEncoding.EncodeToString([]byte(testSecret)))},
		{Name: aws.String("DATA_DIR"), Value: aws.String(ts.data)},
		{Name: aws.String("GREETING"), Value: aws.String("hello-variable")},
	}
	id := ts.createPipeline(declaration("probe", "app", "", stage("Build", probe)))
	ts.waitStatus("probe", id, types.PipelineExecutionStatusSucceeded, 30*time.Second)
	a := ts.actionState("probe", "Build", "Probe")
	log, err := os.ReadFile(filepath.Join(ts.data, "logs", aws.ToString(a.ExternalExecutionId)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	checkProbeLog(t, log, ts.data, filepath.Join(ts.data, "work", aws.ToString(a.ExternalExecutionId)), 65534, false)
}
