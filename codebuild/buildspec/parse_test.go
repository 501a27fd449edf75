package buildspec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseGood(t *testing.T) {
	spec, err := Parse([]byte(`version: 0.2
run-as: builder
env:
  shell: /bin/sh
  git-credential-helper: yes
  variables:
    ZED: z
    NUM: 1.10
    FLAG: yes
    EMPTY:
  parameter-store:
    TOKEN: /ci/token
  secrets-manager:
    PASS: prod/db:password
  exported-variables:
    - ZED
    - NUM
phases:
  build:
    on-failure: CONTINUE
    commands:
      - echo one
      - |
        echo two
        echo three
    finally:
      - echo done
  install:
    run-as: root
    runtime-versions:
      python: 3.12
      nodejs: 20
artifacts:
  files: ['**/*']
  name: out
  discard-paths: true
  base-directory: dist
  exclude-paths: [tmp/*]
  enable-symlinks: no
  s3-prefix: p
  secondary-artifacts:
    second:
      files: [a]
cache:
  paths: [node_modules/**/*]
  key: k
reports:
  r: {files: [x]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Version != "0.2" || spec.RunAs != "builder" || spec.Env.Shell != ShellSh || !spec.Env.GitCredentialHelper || !spec.HasReports {
		t.Errorf("top level: %+v", spec)
	}
	wantVars := []Variable{{"ZED", "z"}, {"NUM", "1.10"}, {"FLAG", "yes"}, {"EMPTY", ""}}
	if !reflect.DeepEqual(spec.Env.Variables, wantVars) {
		t.Errorf("variables %v, want %v", spec.Env.Variables, wantVars)
	}
	if spec.Env.ParameterStore[0] != (Variable{"TOKEN", "/ci/token"}) || spec.Env.SecretsManager[0] != (Variable{"PASS", "prod/db:password"}) {
		t.Errorf("stores: %v %v", spec.Env.ParameterStore, spec.Env.SecretsManager)
	}
	if len(spec.Phases) != 2 || spec.Phases[0].Name != PhaseInstall || spec.Phases[1].Name != PhaseBuild {
		t.Fatalf("phases not in run order: %+v", spec.Phases)
	}
	build := spec.Phase(PhaseBuild)
	if build.OnFailure != OnFailureContinue || len(build.Commands) != 2 || build.Commands[1] != "echo two\necho three\n" || build.Finally[0] != "echo done" {
		t.Errorf("build phase: %+v", build)
	}
	install := spec.Phase(PhaseInstall)
	if install.RunAs != "root" || install.OnFailure != OnFailureAbort || !reflect.DeepEqual(install.RuntimeVersions, []Variable{{"python", "3.12"}, {"nodejs", "20"}}) {
		t.Errorf("install phase: %+v", install)
	}
	if p := spec.Phase(PhasePostBuild); p.OnFailure != OnFailureAbort || len(p.Commands) != 0 {
		t.Errorf("undeclared phase: %+v", p)
	}
	a := spec.Artifacts
	if a == nil || a.Name != "out" || !a.DiscardPaths || a.EnableSymlinks || a.BaseDirectory != "dist" || a.S3Prefix != "p" ||
		a.Files[0] != "**/*" || a.ExcludePaths[0] != "tmp/*" || len(a.Secondary) != 1 || a.Secondary[0].Identifier != "second" {
		t.Errorf("artifacts: %+v", a)
	}
	if spec.Cache == nil || spec.Cache.Paths[0] != "node_modules/**/*" || spec.Cache.Key != "k" {
		t.Errorf("cache: %+v", spec.Cache)
	}
}

func TestParseMinimal(t *testing.T) {
	for _, src := range []string{"version: 0.2\n", "version: 0.1\nphases:\n  build:\n", "version: '0.2'\nphases:\n"} {
		spec, err := Parse([]byte(src))
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		if spec.Env.Shell != ShellBash {
			t.Errorf("%q: shell %q, want bash by default", src, spec.Env.Shell)
		}
	}
}

func TestParseBad(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "  \n", "The buildspec is empty"},
		{"syntax", "version: 0.2\nphases: [\n", "Invalid YAML"},
		{"not a map", "- a\n", "Expected the buildspec to be a map"},
		{"no version", "phases:\n  build:\n    commands: [ls]\n", "Missing version"},
		{"bad version", "version: 0.3\n", `Invalid buildspec version "0.3": expected 0.2 at line 1`},
		{"unknown top key", "version: 0.2\nphase:\n  build: {}\n", `Unknown key "phase" at top level at line 2`},
		{"duplicate key", "version: 0.2\nversion: 0.2\n", "Duplicate key version at line 2"},
		{"unknown phase", "version: 0.2\nphases:\n  test:\n    commands: [ls]\n", `Unknown phase "test" in phases`},
		{"unknown phase key", "version: 0.2\nphases:\n  build:\n    comands: [ls]\n", `Unknown key "comands" in phases.build at line 4`},
		{"commands a map", "version: 0.2\nphases:\n  build:\n    commands:\n      a: b\n", "Expected phases.build.commands to be of array type: found subkeys instead at line 5"},
		{"command a map", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo: hi\n", "Expected phases.build.commands[0] to be of string type: found subkeys instead at line 5, check indentation"},
		{"commands a string", "version: 0.2\nphases:\n  build:\n    commands: ls\n", "Expected phases.build.commands to be of array type: found a string instead"},
		{"empty command", "version: 0.2\nphases:\n  build:\n    commands:\n      -\n", "Expected phases.build.commands[0] to be a non-empty string"},
		{"bad shell", "version: 0.2\nenv:\n  shell: zsh\n", `Invalid shell "zsh" in env.shell: expected bash, sh or /bin/sh`},
		{"bad variable name", "version: 0.2\nenv:\n  variables:\n    1X: a\n", `Invalid environment variable name "1X" in env.variables`},
		{"variable a list", "version: 0.2\nenv:\n  variables:\n    X: [a]\n", "Expected env.variables.X to be of string type: found a list instead"},
		{"variables a list", "version: 0.2\nenv:\n  variables: [a]\n", "Expected env.variables to be of map type: found a list instead"},
		{"bad exported name", "version: 0.2\nenv:\n  exported-variables: [A-B]\n", `Invalid environment variable name "A-B" in env.exported-variables`},
		{"bad secret name", "version: 0.2\nenv:\n  secrets-manager:\n    a.b: x\n", `Invalid environment variable name "a.b" in env.secrets-manager`},
		{"retry", "version: 0.2\nphases:\n  build:\n    on-failure: RETRY-2\n", `Unsupported phases.build.on-failure "RETRY-2": pipewright does not retry builds`},
		{"bad on-failure", "version: 0.2\nphases:\n  build:\n    on-failure: IGNORE\n", `Invalid phases.build.on-failure "IGNORE": expected ABORT or CONTINUE`},
		{"bad yes/no", "version: 0.2\nartifacts:\n  discard-paths: maybe\n", `Invalid value "maybe" for artifacts.discard-paths: expected yes or no`},
		{"nested secondary", "version: 0.2\nartifacts:\n  secondary-artifacts:\n    s:\n      secondary-artifacts: {}\n", `Unknown key "secondary-artifacts" in artifacts.secondary-artifacts.s`},
		{"unknown cache key", "version: 0.2\ncache:\n  path: [a]\n", `Unknown key "path" in cache`},
		{"NUL", "version: 0.2\nphases:\n  build:\n    commands: [\"a\\0b\"]\n", "phases.build.commands[0] contains a NUL character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("got %v (%T), want an *Error", err, err)
			}
			if perr.Code() != CodeYAMLFileError {
				t.Errorf("code %q", perr.Code())
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q\nwant it to contain %q", err.Error(), tc.want)
			}
			if strings.Contains(err.Error(), CodeYAMLFileError) {
				t.Errorf("message %q carries the code", err.Error())
			}
		})
	}
}

func TestParseAlias(t *testing.T) {
	spec, err := Parse([]byte("version: 0.2\nx-common: &c [echo a]\n"))
	if err == nil {
		t.Fatalf("unknown key accepted: %+v", spec)
	}
	spec, err = Parse([]byte("version: 0.2\nphases:\n  install:\n    commands: &c [echo a]\n  build:\n    commands: *c\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.Phase(PhaseBuild).Commands; len(got) != 1 || got[0] != "echo a" {
		t.Errorf("alias commands %q", got)
	}
}
