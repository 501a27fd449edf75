package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
)

const (
	benchKey    = "AKIAPWBENCH000000001"
	benchSecret = "pwbench-secret-key-0123456789abcdefghijkl"
	region      = "us-east-1"
)

// serverProc is `pipewright serve` running as a child process.
type serverProc struct {
	cmd     *exec.Cmd
	addr    string // host:port
	url     string
	data    string
	logPath string
	exited  chan struct{}
	waitErr error
}

// freePort returns a loopback port nobody listens on right now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// startServer starts the binary on a free port over data and waits until it
// answers signed requests.
func startServer(ctx context.Context, bin, data, logPath string, extraEnv, extraFlags []string) (*serverProc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr, err := freePort()
		if err != nil {
			return nil, err
		}
		logf, err := os.Create(logPath)
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data", data, "--stop-grace", "2s"}, extraFlags...)...)
		cmd.Env = append(os.Environ(), "PIPEWRIGHT_ACCESS_KEY_ID="+benchKey, "PIPEWRIGHT_SECRET_ACCESS_KEY="+benchSecret)
		cmd.Env = append(cmd.Env, extraEnv...)
		cmd.Stdout, cmd.Stderr = logf, logf
		// Own process group (a Ctrl-C reaches pwbench, which shuts the server down
		// cleanly); SIGTERM if pwbench dies without doing so.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, err
		}
		logf.Close()
		sp := &serverProc{cmd: cmd, addr: addr, url: "http://" + addr, data: data, logPath: logPath, exited: make(chan struct{})}
		go func() { sp.waitErr = cmd.Wait(); close(sp.exited) }()
		client := newClient(sp.url)
		deadline := time.Now().Add(20 * time.Second)
		for {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := client.ListPipelines(cctx, &cp.ListPipelinesInput{})
			cancel()
			if err == nil {
				return sp, nil
			}
			lastErr = err
			select {
			case <-sp.exited:
				lastErr = fmt.Errorf("pipewright exited during start-up (%v); log %s:\n%s", sp.waitErr, logPath, tail(logPath, 20))
			case <-ctx.Done():
				sp.stop()
				return nil, ctx.Err()
			case <-time.After(20 * time.Millisecond):
				if time.Now().Before(deadline) {
					continue
				}
				sp.stop()
				return nil, fmt.Errorf("pipewright did not answer within 20s: %v; log %s:\n%s", err, logPath, tail(logPath, 20))
			}
			break
		}
		// The port was taken between freePort and the bind: try another.
		if !strings.Contains(tail(logPath, 5), "address already in use") {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// stop shuts the server down with SIGTERM (SIGKILL after 30s) and waits.
func (sp *serverProc) stop() error {
	select {
	case <-sp.exited:
		return nil
	default:
	}
	sp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-sp.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-sp.cmd.Process.Pid, syscall.SIGKILL)
		<-sp.exited
		return fmt.Errorf("pipewright did not shut down within 30s after SIGTERM; killed")
	}
	var ee *exec.ExitError
	if sp.waitErr != nil && !errors.As(sp.waitErr, &ee) {
		return sp.waitErr
	}
	if ee != nil {
		return fmt.Errorf("pipewright exited with %v; log %s", ee, sp.logPath)
	}
	return nil
}

func (sp *serverProc) pid() int { return sp.cmd.Process.Pid }

// rssKB returns VmRSS of the server process in kB.
func (sp *serverProc) rssKB() (int, error) { return procStatusKB(sp.pid(), "VmRSS") }

func procStatusKB(pid int, field string) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == field {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// threads returns the server's thread count (diagnostics).
func (sp *serverProc) threads() int {
	n, _ := procStatusKB(sp.pid(), "Threads")
	return n
}

func newClient(url string) *cp.Client {
	return cp.New(cp.Options{
		BaseEndpoint:     aws.String(url),
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider(benchKey, benchSecret, ""),
		RetryMaxAttempts: 1,
	})
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// gitRepo creates a git repository under root/name with files committed on
// branch main.
func gitRepo(root, name string, files map[string]string) error {
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for p, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "pwbench fixture"}} {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=pwbench", "GIT_AUTHOR_EMAIL=pwbench@example.com",
			"GIT_COMMITTER_NAME=pwbench", "GIT_COMMITTER_EMAIL=pwbench@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+root)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v\n%s", args, err, out)
		}
	}
	return nil
}

// cpuBusy returns the share of all CPUs that was busy over d, from /proc/stat.
func cpuBusy(ctx context.Context, d time.Duration) (float64, error) {
	read := func() (busy, total uint64, err error) {
		b, err := os.ReadFile("/proc/stat")
		if err != nil {
			return 0, 0, err
		}
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		if len(f) < 5 || f[0] != "cpu" {
			return 0, 0, fmt.Errorf("unexpected /proc/stat: %q", line)
		}
		for i, v := range f[1:] {
			n, _ := strconv.ParseUint(v, 10, 64)
			if i >= 8 { // guest time is already counted in user
				break
			}
			total += n
			if i != 3 && i != 4 { // idle, iowait
				busy += n
			}
		}
		return busy, total, nil
	}
	b0, t0, err := read()
	if err != nil {
		return 0, err
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	b1, t1, err := read()
	if err != nil {
		return 0, err
	}
	if t1 == t0 {
		return 0, nil
	}
	return float64(b1-b0) / float64(t1-t0), nil
}

// waitQuiet waits up to max for the machine's CPUs to be mostly idle (other
// engineers' builds and tests skew latencies), and returns the last reading.
func waitQuiet(ctx context.Context, max time.Duration) (float64, error) {
	deadline := time.Now().Add(max)
	for {
		busy, err := cpuBusy(ctx, 2*time.Second)
		if err != nil {
			return 0, err
		}
		if busy <= 0.15 || time.Now().After(deadline) {
			if busy > 0.15 {
				logf("WARNING: other processes keep the CPUs %.0f%% busy; the figures will be skewed", busy*100)
			} else {
				logf("CPUs %.0f%% busy before start", busy*100)
			}
			return busy, nil
		}
		logf("other processes keep the CPUs %.0f%% busy; waiting for quiet (up to %v)", busy*100, time.Until(deadline).Round(time.Second))
	}
}

// cpuTime returns the user+system CPU time the server process used so far.
func (sp *serverProc) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sp.pid()))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", sp.pid())
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", sp.pid())
	}
	// Fields 14 and 15 of stat (utime, stime) in clock ticks; USER_HZ is
	// 100 on Linux.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", sp.pid())
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}
