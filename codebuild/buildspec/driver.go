package buildspec

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// DriverOptions are the host-side facts the driver needs.
type DriverOptions struct {
	// PhaseFile is where the driver appends its phase events (ReadPhases
	// reads them). "" discards them. A relative path is made absolute
	// against the caller's working directory, since the build cds away.
	PhaseFile string
	// VariablesFile, when set, is created by the driver once POST_BUILD is
	// over and the build succeeded, holding NAME=VALUE entries for every
	// env.exported-variables name, each followed by a NUL byte. It is not
	// written when the build fails.
	VariablesFile string
	// Protected names variables that come from a higher precedence than the
	// buildspec (the project, start-build overrides): the driver does not
	// set the env.variables of those names.
	Protected []string
	// User, when set, is logged before the first phase as who the commands
	// run as ("Running as user USER"). The driver does not switch users.
	User string
	// Refused maps a phase name to why the phase may not run (a run-as the
	// build cannot honour): that phase runs none of its commands and
	// fails with CLIENT_ERROR and that message, and its on-failure
	// applies as after a failed command.
	Refused map[string]string
}

// Driver returns the driver script of a spec. The script is meant for
// `bash -c SCRIPT` (with or without -e: it starts with set +e and checks
// every status itself); with env.shell sh it hands the build to /bin/sh.
//
// What the script does, as CodeBuild does on Linux:
//   - exports CODEBUILD_BUILD_SUCCEEDING=1 and the env.variables (in order,
//     values as written, except the Protected names);
//   - runs INSTALL, PRE_BUILD, BUILD and POST_BUILD, all in one shell
//     session, so cd and variables carry from command to command and
//     phase to phase (0.1 specs excepted, see Spec.Version);
//   - in a phase, runs the commands in order up to the first that fails,
//     then the finally commands up to the first that fails; any failure
//     fails the phase;
//   - after a failed phase the build is failed and CODEBUILD_BUILD_SUCCEEDING
//     becomes 0. A failed INSTALL or PRE_BUILD skips every later phase
//     (they are not reported), unless its on-failure is CONTINUE; a failed
//     BUILD still runs POST_BUILD. CONTINUE lets the next phases run, but
//     the phase stays FAILED and the build fails in the end;
//   - writes the exported variables (see DriverOptions.VariablesFile);
//   - exits 0 when the build succeeded, 1 when it failed.
//
// It logs "[Container] 2006/01/02 15:04:05.000000 ..." lines (UTC) to
// stdout: Entering phase, Running command, Command did not exit
// successfully, Phase complete and Phase context status code, in AWS's
// words. The driver does not switch users: run-as is the caller's to
// apply (it runs the whole tree as the build's user, see DriverOptions.User
// and Refused). The user's commands are run as written; everything else the
// generator splices in is quoted. The driver's own names start with _pw_
// or _PW_; a command that changes them, sets its own EXIT trap, or runs a
// bare break or continue at top level disturbs the driver, and one that
// execs another program ends the driver with it.
//
// A command that ends the shell (exit N, a failure under its own set -e)
// counts as a command with status N: the driver carries on in a fresh
// shell with the exported variables and working directory it left, but
// not its unexported shell variables.
func Driver(spec *Spec, opts DriverOptions) string {
	var b strings.Builder
	body := driverHeader(spec, opts) + driverBody
	shell := `"${BASH:-bash}"`
	if spec.Env.Shell == ShellSh {
		shell = "/bin/sh"
	}
	// The driver resumes when _PW_RESUME is set: one from the caller's
	// environment must not make it skip phases.
	b.WriteString("set +e\nunset _PW_RESUME _PW_RESUME_WHY _PW_RESUME_EWHY\n")
	fmt.Fprintf(&b, "_pw_driver=%s\n", quote(body))
	fmt.Fprintf(&b, "exec %s -c \"$_pw_driver\" pipewright-driver \"$_pw_driver\"\n", shell)
	return b.String()
}

// driverHeader is the generated part of the driver body: settings and the
// functions that hold the spec's data.
func driverHeader(spec *Spec, opts DriverOptions) string {
	var b strings.Builder
	b.WriteString("set +e\n_pw_driver=$1\nshift\n")
	if spec.Env.Shell == ShellSh {
		b.WriteString("_pw_sh=/bin/sh\n")
	} else {
		b.WriteString("_pw_sh=${BASH:-bash}\n")
	}
	pf := "/dev/null"
	if opts.PhaseFile != "" {
		pf = absolute(opts.PhaseFile)
	}
	vf := ""
	if opts.VariablesFile != "" {
		vf = absolute(opts.VariablesFile)
	}
	iso := "0"
	if spec.Version == "0.1" {
		iso = "1"
	}
	fmt.Fprintf(&b, "_pw_pf=%s\n_pw_vf=%s\n_pw_iso=%s\n", quote(pf), quote(vf), iso)
	writeCommands(&b, spec)
	writeOnFailure(&b, spec)
	writeSetEnv(&b, spec, opts.Protected)
	writeRefused(&b, opts.Refused)
	writeFound(&b, spec, opts.User)
	writeExportVars(&b, spec)
	return b.String()
}

