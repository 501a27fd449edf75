package codepipeline

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/runner"
)

// workspace is the directory a job action works in; startJob removes it
// once the action's result is recorded.
func (s *Service) workspace(r *ActionRun) string { return filepath.Join(s.cfg.WorkDir, r.ID) }

// runCommands carries out Compute/AWS/Commands: a fresh workspace holds the
// input artifacts (the first at CODEBUILD_SRC_DIR, the others at
// CODEBUILD_SRC_DIR_<name>), the commands run in one shell session there,
// the output artifacts collect the declared files, and the output is kept as
// the action's log.
func (s *Service) runCommands(ctx context.Context, r *ActionRun, a *actionDef, bucket string) jobResult {
	ws := s.workspace(r)
	env := baseEnv()
	var primary string
	for i, in := range r.Input.InputArtifacts {
		dir := filepath.Join(ws, "src")
		if i > 0 {
			dir = filepath.Join(ws, "src_"+in.Name)
		}
		path, err := s.artifactPath(in)
		if err != nil {
			return failed(errJobFailed, fmt.Sprintf("Input artifact '%s' is missing: %v", in.Name, err))
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return failed(errJobFailed, err.Error())
		}
		if _, err := artifacts.Unzip(path, dir); err != nil {
			return failed(errJobFailed, fmt.Sprintf("Could not extract input artifact '%s': %v", in.Name, err))
		}
		if i == 0 {
			primary = dir
			env = append(env, "CODEBUILD_SRC_DIR="+dir)
		} else {
			env = append(env, "CODEBUILD_SRC_DIR_"+in.Name+"="+dir)
		}
	}
	home := filepath.Join(ws, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return failed(errJobFailed, err.Error())
	}
	env = append(env, "HOME="+home, "CODEPIPELINE_EXECUTION_ID="+r.ExecutionID, "CODEPIPELINE_ACTION_EXECUTION_ID="+r.ID)

	env = append(env, r.Env...)
	var script strings.Builder
	for _, c := range r.Commands {
		script.WriteString(c)
		script.WriteByte('\n')
	}
	varsFile := filepath.Join(ws, "variables")
	if len(a.outputVariables) > 0 {
		script.WriteString(exportTrailer(a.outputVariables, varsFile))
	}

	logPath := filepath.Join(s.cfg.LogDir, r.ID+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return failed(errJobFailed, err.Error())
	}
	defer logFile.Close()
	lw := &lineLog{w: bufio.NewWriter(logFile)}

	if ctx.Err() != nil {
		return failed(errJobFailed, "The action was stopped before its commands started.")
	}
	if err := s.cfg.Runner.HandOver(ws); err != nil {
		return failed(errJobFailed, "Could not prepare the workspace: "+err.Error())
	}
	proc, err := s.cfg.Runner.Start(runner.Spec{
		ID: r.ID, Script: script.String(), Dir: primary, Env: env, OnLine: lw.add,
		Isolation: runner.Isolation{Hide: s.cfg.Hide, Keep: []string{ws}},
	})
	if err != nil {
		return failed(errJobFailed, "Could not start the commands: "+err.Error())
	}
	if !s.jobs.setProcess(r.ID, proc) {
		proc.Terminate(s.cfg.StopGrace)
	}
	go s.recordHandle(r.ID, proc)
	res := proc.Wait()
	lw.flush()

	out := jobResult{logPath: logPath}
	if res.Err != nil || res.ExitCode != 0 || res.Terminated || res.Signal != "" {
		out.status, out.errCode = ActionFailed, errJobFailed
		switch {
		case res.Terminated:
			out.errMsg = "The action's process tree was terminated."
		case res.Err != nil:
			out.errMsg = "The commands could not run: " + res.Err.Error()
		case res.Signal != "":
			out.errMsg = fmt.Sprintf("The commands were killed by signal %s.", res.Signal)
		default:
			out.errMsg = fmt.Sprintf("Command did not exit successfully: exit status %d.%s", res.ExitCode, lw.tail())
		}
		return out
	}
	if len(a.outputVariables) > 0 {
		out.vars = readExported(varsFile)
	}
	for _, o := range a.outputs {
		ref, n, err := s.zipOutput(bucket, r, o, primary)
		if err != nil {
			return failed(errJobFailed, fmt.Sprintf("Could not collect output artifact '%s': %v", o.name, err))
		}
		if n == 0 {
			return failed(errJobFailed, fmt.Sprintf("No files matched the paths of output artifact '%s': %s", o.name, strings.Join(o.files, ", ")))
		}
		out.outputs = append(out.outputs, ref)
	}
	out.status = ActionSucceeded
	return out
}

func (s *Service) zipOutput(bucket string, r *ActionRun, o outputDecl, dir string) (ArtifactRef, int, error) {
	var n int
	ref, err := s.storeArtifact(bucket, r, o.name, func(f *os.File) error {
		var err error
		n, err = artifacts.ZipDir(dir, o.files, f)
		return err
	})
	return ref, n, err
}

// baseEnv is the environment commands start from: enough to find programs,
// nothing of the server's own configuration or credentials.
func baseEnv() []string {
	env := []string{"LANG=C.UTF-8"}
	if p := os.Getenv("PATH"); p != "" {
		env = append(env, "PATH="+p)
	} else {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	return env
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// exportTrailer appends to the script the commands that save the values of
// the output variables once every command succeeded.
func exportTrailer(names []string, file string) string {
	var b strings.Builder
	b.WriteString("{ ")
	for _, n := range names {
		if varName.MatchString(n) {
			fmt.Fprintf(&b, `printf '%%s=%%s\0' %s "${%s-}"; `, n, n)
		}
	}
	fmt.Fprintf(&b, "} > '%s'\n", strings.ReplaceAll(file, "'", `'\''`))
	return b.String()
}

// readExported reads the variables the commands saved. The file is the
// commands' own: it is read only if it is a regular file, not through a
// symbolic link (which could name a file only the server may read), and
// without blocking on a named pipe.
func readExported(file string) map[string]string {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			out[k] = v
		}
	}
	return out
}

// lineLog writes a job's output lines to its log file, each with its time,
// and keeps the last lines for the failure message.
type lineLog struct {
	mu   sync.Mutex
	w    *bufio.Writer
	last []string
}

func (l *lineLog) add(line runner.Line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", line.Time.UTC().Format("2006-01-02T15:04:05.000Z"), line.Text)
	// Each line reaches the file at once, so a running action's log can be
	// followed.
	l.w.Flush()
	l.last = append(l.last, line.Text)
	if len(l.last) > 3 {
		l.last = l.last[1:]
	}
}

func (l *lineLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
}

func (l *lineLog) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.last) == 0 {
		return ""
	}
	t := strings.Join(l.last, " | ")
	if len(t) > 400 {
		t = t[len(t)-400:]
	}
	return " Last output: " + t
}
