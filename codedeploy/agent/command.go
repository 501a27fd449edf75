package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pipewright/pipewright/codedeploy/hostcmd"
)

// handle carries out one command: specification, acknowledgement, the
// event, and its report.
func (a *Agent) handle(ctx context.Context, c *hostcmd.HostCommandInstance) {
	token, name := *c.HostCommandIdentifier, *c.CommandName
	// Tracked from the start: an agent that dies from here on fails the
	// event when it starts again, instead of leaving it to the server's
	// event timeout.
	if err := a.track(tracking{Token: token}); err != nil {
		a.log.Error("agent: tracking an event", "err", err)
	}
	var s *spec
	err := a.retry(ctx, func() (err error) { s, err = a.specification(ctx, *c.DeploymentExecutionId); return err })
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("agent: deployment specification", "event", name, "err", err)
		a.complete(ctx, report{Token: token, Status: hostcmd.StatusFailed, Diagnostics: diagnostics(codeUnknown, "", err.Error(), "")})
		a.untrack(token)
		return
	}
	noop := a.noop(s, name)
	var status string
	err = a.retry(ctx, func() (err error) { status, err = a.acknowledge(ctx, token, noop); return err })
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("agent: acknowledging", "event", name, "err", err)
			a.untrack(token)
		}
		return
	}
	if status != hostcmd.StatusInProgress && status != hostcmd.StatusPending {
		if status == hostcmd.StatusFailed && noop {
			a.complete(ctx, report{Token: token, Status: hostcmd.StatusSucceeded, Diagnostics: diagnostics(codeSucceeded, "", "Succeeded: CompletedNoopCommand", "")})
		}
		a.untrack(token)
		return
	}
	a.log.Info("agent: lifecycle event", "deployment", s.DeploymentID, "event", name)
	evCtx, cancel := context.WithCancel(ctx)
	terminate := make(chan struct{})
	updates := make(chan struct{})
	go func() { defer close(updates); a.updates(evCtx, token, terminate) }()
	log := &scriptLog{}
	err = a.execute(ctx, s, name, log, terminate, token)
	cancel()
	<-updates
	if ctx.Err() != nil {
		return
	}
	r := report{Token: token, Status: hostcmd.StatusSucceeded, Diagnostics: diagnostics(codeSucceeded, "", "Succeeded", log.tail())}
	if err != nil {
		var ee *eventError
		if !errors.As(err, &ee) {
			ee = &eventError{Code: codeUnknown, Msg: err.Error()}
		}
		r = report{Token: token, Status: hostcmd.StatusFailed, Diagnostics: diagnostics(ee.Code, ee.Script, ee.Msg, log.tail())}
	}
	a.complete(ctx, r)
	a.untrack(token)
}

// retry runs f until it succeeds, fails for good (an answer that
// repeating will not change, or a specification that cannot be read), or
// ctx ends: a server restarting is waited for.
func (a *Agent) retry(ctx context.Context, f func() error) error {
	back := newBackoff()
	for {
		err := f()
		if err == nil || permanent(err) || isLocal(err) {
			return err
		}
		a.log.Warn("agent: retrying", "err", err)
		if !back.wait(ctx) {
			return err
		}
	}
}

// specification fetches and opens the execution's specification.
func (a *Agent) specification(ctx context.Context, exec string) (*spec, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out hostcmd.GetDeploymentSpecificationOutput
	err := a.c.commands(ctx, "GetDeploymentSpecification", hostcmd.GetDeploymentSpecificationInput{
		DeploymentExecutionId: &exec, HostIdentifier: &a.host}, &out)
	if err != nil {
		return nil, err
	}
	return parseSpec(&out)
}

// acknowledge says the command arrived, and answers whether to run it.
func (a *Agent) acknowledge(ctx context.Context, token string, noop bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	format, payload := "JSON", `{"IsCommandNoop":false}`
	if noop {
		payload = `{"IsCommandNoop":true}`
	}
	var out hostcmd.PutHostCommandAcknowledgementOutput
	err := a.c.commands(ctx, "PutHostCommandAcknowledgement", hostcmd.PutHostCommandAcknowledgementInput{
		HostCommandIdentifier: &token, Diagnostics: &hostcmd.Envelope{Format: &format, Payload: &payload}}, &out)
	if err != nil {
		return "", err
	}
	if out.CommandStatus == nil {
		return hostcmd.StatusInProgress, nil
	}
	return *out.CommandStatus, nil
}