// writeCommands defines _pw_cmd PHASE c|f INDEX, which sets _pw_c to that
// command (commands or finally) and _pw_e to its one-line escaped form, or
// returns 1 past the last one.
func writeCommands(b *strings.Builder, spec *Spec) {
	b.WriteString("_pw_cmd() {\n\tcase $1:$2:$3 in\n")
	for _, p := range spec.Phases {
		for i, c := range p.Commands {
			fmt.Fprintf(b, "\t%s:c:%d) _pw_c=%s; _pw_e=%s ;;\n", p.Name, i, quote(c), quote(escapeField(c)))
		}
		for i, c := range p.Finally {
			fmt.Fprintf(b, "\t%s:f:%d) _pw_c=%s; _pw_e=%s ;;\n", p.Name, i, quote(c), quote(escapeField(c)))
		}
	}
	b.WriteString("\t*) return 1 ;;\n\tesac\n}\n")
}

// writeOnFailure defines _pw_onfail PHASE, which sets _pw_of.
func writeOnFailure(b *strings.Builder, spec *Spec) {
	b.WriteString("_pw_onfail() {\n\t_pw_of=ABORT\n")
	for _, p := range spec.Phases {
		if p.OnFailure == OnFailureContinue {
			fmt.Fprintf(b, "\t[ \"$1\" = %s ] && _pw_of=CONTINUE\n", p.Name)
		}
	}
	b.WriteString("\treturn 0\n}\n")
}

// writeSetEnv defines _pw_setenv, which exports the buildspec variables
// that no higher precedence protects.
func writeSetEnv(b *strings.Builder, spec *Spec, protected []string) {
	b.WriteString("_pw_setenv() {\n")
	for _, v := range spec.Env.Variables {
		if slices.Contains(protected, v.Name) {
			continue
		}
		// Names were checked by Parse; they are spliced in bare.
		fmt.Fprintf(b, "\t%s=%s\n\texport %s\n", v.Name, quote(v.Value), v.Name)
	}
	b.WriteString("\t:\n}\n")
}

// writeRefused defines _pw_refused PHASE, which sets _pw_why and _pw_ewhy
// to why that phase may not run, or returns 1 when it may.
func writeRefused(b *strings.Builder, refused map[string]string) {
	b.WriteString("_pw_refused() {\n\tcase $1 in\n")
	for _, name := range PhaseNames {
		if why, ok := refused[name]; ok {
			fmt.Fprintf(b, "\t%s) _pw_why=%s; _pw_ewhy=%s ;;\n", name, quote(why), quote(escapeField(why)))
		}
	}
	b.WriteString("\t*) return 1 ;;\n\tesac\n}\n")
}

// writeFound defines _pw_found, which logs the phases the YAML declares
// and who the commands run as.
func writeFound(b *strings.Builder, spec *Spec, user string) {
	b.WriteString("_pw_found() {\n")
	if user != "" {
		fmt.Fprintf(b, "\t_pw_log %s\n", quote("Running as user "+user))
	}
	fmt.Fprintf(b, "\t_pw_log %s\n", quote(fmt.Sprintf("Phases found in YAML: %d", len(spec.Phases))))
	for _, p := range spec.Phases {
		fmt.Fprintf(b, "\t_pw_log %s\n", quote(fmt.Sprintf(" %s: %d commands", p.Name, len(p.Commands))))
	}
	for _, n := range notApplied(spec) {
		fmt.Fprintf(b, "\t_pw_log %s\n", quote(n))
	}
	b.WriteString("}\n")
}

// notApplied says which of the spec's settings the build runs without:
// there is no image to select runtimes in.
func notApplied(spec *Spec) []string {
	var out []string
	for _, p := range spec.Phases {
		for _, rv := range p.RuntimeVersions {
			out = append(out, p.Name+": runtime-versions "+rv.Name+" "+rv.Value+" is not applied: builds run on the host, with its programs")
		}
	}
	return out
}

// writeExportVars defines _pw_exportvars, which writes the variables file.
func writeExportVars(b *strings.Builder, spec *Spec) {
	b.WriteString("_pw_exportvars() {\n\t: > \"$_pw_vf\" || return 1\n")
	for _, name := range spec.Env.ExportedVariables {
		fmt.Fprintf(b, "\tprintf '%%s=%%s\\0' %s \"${%s-}\" >> \"$_pw_vf\" || return 1\n", name, name)
	}
	b.WriteString("}\n")
}

// quote makes s one single-quoted shell word.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// absolute makes a path absolute against the caller's directory; a path
// that cannot be made so is kept as it is.
func absolute(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
