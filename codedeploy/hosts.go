package codedeploy

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/pipewright/pipewright/codedeploy/hostcmd"
	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// DefaultEventTimeout bounds a lifecycle event from the moment it is
// handed to a host until the host reports its end: AWS's longest hook
// timeout (3600 s) and five minutes for the bundle's download and the
// agent's own work. A host that does not report by then fails the event.
const DefaultEventTimeout = 65 * time.Minute

// Identify is hostcmd's Config.Identify: a HostIdentifier is the IAM user
// or session ARN of a registered on-premises instance.
func (s *Service) Identify(ctx context.Context, id string, c wire.Caller) (hostcmd.Host, error) {
	var found bool
	err := s.view(ctx, func(tx Tx) error {
		all, err := loadAll[instance](tx, KindInstance, "")
		for _, i := range all {
			if i.registered() && (i.GetIamUserArn() == id || i.GetIamSessionArn() == id) {
				found = true
			}
		}
		return err
	})
	if err != nil {
		return hostcmd.Host{}, err
	}
	if !found {
		return hostcmd.Host{}, hostcmd.ErrUnknownHost
	}
	return hostcmd.Host{Identifier: id, AccessKeyID: c.AccessKeyID}, nil
}

// Commands returns the hostcmd.Commands over the service's deployments.
func (s *Service) Commands() hostcmd.Commands { return hosts{s} }

type hosts struct{ s *Service }

// changed wakes the polls that wait for a command.
func (s *Service) changed() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *Service) woken() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// Poll hands the host the next lifecycle event of an active deployment it
// is an instance of, waiting for one until ctx ends.
func (h hosts) Poll(ctx context.Context, host hostcmd.Host) (*hostcmd.Command, error) {
	for {
		wake := h.s.woken()
		c, err := h.s.poll(ctx, host.Identifier)
		if err != nil || c != nil {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-wake:
		case <-time.After(time.Second):
		}
	}
}

