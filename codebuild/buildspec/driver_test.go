package buildspec

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// build is the outcome of one real run of a driver.
type build struct {
	out    string       // stdout and stderr
	code   int          // exit status
	events []PhaseEvent // the phase file, parsed
	vars   []string     // the variables file's entries; nil when not written
	dir    string       // the directory the build started in
}

// run parses src, runs its driver with bash -e -c (as the job layer does)
// in a fresh directory and collects what it left.
func run(t *testing.T, src string, opts DriverOptions) build {
	t.Helper()
	return runWith(t, []string{"bash", "-e"}, src, opts)
}

// runWith is run with another outer shell (its argv before -c SCRIPT).
func runWith(t *testing.T, outer []string, src string, opts DriverOptions) build {
	t.Helper()
	spec, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tmp := t.TempDir()
	b := build{dir: filepath.Join(tmp, "src")}
	if err := os.Mkdir(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts.PhaseFile = filepath.Join(tmp, "phases")
	opts.VariablesFile = filepath.Join(tmp, "exported")
	cmd := exec.Command(outer[0], append(outer[1:], "-c", Driver(spec, opts))...)
	cmd.Dir = b.dir
	cmd.Env = append(os.Environ(), "PROJECT_VAR=project")
	out, err := cmd.CombinedOutput()
	b.out = string(out)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		b.code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(opts.PhaseFile)
	if err != nil {
		t.Fatalf("phase file: %v\n%s", err, b.out)
	}
	if b.events, err = ReadPhases(data); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(opts.VariablesFile); err == nil {
		b.vars = strings.SplitAfter(string(data), "\x00")
		b.vars = b.vars[:len(b.vars)-1]
	}
	return b
}

// wantStates checks the phase events, summed up as "PHASE:STATUS".
func (b build) wantStates(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	for _, e := range b.events {
		got = append(got, e.Phase+":"+e.Status)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("phases %v, want %v", got, want)
	}
}

// wantExit checks the driver's exit status: 0, or 1 for a failed build.
func (b build) wantExit(t *testing.T, failed bool) {
	t.Helper()
	want := 0
	if failed {
		want = 1
	}
	if b.code != want {
		t.Fatalf("exit %d, want %d\n%s", b.code, want, b.out)
	}
}

// wantLines checks that every line appears in the output, in this order.
func (b build) wantLines(t *testing.T, lines ...string) {
	t.Helper()
	rest := b.out
	for _, l := range lines {
		i := strings.Index(rest, l)
		if i < 0 {
			t.Fatalf("output lacks %q (in order)\n%s", l, b.out)
		}
		rest = rest[i+len(l):]
	}
}

// wantVars checks the variables file's entries; none means not written.
func (b build) wantVars(t *testing.T, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(b.vars, want) {
		t.Errorf("exported %q, want %q", b.vars, want)
	}
}

func (b build) lacks(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(b.out, s) {
		t.Errorf("output has %q\n%s", s, b.out)
	}
}

var allSucceeded = []string{"INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:SUCCEEDED", "POST_BUILD:SUCCEEDED"}

func TestDriverCarriesStateAcrossPhases(t *testing.T) {
	b := run(t, `version: 0.2
env:
  variables:
    GREETING: hello
  exported-variables: [IMAGE, GREETING, UNSET]
phases:
  install:
    commands:
      - mkdir sub && cd sub
      - export IMAGE=img:1
      - LOCAL=kept
  build:
    commands:
      - echo "build in $(basename "$PWD") $IMAGE $LOCAL $GREETING $CODEBUILD_BUILD_SUCCEEDING"
  post_build:
    commands:
      - IMAGE="$IMAGE-final"
`, DriverOptions{})
	b.wantExit(t, false)
	b.wantLines(t,
		"Phases found in YAML: 3",
		"Entering phase INSTALL", "Running command mkdir sub && cd sub", "Phase complete: INSTALL State: SUCCEEDED", "Phase context status code:  Message: \n",
		"Entering phase PRE_BUILD", "Phase complete: PRE_BUILD State: SUCCEEDED",
		"Entering phase BUILD", "build in sub img:1 kept hello 1\n", "Phase complete: BUILD State: SUCCEEDED",
		"Entering phase POST_BUILD", "Phase complete: POST_BUILD State: SUCCEEDED")
	if !strings.HasPrefix(b.out, "[Container] ") {
		t.Errorf("log lines do not start with [Container]: %q", b.out[:40])
	}
	b.wantStates(t, allSucceeded...)
	for _, e := range b.events {
		if e.Start.IsZero() || e.End.Before(e.Start) || e.Code != "" || e.Message != "" {
			t.Errorf("event %+v", e)
		}
	}
	b.wantVars(t, "IMAGE=img:1-final\x00", "GREETING=hello\x00", "UNSET=\x00")
}

func TestDriverBuildFailureRunsPostBuild(t *testing.T) {
	b := run(t, `version: 0.2
env:
  exported-variables: [X]
phases:
  build:
    commands:
      - echo first
      - "false"
      - echo not-run
    finally:
      - echo "finally ran"
  post_build:
    commands:
      - echo "post sees $CODEBUILD_BUILD_SUCCEEDING"
`, DriverOptions{})
	b.wantExit(t, true)
	b.wantLines(t, "first\n", "Running command false",
		"Command did not exit successfully false exit status 1",
		"Running command echo \"finally ran\"", "finally ran\n",
		"Phase complete: BUILD State: FAILED",
		"Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: false. Reason: exit status 1\n",
		"post sees 0\n", "Phase complete: POST_BUILD State: SUCCEEDED")
	b.lacks(t, "not-run\n")
	b.wantStates(t, "INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:FAILED", "POST_BUILD:SUCCEEDED")
	if e := b.events[2]; e.Code != CodeCommandExecutionError || e.Message != "Error while executing command: false. Reason: exit status 1" {
		t.Errorf("BUILD event %+v", e)
	}
	b.wantVars(t) // a failed build exports nothing
}

func TestDriverInstallFailureSkipsEverything(t *testing.T) {
	b := run(t, `version: 0.2
phases:
  install:
    commands:
      - exit 7
    finally:
      - echo cleanup
  pre_build:
    commands: [echo pre-ran]
  build:
    commands: [echo build-ran]
  post_build:
    commands: [echo post-ran]
`, DriverOptions{})
	b.wantExit(t, true)
	b.wantLines(t, "Command did not exit successfully exit 7 exit status 7", "cleanup\n", "Phase complete: INSTALL State: FAILED")
	for _, s := range []string{"pre-ran", "build-ran", "post-ran", "Entering phase PRE_BUILD"} {
		b.lacks(t, s)
	}
	b.wantStates(t, "INSTALL:FAILED")
}

func TestDriverOnFailureContinue(t *testing.T) {
	b := run(t, `version: 0.2
phases:
  pre_build:
    on-failure: CONTINUE
    commands:
      - export BEFORE=1
      - "false"
  build:
    commands:
      - echo "build ran $BEFORE $CODEBUILD_BUILD_SUCCEEDING"
`, DriverOptions{})
	b.wantExit(t, true)
	b.wantLines(t, "Phase complete: PRE_BUILD State: FAILED", "build ran 1 0\n")
	b.wantStates(t, "INSTALL:SUCCEEDED", "PRE_BUILD:FAILED", "BUILD:SUCCEEDED", "POST_BUILD:SUCCEEDED")
}

func TestDriverFinallyFailureFailsPhase(t *testing.T) {
	b := run(t, `version: 0.2
phases:
  post_build:
    commands: [echo ok]
    finally:
      - exit 4
      - echo after-finally
`, DriverOptions{})
	b.wantExit(t, true)
	b.lacks(t, "after-finally")
	if e := b.events[3]; e.Status != StatusFailed || e.Message != "Error while executing command: exit 4. Reason: exit status 4" {
		t.Errorf("POST_BUILD event %+v", e)
	}
}

func TestDriverExitResumes(t *testing.T) {
	b := run(t, `version: 0.2
phases:
  install:
    commands:
      - mkdir d && cd d && export KEPT=yes
      - exit 0
      - echo "after exit 0 in $(basename "$PWD") $KEPT"
      - set -eu
      - echo "$UNDEFINED_VARIABLE"
    finally:
      - echo "finally in $(basename "$PWD") $KEPT"
      - exit 0
    on-failure: CONTINUE
  build:
    commands: ['echo "build $KEPT, set -u is gone: $UNDEFINED_VARIABLE."']
`, DriverOptions{})
	b.wantExit(t, true)
	b.wantLines(t, "after exit 0 in d yes\n", "finally in d yes\n",
		"Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while executing command: echo \"$UNDEFINED_VARIABLE\". Reason: exit status",
		"build yes, set -u is gone: .\n")
	b.wantStates(t, "INSTALL:FAILED", "PRE_BUILD:SUCCEEDED", "BUILD:SUCCEEDED", "POST_BUILD:SUCCEEDED")
}

func TestDriverQuotingHereDocsAndBlocks(t *testing.T) {
	b := run(t, `version: 0.2
env:
  variables:
    TRICKY: "it's $HOME `+"`id`"+` \"q\""
phases:
  build:
    commands:
      - echo 'single' "double" "it's"
      - printf '%s\n' "$TRICKY"
      - |
        cat > notes.txt <<'EOF'
        literal $HOME
        EOF
        cat notes.txt
      - |
        for i in 1 2; do
          echo "loop $i"
        done
      - >-
        echo folded
        line
      - |
        echo multi
        exit 9
`, DriverOptions{})
	b.wantLines(t, "single double it's\n",
		"it's $HOME `id` \"q\"\n",
		"literal $HOME\n",
		"loop 1\nloop 2\n",
		"folded line\n",
		"Running command echo multi\nexit 9\n", "multi\n",
		"Message: Error while executing command: echo multi\nexit 9\n. Reason: exit status 9")
	if e := b.events[2]; e.Message != "Error while executing command: echo multi\nexit 9\n. Reason: exit status 9" {
		t.Errorf("multi-line message did not survive the phase file: %q", e.Message)
	}
}

func TestDriverProtectedVariables(t *testing.T) {
	b := run(t, `version: 0.2
env:
  variables:
    PROJECT_VAR: buildspec
    OWN: buildspec
phases:
  build:
    commands:
      - echo "values $PROJECT_VAR $OWN"
`, DriverOptions{Protected: []string{"PROJECT_VAR"}})
	b.wantLines(t, "values project buildspec\n")
}

func TestDriverShellSh(t *testing.T) {
	b := run(t, `version: 0.2
env:
  shell: sh
  exported-variables: [WHO]
phases:
  install:
    commands:
      - cd / && WHO=dash
      - '[ -z "$BASH_VERSION" ] && echo "not bash"'
  build:
    commands:
      - export WHO="$WHO in $PWD"
      - exit 0
      - echo "still $WHO"
`, DriverOptions{})
	b.wantExit(t, false)
	b.wantLines(t, "not bash\n", "still dash in /\n")
	b.wantStates(t, allSucceeded...)
	b.wantVars(t, "WHO=dash in /\x00")
}

func TestDriverVersion01IsolatesCommands(t *testing.T) {
	b := run(t, `version: 0.1
phases:
  build:
    commands:
      - cd / && export GONE=1
      - echo "in $PWD [$GONE]"
`, DriverOptions{})
	b.wantLines(t, "in "+b.dir+" []\n")
}

func TestDriverIgnoresAStrayResumeVariable(t *testing.T) {
	t.Setenv("_PW_RESUME", "BUILD c 0 1 0 0 1")
	b := run(t, "version: 0.2\nphases:\n  install:\n    commands: [echo install-ran]\n", DriverOptions{})
	b.wantExit(t, false)
	b.wantLines(t, "install-ran\n")
	b.wantStates(t, allSucceeded...)
}

func TestDriverRunByDash(t *testing.T) {
	for _, shell := range []string{"sh", "bash"} {
		b := runWith(t, []string{"/bin/sh"}, "version: 0.2\nenv:\n  shell: "+shell+"\nphases:\n  build:\n    commands:\n      - cd / && X=1\n      - echo \"x=$X in $PWD\"\n      - exit 5\n", DriverOptions{})
		b.wantExit(t, true)
		b.wantLines(t, "x=1 in /\n", "Reason: exit status 5\n")
		b.wantStates(t, "INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:FAILED", "POST_BUILD:SUCCEEDED")
	}
}

func TestDriverSaysWhatItDoesNotApply(t *testing.T) {
	b := run(t, `version: 0.2
run-as: builder
phases:
  install:
    run-as: other
    runtime-versions:
      nodejs: 20
    commands:
      - echo installing
`, DriverOptions{})
	b.wantExit(t, false)
	b.wantLines(t,
		"Phases found in YAML: 1",
		"INSTALL: runtime-versions nodejs 20 is not applied: builds run on the host, with its programs",
		"Entering phase INSTALL", "installing")
	b.lacks(t, "run-as")
}

// The driver logs who the caller runs it as, and fails the phases the
// caller refuses with CLIENT_ERROR, running none of their commands;
// on-failure applies as after a failed command.
func TestDriverUserAndRefusedPhases(t *testing.T) {
	src := `version: 0.2
phases:
  install:
    on-failure: CONTINUE
    commands:
      - echo installing
    finally:
      - echo install-finally
  build:
    commands:
      - echo building
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"
`
	why := "run-as other: a phase cannot run as another user than the build's (builder)\tsee the README"
	b := run(t, src, DriverOptions{User: "builder (uid 1000)", Refused: map[string]string{PhaseInstall: why}})
	b.wantExit(t, true)
	b.wantLines(t, "Running as user builder (uid 1000)\n", "Phases found in YAML: 3", "Entering phase INSTALL", why,
		"Phase complete: INSTALL State: FAILED", "Phase context status code: CLIENT_ERROR Message: "+why,
		"Entering phase PRE_BUILD", "building", "succeeding=0")
	b.lacks(t, "installing")
	b.lacks(t, "install-finally")
	b.wantStates(t, "INSTALL:FAILED", "PRE_BUILD:SUCCEEDED", "BUILD:SUCCEEDED", "POST_BUILD:SUCCEEDED")
	if e := b.events[0]; e.Code != "CLIENT_ERROR" || e.Message != why {
		t.Errorf("INSTALL context %q %q, want CLIENT_ERROR %q", e.Code, e.Message, why)
	}
	if e := b.events[2]; e.Code != "" {
		t.Errorf("BUILD context %q, want none", e.Code)
	}

	b = run(t, src, DriverOptions{Refused: map[string]string{PhaseBuild: "no"}})
	b.wantExit(t, true)
	b.wantLines(t, "installing", "Entering phase BUILD", "no\n", "Phase context status code: CLIENT_ERROR Message: no", "succeeding=0")
	b.lacks(t, "building")
	b.lacks(t, "Running as user")
	b.wantStates(t, "INSTALL:SUCCEEDED", "PRE_BUILD:SUCCEEDED", "BUILD:FAILED", "POST_BUILD:SUCCEEDED")
}
