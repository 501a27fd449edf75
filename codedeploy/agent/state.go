package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pipewright/pipewright/codedeploy/hostcmd"
)

// What the agent keeps under its deployment root: per group and
// deployment, the bundle, the extracted archive and the scripts' log;
// deployment-instructions, the group's last successful and most recent
// install and what the last install made; ongoing-events, the event being
// carried out; pending-reports, the ends not yet delivered.

func (a *Agent) instructions() string { return filepath.Join(a.dir, "deployment-instructions") }
func (a *Agent) ongoing() string      { return filepath.Join(a.dir, "ongoing-events") }
func (a *Agent) pending() string      { return filepath.Join(a.dir, "pending-reports") }

func (a *Agent) deploymentDir(s *spec) string {
	return filepath.Join(a.dir, s.DeploymentGroupID, s.DeploymentID)
}

// lastSuccessful is the deployment directory of the group's last install,
// or "" when it has none.
func (a *Agent) lastSuccessful(group string) string {
	b, err := os.ReadFile(filepath.Join(a.instructions(), group+"_last_successful_install"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// setInstruction writes one of the group's instruction files.
func (a *Agent) setInstruction(name, value string) error {
	return writeAtomic(filepath.Join(a.instructions(), name), []byte(value+"\n"))
}

// writeAtomic replaces p with b: a crash leaves the old or the new.
func writeAtomic(p string, b []byte) error {
	tmp := p + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// tokenFile names a command's files by a digest of its token.
func tokenFile(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:12]) + ".json"
}

// tracking is what the agent records while an event runs.
type tracking struct {
	Token string `json:"token"`
	// Pgid is the running script's process group (0 between scripts),
	// Started its leader's start time in clock ticks since boot.
	Pgid    int    `json:"pgid,omitempty"`
	Started uint64 `json:"started,omitempty"`
}

func (a *Agent) track(t tracking) error {
	b, _ := json.Marshal(t)
	return writeAtomic(filepath.Join(a.ongoing(), tokenFile(t.Token)), b)
}

func (a *Agent) untrack(token string) {
	_ = os.Remove(filepath.Join(a.ongoing(), tokenFile(token)))
}

// report is an event's end, as PutHostCommandComplete carries it.
type report struct {
	Token       string `json:"token"`
	Status      string `json:"status"`
	Diagnostics string `json:"diagnostics"`
	// Seq orders reports kept on disk.
	Seq int64 `json:"seq"`
}

// complete delivers the report, retrying while the server cannot be
// reached; kept on disk first, it is delivered after a restart of the
// agent too.
func (a *Agent) complete(ctx context.Context, r report) {
	r.Seq = time.Now().UnixNano()
	p := filepath.Join(a.pending(), tokenFile(r.Token))
	b, _ := json.Marshal(r)
	if err := writeAtomic(p, b); err != nil {
		a.log.Error("agent: keeping a report", "err", err)
	}
	back := newBackoff()
	for {
		err := a.send(ctx, r)
		if err == nil || permanent(err) {
			if err != nil {
				a.log.Warn("agent: the server refused a report", "err", err)
			}
			_ = os.Remove(p)
			return
		}
		a.log.Warn("agent: delivering a report", "err", err)
		if !back.wait(ctx) {
			return
		}
	}
}

func (a *Agent) send(ctx context.Context, r report) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	format := "JSON"
	return a.c.commands(ctx, "PutHostCommandComplete", hostcmd.PutHostCommandCompleteInput{
		HostCommandIdentifier: &r.Token, CommandStatus: &r.Status,
		Diagnostics: &hostcmd.Envelope{Format: &format, Payload: &r.Diagnostics}}, nil)
}

// deliverPending sends the reports kept on disk, oldest first.
func (a *Agent) deliverPending(ctx context.Context) error {
	entries, err := os.ReadDir(a.pending())
	if err != nil {
		return err
	}
	var rs []report
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(a.pending(), e.Name()))
		var r report
		if err != nil || json.Unmarshal(b, &r) != nil {
			_ = os.Remove(filepath.Join(a.pending(), e.Name()))
			continue
		}
		rs = append(rs, r)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Seq < rs[j].Seq })
	for _, r := range rs {
		err := a.send(ctx, r)
		if err != nil && !permanent(err) {
			return err
		}
		_ = os.Remove(filepath.Join(a.pending(), tokenFile(r.Token)))
	}
	return nil
}

// recover fails the events that were running when the agent died, as AWS's
// agent does (error code 7), after killing what their scripts left.
func (a *Agent) recover(ctx context.Context) {
	entries, _ := os.ReadDir(a.ongoing())
	for _, e := range entries {
		p := filepath.Join(a.ongoing(), e.Name())
		b, err := os.ReadFile(p)
		var t tracking
		if err != nil || json.Unmarshal(b, &t) != nil || t.Token == "" {
			_ = os.Remove(p)
			continue
		}
		// The group is the script's when its leader is the process
		// recorded, or is gone: a pid is not given out while a process
		// group of that number has members.
		if st := startTime(t.Pgid); t.Pgid > 0 && (st == t.Started || st == 0) {
			_ = syscall.Kill(-t.Pgid, syscall.SIGKILL)
		}
		if _, err := os.Stat(filepath.Join(a.pending(), tokenFile(t.Token))); err != nil {
			a.complete(ctx, report{Token: t.Token, Status: hostcmd.StatusFailed,
				Diagnostics: diagnostics(codeAfterRestart, "", "Failed: Failing in-progress lifecycle event after an agent restart.", "")})
		}
		_ = os.Remove(p)
	}
}

// startTime is the start time of process pid (field 22 of its stat), 0
// when there is no such process.
func startTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// diagnostics is the JSON of an event's diagnostics.
func diagnostics(code int, script, msg, log string) string {
	b, _ := json.Marshal(map[string]any{"error_code": code, "script_name": script, "message": msg, "log": log})
	return string(b)
}