// poll hands the host the next event of the active deployment it is in
// the middle of, else of the oldest one that has an event for it: a host
// runs one deployment, and one event, at a time.
func (s *Service) poll(ctx context.Context, iamArn string) (*hostcmd.Command, error) {
	// A read first: most polls find nothing, and take no write lock.
	var ready []string
	err := s.view(ctx, func(tx Tx) error {
		rs, err := tx.List(KindActive, "")
		if err != nil {
			return err
		}
		var ds []*deployment
		for _, r := range rs {
			d, _, err := getDeployment(tx, r.Name)
			if err != nil {
				return err
			}
			ds = append(ds, d)
		}
		slices.SortStableFunc(ds, func(a, b *deployment) int { return a.CreateTime.Time().Compare(b.CreateTime.Time()) })
		for _, d := range ds {
			t := d.targetOfHost(iamArn)
			if t == nil {
				continue
			}
			busy := t.Status == shape.InstanceStatusInProgress
			if d.next(t, s.cfg.Region, s.now()) != nil {
				if busy {
					ready = []string{d.GetDeploymentId()}
					return nil
				}
				ready = append(ready, d.GetDeploymentId())
			} else if busy {
				ready = nil
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ready {
		var found *command
		err := s.update(ctx, func(tx Tx) error {
			d, r, err := getDeployment(tx, id)
			if err != nil {
				return err
			}
			t := d.targetOfHost(iamArn)
			if t == nil {
				return nil
			}
			found = d.next(t, s.cfg.Region, s.now())
			if found == nil {
				return nil
			}
			return save(tx, r, d)
		})
		if err != nil && !isCode(err, excDeploymentDoesNotExist) {
			return nil, err
		}
		if found != nil {
			s.changed()
			return &hostcmd.Command{Token: found.Token, ExecutionID: found.ExecutionID, Name: found.Name, Nonce: found.Nonce}, nil
		}
	}
	return nil, nil
}

// onCommand runs fn on the deployment and target a token names, in one
// write transaction; fn's ended result removes the active marker.
func (s *Service) onCommand(ctx context.Context, token string, fn func(d *deployment, t *target, ev int) error) error {
	id, inst, ev, ok := parseToken(token)
	if !ok {
		return hostcmd.ErrUnknownCommand
	}
	var ended bool
	err := s.update(ctx, func(tx Tx) error {
		d, r, err := getDeployment(tx, id)
		if isCode(err, excDeploymentDoesNotExist) {
			return hostcmd.ErrUnknownCommand
		}
		if err != nil {
			return err
		}
		t := d.target(inst)
		if t == nil {
			return hostcmd.ErrUnknownCommand
		}
		if err := fn(d, t, ev); err != nil {
			return err
		}
		ended = d.settle(s.now())
		return s.saveDeployment(tx, r, d, ended)
	})
	if err == nil {
		s.changed()
	}
	return err
}

// errNoChange ends onCommand's transaction without a write.
var errNoChange = errors.New("no change")

// Acknowledge answers InProgress for the host's outstanding command, and
// Failed for one the deployment no longer wants (it was stopped, or its
// health constraints failed, after the command was handed out): that
// event is Skipped.
func (h hosts) Acknowledge(ctx context.Context, _ hostcmd.Host, token string, _ *hostcmd.Envelope) (string, error) {
	status := string(shape.LifecycleEventStatusInProgress)
	err := h.s.onCommand(ctx, token, func(d *deployment, t *target, ev int) error {
		if t.Command != token {
			status = string(t.Events[ev].GetStatus())
			if status == string(shape.LifecycleEventStatusSkipped) {
				status = string(shape.LifecycleEventStatusFailed)
			}
			return errNoChange
		}
		if !d.Stop && !d.Failing {
			return errNoChange
		}
		status = string(shape.LifecycleEventStatusFailed)
		d.finishEvent(t, ev, shape.LifecycleEventStatusSkipped, nil, h.s.now())
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return status, err
}

// Specification answers the deployment specification the agent reads
// (deployment_specification.rb) for an execution of the host. It carries
// no AllPossibleLifecycleEvents: AWS's agent 1.8.1, given them, checks the
// appspec's hooks with a constant of its local deployer that the agent
// does not load, and fails Install; without them it takes the appspec's
// hooks as they are.
func (h hosts) Specification(ctx context.Context, host hostcmd.Host, exec string) ([]byte, error) {
	id, ok := executionDeployment(exec)
	if !ok {
		return nil, hostcmd.ErrUnknownDeployment
	}
	var d *deployment
	err := h.s.view(ctx, func(tx Tx) (err error) {
		d, _, err = getDeployment(tx, id)
		return err
	})
	if isCode(err, excDeploymentDoesNotExist) || err == nil && d.targetOfHost(host.Identifier) == nil {
		return nil, hostcmd.ErrUnknownDeployment
	}
	if err != nil {
		return nil, err
	}
	l := d.Revision.S3Location
	rev := map[string]string{"Bucket": l.GetBucket(), "Key": l.GetKey(), "BundleType": string(l.GetBundleType())}
	if l.GetETag() != "" {
		rev["ETag"] = l.GetETag()
	}
	if l.GetVersion() != "" {
		rev["Version"] = l.GetVersion()
	}
	return json.Marshal(map[string]any{
		"DeploymentId": id, "DeploymentGroupId": d.GroupID, "DeploymentGroupName": d.GetDeploymentGroupName(),
		"ApplicationName": d.GetApplicationName(), "DeploymentCreator": string(d.GetCreator()), "DeploymentType": "IN_PLACE",
		"AppSpecFilename": "appspec.yml",
		"Revision":        map[string]any{"RevisionType": "S3", "S3Revision": rev},
		"AgentActionOverrides": map[string]any{"AgentOverrides": map[string]string{
			"FileExistsBehavior": string(d.GetFileExistsBehavior())}},
	})
}

// Complete records the end of the host's outstanding command. A report of
// a command already ended (an agent repeating itself after a restart) is
// taken and changes nothing.
func (h hosts) Complete(ctx context.Context, _ hostcmd.Host, token, status string, env *hostcmd.Envelope) error {
	err := h.s.onCommand(ctx, token, func(d *deployment, t *target, ev int) error {
		if t.Command != token {
			return errNoChange
		}
		st := shape.LifecycleEventStatusFailed
		if status == string(shape.LifecycleEventStatusSucceeded) {
			st = shape.LifecycleEventStatusSucceeded
		}
		var diag *shape.Diagnostics
		if dg, ok := hostcmd.ParseDiagnostics(env); ok {
			diag = &shape.Diagnostics{ErrorCode: new(lifecycleErrorCode(dg.ErrorCode)), ScriptName: new(dg.ScriptName),
				Message: new(dg.Message), LogTail: new(dg.Log)}
		}
		d.finishEvent(t, ev, st, diag, h.s.now())
		return nil
	})
	if errors.Is(err, errNoChange) {
		err = nil
	}
	return err
}

// TagStopTerminatesHooks is the deployment group tag (value "true", in
// any case) with which a StopDeployment terminates the hooks running on
// pipewright's agents instead of letting them finish.
const TagStopTerminatesHooks = "pipewright:stop-terminates-hooks"

// stopTerminatesHooks reports whether the deployment group is tagged
// pipewright:stop-terminates-hooks = true; a group that no longer exists
// is not.
func stopTerminatesHooks(tx Tx, app, name string) (bool, error) {
	var g group
	_, ok, err := load(tx, groupKey(app, name), &g)
	if err != nil || !ok {
		return false, err
	}
	for _, t := range g.Tags {
		if t.GetKey() == TagStopTerminatesHooks && strings.EqualFold(t.GetValue(), "true") {
			return true, nil
		}
	}
	return false, nil
}

// Update answers a running command's status, holding it while it is
// InProgress until ctx ends: Failed for the host's outstanding command
// once its deployment is stopped with TerminateHooks, InProgress while it
// is outstanding otherwise (a stop lets running events finish), else the
// event's recorded end (Skipped answered as Failed). It changes nothing.
func (h hosts) Update(ctx context.Context, _ hostcmd.Host, token string, _ time.Time, _ *hostcmd.Envelope) (string, error) {
	// The reads outlive ctx: a hold that ends still answers what it read.
	read := context.WithoutCancel(ctx)
	for {
		wake := h.s.woken()
		status, err := h.s.commandStatus(read, token)
		if err != nil || status != hostcmd.StatusInProgress {
			return status, err
		}
		select {
		case <-ctx.Done():
			return status, nil
		case <-wake:
		case <-time.After(time.Second):
		}
	}
}

// commandStatus is what Update answers for token now.
func (s *Service) commandStatus(ctx context.Context, token string) (string, error) {
	id, inst, ev, ok := parseToken(token)
	if !ok {
		return "", hostcmd.ErrUnknownCommand
	}
	var d *deployment
	err := s.view(ctx, func(tx Tx) (err error) {
		d, _, err = getDeployment(tx, id)
		return err
	})
	if isCode(err, excDeploymentDoesNotExist) {
		return "", hostcmd.ErrUnknownCommand
	}
	if err != nil {
		return "", err
	}
	t := d.target(inst)
	switch {
	case t == nil:
		return "", hostcmd.ErrUnknownCommand
	case t.Command == token && d.Stop && d.TerminateHooks:
		return hostcmd.StatusFailed, nil
	case t.Command == token:
		return hostcmd.StatusInProgress, nil
	}
	if st := t.Events[ev].GetStatus(); st != shape.LifecycleEventStatusSkipped {
		return string(st), nil
	}
	return hostcmd.StatusFailed, nil
}

// sweep fails the events whose hosts did not report within the event
// timeout.
func (s *Service) sweep(ctx context.Context) error {
	var ids []string
	err := s.view(ctx, func(tx Tx) error {
		rs, err := tx.List(KindActive, "")
		for _, r := range rs {
			ids = append(ids, r.Name)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		var changed bool
		err := s.update(ctx, func(tx Tx) error {
			d, r, err := getDeployment(tx, id)
			if err != nil {
				return err
			}
			now := s.now()
			changed = false
			for _, t := range d.Targets {
				if t.Command == "" || now.Sub(t.Since.Time()) < s.cfg.EventTimeout {
					continue
				}
				_, _, ev, _ := parseToken(t.Command)
				msg := "The host did not report the end of the lifecycle event within " + s.cfg.EventTimeout.String() + ": its agent may have stopped polling"
				t.TimedOut = true
				d.finishEvent(t, ev, shape.LifecycleEventStatusFailed, &shape.Diagnostics{ErrorCode: new(shape.LifecycleErrorCodeUnknownError),
					ScriptName: new(""), Message: &msg, LogTail: new("")}, now)
				changed = true
			}
			if !changed {
				return nil
			}
			return s.saveDeployment(tx, r, d, d.settle(now))
		})
		if err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
		if changed {
			s.changed()
		}
	}
	return nil
}

// Start runs the sweeper until Close: every second it fails the events
// whose hosts stopped reporting.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.swept.Add(1)
	go func() {
		defer s.swept.Done()
		tick := time.NewTicker(s.cfg.SweepEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("codedeploy: sweeping deployments", "err", err)
				}
			}
		}
	}()
}

// Close stops the sweeper and waits for it.
func (s *Service) Close() {
	if s.stop != nil {
		s.stop()
	}
	s.swept.Wait()
}
