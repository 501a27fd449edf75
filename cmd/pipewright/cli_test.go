package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

// result is how a run of the binary ended.
type result struct {
	stdout, stderr string
	code           int
}

// runBinary runs bin with args (and env, when not nil) to its end, within
// a minute.
func runBinary(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// flagNames lists every flag of fs.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// TestHelpAndUsageErrors: help, in every spelling, prints every flag to
// stdout and exits 0; a mistake exits 2 with a message that says what is
// wrong and where help is.
func TestHelpAndUsageErrors(t *testing.T) {
	bin := buildBinary(t)
	var c Config
	serveNames, envNames := flagNames(serveFlags(&c)), flagNames(envFlags(&c))
	if len(serveNames) < 8 {
		t.Fatalf("serve has flags %v", serveNames)
	}
	for _, args := range [][]string{{"serve", "--help"}, {"serve", "-h"}, {"serve", "-help"}, {"help"}, {"--help"}, {"help", "serve"}, {"env", "--help"}} {
		r := runBinary(t, bin, nil, args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		names := serveNames
		if args[0] == "env" {
			names = envNames
		}
		for _, n := range names {
			if !strings.Contains(r.stdout, "--"+n+" ") {
				t.Errorf("%v does not list --%s:\n%s", args, n, r.stdout)
			}
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--bogus"}, "pipewright serve: flag provided but not defined: -bogus\nRun 'pipewright serve --help' for usage.\n"},
		{[]string{"serve", "--log-level", "loud"}, "pipewright serve: --log-level must be one of debug, info, warn, error, not \"loud\"\n"},
		{[]string{"serve", "--log-format", "xml"}, "pipewright serve: --log-format must be text or json, not \"xml\"\n"},
		{[]string{"env", "--account-id", "1"}, "pipewright env: flag provided but not defined: -account-id\n"},
		{[]string{"frobnicate"}, "pipewright: unknown command \"frobnicate\"\nRun 'pipewright --help' for usage.\n"},
		{nil, "pipewright: missing command\n"},
	} {
		r := runBinary(t, bin, nil, tt.args...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, tt.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and stderr %q", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
	}
}

// TestVersion: `pipewright version` says what `go version -m` reads from
// the same binary.
func TestVersion(t *testing.T) {
	bin := buildBinary(t)
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(out), "\n")
	_, goVersion, _ := strings.Cut(first, ": ")
	var modVersion string
	build := map[string]string{}
	for _, l := range strings.Split(rest, "\n") {
		f := strings.Split(strings.TrimSpace(l), "\t")
		switch {
		case len(f) >= 3 && f[0] == "mod":
			modVersion = f[2]
		case len(f) == 2 && f[0] == "build":
			k, v, _ := strings.Cut(f[1], "=")
			build[k] = v
		}
	}
	want := "pipewright " + modVersion + "\n"
	if rev := build["vcs.revision"]; rev != "" {
		if build["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		want += "revision  " + rev + "\n"
	}
	if tm := build["vcs.time"]; tm != "" {
		want += "time      " + tm + "\n"
	}
	want += "go        " + goVersion + " " + build["GOOS"] + "/" + build["GOARCH"] + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if r := runBinary(t, bin, nil, args...); r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", args, r.code, r.stdout, r.stderr, want)
		}
	}
}

// TestVersionFromBuildInfo covers the VCS lines that builds of a work tree
// (as the tests make them) may lack.
func TestVersionFromBuildInfo(t *testing.T) {
	plat := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "false"},
			{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"}}},
			"pipewright v1.2.3\nrevision  abc123\ntime      2026-01-02T03:04:05Z\ngo        go1.26.8 linux/arm64\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}}},
			"pipewright (devel)\nrevision  abc123 (modified)\ngo        go1.26.8 " + plat + "\n"},
		{&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"pipewright (devel)\ngo        go1.26.8 " + plat + "\n"},
		{nil, "pipewright (unknown)\ngo        " + runtime.Version() + " " + plat + "\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		writeVersion(&b, tt.bi)
		if b.String() != tt.want {
			t.Errorf("got %q, want %q", b.String(), tt.want)
		}
	}
}

// TestServeOnTakenPort: a server that cannot bind its port writes nothing:
// an empty data directory stays empty, a missing one is not created.
func TestServeOnTakenPort(t *testing.T) {
	bin := buildBinary(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "missing")
	for _, data := range []string{empty, missing} {
		r := runBinary(t, bin, withoutPipewrightKeys(), "serve", "--addr", addr, "--data", data)
		want := "pipewright: cannot listen on " + addr + ": address already in use (another server has it; choose another --addr)\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("--data %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", data, r.code, r.stdout, r.stderr, want)
		}
	}
	if ents, err := os.ReadDir(empty); err != nil || len(ents) != 0 {
		t.Errorf("the empty data directory holds %v (%v)", ents, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing data directory was created: %v", err)
	}
}

// serveLog runs `pipewright serve` with extra flags, makes one SDK request
// and one health check, shuts it down with SIGTERM and returns its stderr.
func serveLog(t *testing.T, bin string, flags ...string) string {
	t.Helper()
	addr := freeAddr(t)
	logPath := filepath.Join(t.TempDir(), "stderr")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, append([]string{"serve", "--data", t.TempDir(), "--addr", addr}, flags...)...)
	cmd.Env = append(withoutPipewrightKeys(), "PIPEWRIGHT_ACCESS_KEY_ID=AKIAENVKEY0000000000", "PIPEWRIGHT_SECRET_ACCESS_KEY=env-secret")
	cmd.Stderr = logf
	serveUntilReady(t, cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := envKeyClient(addr).ListPipelines(ctx, &cp.ListPipelinesInput{}); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Get("http://" + addr + "/_pipewright/health")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	stopCleanly(t, cmd)
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLogFlags: --log-format and --log-level choose the handler and the
// least level of the server's log.
func TestLogFlags(t *testing.T) {
	bin := buildBinary(t)

	t.Run("json debug", func(t *testing.T) {
		var listening, request, health bool
		for _, l := range strings.Split(strings.TrimSpace(serveLog(t, bin, "--log-format", "json", "--log-level", "debug")), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("log line %q is not JSON: %v", l, err)
			}
			listening = listening || rec["msg"] == "pipewright listening" && rec["level"] == "INFO"
			request = request || rec["msg"] == "request" && rec["op"] == "CodePipeline_20150709.ListPipelines" && rec["status"] == 200.0 &&
				rec["accessKeyId"] == "AKIAENVKEY0000000000" && rec["level"] == "INFO"
			health = health || rec["msg"] == "request" && rec["op"] == "health" && rec["level"] == "DEBUG"
		}
		if !listening || !request || !health {
			t.Errorf("listening line %v, ListPipelines line %v, debug health line %v", listening, request, health)
		}
	})

	t.Run("text by default", func(t *testing.T) {
		log := serveLog(t, bin)
		if !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=request op=CodePipeline_20150709.ListPipelines status=200 latencyMs=\S+ requestId=\S+ accessKeyId=AKIAENVKEY0000000000 remote=127.0.0.1:\d+$`).MatchString(log) {
			t.Errorf("no text request line for ListPipelines:\n%s", log)
		}
		if strings.Contains(log, "level=DEBUG") {
			t.Errorf("debug lines at the default level:\n%s", log)
		}
	})

	t.Run("warn", func(t *testing.T) {
		if log := serveLog(t, bin, "--log-level", "warn"); strings.Contains(log, "level=INFO") || strings.Contains(log, "level=DEBUG") {
			t.Errorf("lines below warn:\n%s", log)
		}
	})
}