// updates calls PostHostCommandUpdate while the event runs, at most once a
// second unless the server holds its answers, and closes terminate when
// the server answers Failed: the deployment was stopped in a group whose
// running scripts are to be terminated.
func (a *Agent) updates(ctx context.Context, token string, terminate chan<- struct{}) {
	for ctx.Err() == nil {
		began := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		var out hostcmd.PostHostCommandUpdateOutput
		err := a.c.commands(cctx, "PostHostCommandUpdate", hostcmd.PostHostCommandUpdateInput{HostCommandIdentifier: &token}, &out)
		cancel()
		if err == nil && out.CommandStatus != nil && *out.CommandStatus == hostcmd.StatusFailed {
			close(terminate)
			return
		}
		if wait := time.Second - time.Since(began); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// noop reports whether the event has nothing to do on this host: a hook
// without scripts.
func (a *Agent) noop(s *spec, event string) bool {
	if event == "DownloadBundle" || event == "Install" {
		return false
	}
	dir := a.hookDir(s, event)
	if dir == "" {
		return true
	}
	as, err := readAppSpec(filepath.Join(dir, "deployment-archive"), s.AppSpecFilename)
	return err == nil && len(as.Hooks[event]) == 0
}

// hookDir is the deployment directory whose scripts the event runs:
// ApplicationStop the group's last successful install's, the others the
// deployment's own; "" when there is none.
func (a *Agent) hookDir(s *spec, event string) string {
	if event == "ApplicationStop" {
		return a.lastSuccessful(s.DeploymentGroupID)
	}
	d := a.deploymentDir(s)
	if _, err := os.Stat(filepath.Join(d, "deployment-archive")); err != nil {
		return ""
	}
	return d
}

// execute carries out the event.
func (a *Agent) execute(ctx context.Context, s *spec, event string, log *scriptLog, terminate <-chan struct{}, token string) error {
	switch event {
	case "DownloadBundle":
		return a.downloadBundle(ctx, s)
	case "Install":
		return a.installRevision(s, log)
	}
	dir := a.hookDir(s, event)
	if dir == "" {
		if event == "ApplicationStop" {
			return nil
		}
		return &eventError{Code: codeUnknown, Msg: "The revision of deployment " + s.DeploymentID + " is not on this host: its DownloadBundle did not run here"}
	}
	archive := filepath.Join(dir, "deployment-archive")
	as, err := readAppSpec(archive, s.AppSpecFilename)
	if err != nil {
		return &eventError{Code: codeUnknown, Msg: err.Error()}
	}
	if len(as.Hooks[event]) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(a.deploymentDir(s), "logs"), 0o700); err == nil {
		if f, err := os.OpenFile(filepath.Join(a.deploymentDir(s), "logs", "scripts.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
			defer f.Close()
			log.file = f
		}
	}
	r := s.Revision.S3Revision
	h := &hookRun{archive: archive, scripts: as.Hooks[event], log: log, grace: a.cfg.StopGrace, terminate: terminate,
		env: []string{"LIFECYCLE_EVENT=" + event, "DEPLOYMENT_ID=" + s.DeploymentID, "APPLICATION_NAME=" + s.ApplicationName,
			"DEPLOYMENT_GROUP_NAME=" + s.DeploymentGroupName, "DEPLOYMENT_GROUP_ID=" + s.DeploymentGroupID,
			"BUNDLE_BUCKET=" + r.Bucket, "BUNDLE_KEY=" + r.Key, "BUNDLE_VERSION=" + r.Version, "BUNDLE_ETAG=" + r.ETag,
			"LANG=C.UTF-8", "SHELL=/bin/sh"},
		started: func(pgid int) {
			t := tracking{Token: token, Pgid: pgid}
			if pgid > 0 {
				t.Started = startTime(pgid)
			}
			_ = a.track(t)
		}}
	return h.run(ctx, event)
}

// downloadBundle fetches and extracts the revision, after removing the
// group's oldest revisions beyond MaxRevisions.
func (a *Agent) downloadBundle(ctx context.Context, s *spec) error {
	a.cleanupOld(s.DeploymentGroupID)
	d := a.deploymentDir(s)
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	kind := s.Revision.S3Revision.BundleType
	file := filepath.Join(d, "bundle."+kind)
	if err := a.download(ctx, s, file); err != nil {
		return &eventError{Code: codeUnknown, Msg: err.Error()}
	}
	if err := unpack(kind, file, filepath.Join(d, "deployment-archive")); err != nil {
		return &eventError{Code: codeUnknown, Msg: "The revision's bundle could not be extracted: " + err.Error()}
	}
	return a.setInstruction(s.DeploymentGroupID+"_most_recent_install", d)
}

// installRevision copies the revision's files, after removing what the
// group's last install made, and records the deployment as the group's
// last successful install.
func (a *Agent) installRevision(s *spec, log *scriptLog) error {
	d := a.deploymentDir(s)
	archive := filepath.Join(d, "deployment-archive")
	as, err := readAppSpec(archive, s.AppSpecFilename)
	if err != nil {
		return &eventError{Code: codeUnknown, Msg: err.Error()}
	}
	cleanup := filepath.Join(a.instructions(), s.DeploymentGroupID+"-cleanup")
	if err := uninstall(cleanup); err != nil {
		return &eventError{Code: codeUnknown, Msg: "The files of the last install could not be removed: " + err.Error()}
	}
	in := &installer{root: a.cfg.Root, archive: archive, behavior: s.AgentActionOverrides.AgentOverrides.FileExistsBehavior, log: log}
	err = in.install(as)
	if werr := in.writeCleanup(cleanup); err == nil {
		err = werr
	}
	if err != nil {
		return &eventError{Code: codeUnknown, Msg: err.Error()}
	}
	return a.setInstruction(s.DeploymentGroupID+"_last_successful_install", d)
}

// cleanupOld removes the group's oldest deployment directories so that at
// most MaxRevisions-1 remain before a new one is downloaded, never the
// last successful one.
func (a *Agent) cleanupOld(group string) {
	dir := filepath.Join(a.dir, group)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type rev struct {
		path string
		mod  time.Time
	}
	var revs []rev
	keep := a.lastSuccessful(group)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if fi, err := e.Info(); err == nil && e.IsDir() && p != keep {
			revs = append(revs, rev{p, fi.ModTime()})
		}
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].mod.Before(revs[j].mod) })
	for len(revs) > a.cfg.MaxRevisions-2 && len(revs) > 0 {
		_ = os.RemoveAll(revs[0].path)
		revs = revs[1:]
	}
}
