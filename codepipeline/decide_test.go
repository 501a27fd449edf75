package codepipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// fixture builds worlds for decide without any I/O.
type fixture struct {
	t     *testing.T
	now   time.Time
	ids   int
	def   *definition
	trans map[string]Transition
	execs []*Execution
	srs   map[string]*StageRun
	runs  map[string][]*ActionRun
	seq   int64
}

// twoStage is Source → Build(a1 order 1, a2 order 2) → Approve.
func newFixture(t *testing.T, mode string) *fixture {
	src := actionDef{name: "Src", runOrder: 1, kind: kindSource, typ: ActionTypeID{"Source", "AWS", "CodeCommit", "1"}, outputs: []outputDecl{{name: "code"}}}
	cmds := ActionTypeID{"Compute", "AWS", "Commands", "1"}
	b1 := actionDef{name: "B1", runOrder: 1, kind: kindCommands, typ: cmds, inputs: []string{"code"}}
	b2 := actionDef{name: "B2", runOrder: 1, kind: kindCommands, typ: cmds, inputs: []string{"code"}}
	b3 := actionDef{name: "B3", runOrder: 2, kind: kindCommands, typ: cmds, inputs: []string{"code"}}
	ap := actionDef{name: "Ok", runOrder: 1, kind: kindApproval, typ: ActionTypeID{"Approval", "AWS", "Manual", "1"}, timeoutMinutes: 5}
	d := &definition{version: 1, mode: mode, stages: []stageDef{
		{name: "Source", actions: []actionDef{src}},
		{name: "Build", actions: []actionDef{b1, b2, b3}},
		{name: "Approve", actions: []actionDef{ap}},
	}}
	for i := range d.stages {
		d.stages[i].computeGroups()
	}
	return &fixture{t: t, now: time.Unix(1_700_000_000, 0).UTC(), def: d, trans: map[string]Transition{}, srs: map[string]*StageRun{}, runs: map[string][]*ActionRun{}}
}

func (f *fixture) start() *Execution {
	f.seq++
	e := &Execution{ID: fmt.Sprintf("e%d", f.seq), Pipeline: "p", Seq: f.seq, PipelineVersion: f.def.version, Status: ExecutionInProgress,
		Mode: f.def.mode, Stage: 0, StageName: "Source", Waiting: true}
	f.execs = append(f.execs, e)
	return e
}

// reconcile runs decide over the active executions, as the engine does.
func (f *fixture) reconcile() *changes {
	var active []*Execution
	for _, e := range f.execs {
		if e.Status.Active() {
			active = append(active, e)
		}
	}
	w := &world{now: f.now, boot: "boot1", newID: func() string { f.ids++; return fmt.Sprintf("id%d", f.ids) },
		def: f.def, transitions: f.trans, execs: active, stageRuns: f.srs, runs: f.runs}
	c := decide(w)
	return c
}

// finish ends the execution's in-progress run of action with a status.
func (f *fixture) finish(e *Execution, action string, s ActionStatus) {
	f.t.Helper()
	for _, r := range f.runs[e.ID] {
		if r.Action == action && r.Status == ActionInProgress {
			r.Status = s
			if s == ActionSucceeded && action == "Src" {
				r.Output.OutputArtifacts = []ArtifactRef{{Name: "code", Bucket: "b", Key: "k"}}
			}
			return
		}
	}
	f.t.Fatalf("no in-progress run of %s in %s", action, e.ID)
}

func (f *fixture) status(e *Execution, action string) ActionStatus {
	var s ActionStatus
	for _, r := range f.runs[e.ID] {
		if r.Action == action {
			s = r.Status
		}
	}
	return s
}

func TestDecideRunsStagesAndRunOrders(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	e := f.start()
	c := f.reconcile()
	if e.Waiting || e.StageName != "Source" || f.status(e, "Src") != ActionInProgress {
		t.Fatalf("execution did not enter Source: %+v", e)
	}
	if len(c.effects) != 1 || c.effects[0].kind != effectStart {
		t.Fatalf("want one start effect, got %+v", c.effects)
	}
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	if e.StageName != "Build" || f.status(e, "B1") != ActionInProgress || f.status(e, "B2") != ActionInProgress || f.status(e, "B3") != "" {
		t.Fatalf("runOrder 1 of Build should run in parallel, runOrder 2 wait: B1=%s B2=%s B3=%s", f.status(e, "B1"), f.status(e, "B2"), f.status(e, "B3"))
	}
	if got := f.runs[e.ID][1].Input.InputArtifacts; len(got) != 1 || got[0].Key != "k" {
		t.Fatalf("input artifact not resolved: %+v", got)
	}
	f.finish(e, "B1", ActionSucceeded)
	f.reconcile()
	if f.status(e, "B3") != "" {
		t.Fatal("B3 started before all of runOrder 1 ended")
	}
	f.finish(e, "B2", ActionSucceeded)
	f.reconcile()
	if f.status(e, "B3") != ActionInProgress {
		t.Fatal("B3 did not start after runOrder 1 succeeded")
	}
	f.finish(e, "B3", ActionSucceeded)
	c = f.reconcile()
	if e.StageName != "Approve" || f.status(e, "Ok") != ActionInProgress || c.wakeAt.IsZero() {
		t.Fatalf("approval not waiting with a timer: %+v wake=%v", e, c.wakeAt)
	}
	f.finish(e, "Ok", ActionSucceeded)
	f.reconcile()
	if e.Status != ExecutionSucceeded || e.Reason != ReasonSucceeded {
		t.Fatalf("execution = %s, want Succeeded", e.Status)
	}
}

func TestDecideFailureWaitsForRunningActions(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	e := f.start()
	f.reconcile()
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	f.finish(e, "B1", ActionFailed)
	f.reconcile()
	if e.Status != ExecutionInProgress {
		t.Fatal("stage failed while B2 still ran")
	}
	f.finish(e, "B2", ActionSucceeded)
	f.reconcile()
	if e.Status != ExecutionFailed || f.srs[e.ID].Status != StageFailed || f.status(e, "B3") != "" {
		t.Fatalf("want Failed stage and execution without B3: exec=%s stage=%s B3=%s", e.Status, f.srs[e.ID].Status, f.status(e, "B3"))
	}
}

func TestDecideStop(t *testing.T) {
	cases := []struct {
		name       string
		mode       StopMode
		tagged     bool
		wantExec   ExecutionStatus
		wantStage  StageStatus
		wantAction ActionStatus
		stopJobs   int
		notes      int
	}{
		{"wait keeps running actions", StopWait, false, ExecutionStopping, StageStopping, ActionInProgress, 0, 0},
		{"abandon", StopAbandon, false, ExecutionStopped, StageStopped, ActionAbandoned, 0, 2},
		{"abandon with abandon-cancels-jobs", StopAbandon, true, ExecutionStopped, StageStopped, ActionAbandoned, 2, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "SUPERSEDED")
			e := f.start()
			f.reconcile()
			f.finish(e, "Src", ActionSucceeded)
			f.reconcile()
			e.Status, e.Stop = ExecutionStopping, &StopRequest{Mode: tc.mode, Reason: "why", CancelJobs: tc.tagged}
			c := f.reconcile()
			if e.Status != tc.wantExec || f.srs[e.ID].Status != tc.wantStage || f.status(e, "B1") != tc.wantAction {
				t.Fatalf("exec=%s stage=%s B1=%s", e.Status, f.srs[e.ID].Status, f.status(e, "B1"))
			}
			stops, notes := 0, 0
			for _, ef := range c.effects {
				switch ef.kind {
				case effectStopJob:
					stops++
				case effectNoteAbandoned:
					notes++
				}
				if !strings.Contains(ef.text, `(reason: "why")`) {
					t.Errorf("effect %v does not name the stop's reason: %q", ef.kind, ef.text)
				}
			}
			if stops != tc.stopJobs || notes != tc.notes {
				t.Fatalf("stop-job effects = %d, notes = %d; want %d, %d", stops, notes, tc.stopJobs, tc.notes)
			}
			if tc.mode == StopWait {
				f.finish(e, "B1", ActionSucceeded)
				f.reconcile()
				if e.Status != ExecutionStopping {
					t.Fatal("stopped while B2 still ran")
				}
				f.finish(e, "B2", ActionFailed)
				f.reconcile()
				if e.Status != ExecutionStopped || f.srs[e.ID].Status != StageStopped || f.status(e, "B3") != "" {
					t.Fatalf("after the last action: exec=%s stage=%s B3=%s", e.Status, f.srs[e.ID].Status, f.status(e, "B3"))
				}
			}
		})
	}
}

func TestDecideStopWaitingExecution(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	a := f.start()
	f.reconcile()
	b := f.start()
	f.reconcile()
	if !b.Waiting {
		t.Fatal("second execution should wait while the first holds Source")
	}
	b.Status, b.Stop = ExecutionStopping, &StopRequest{Mode: StopWait}
	f.reconcile()
	if b.Status != ExecutionStopped || f.srs[b.ID] != nil {
		t.Fatalf("a waiting execution stops without entering: %s", b.Status)
	}
	if a.Status != ExecutionInProgress {
		t.Fatal("the other execution was affected")
	}
}

func TestDecideModes(t *testing.T) {
	t.Run("SUPERSEDED replaces the waiting execution", func(t *testing.T) {
		f := newFixture(t, "SUPERSEDED")
		a := f.start()
		f.reconcile()
		b := f.start()
		f.reconcile()
		c := f.start()
		f.reconcile()
		if a.Status != ExecutionInProgress || b.Status != ExecutionSuperseded || c.Status != ExecutionInProgress || !c.Waiting {
			t.Fatalf("a=%s b=%s c=%s(waiting %v)", a.Status, b.Status, c.Status, c.Waiting)
		}
		f.finish(a, "Src", ActionSucceeded)
		f.reconcile()
		if c.Waiting || c.StageName != "Source" || a.StageName != "Build" {
			t.Fatalf("c should enter Source once a moved on: c=%+v", c)
		}
	})
	t.Run("QUEUED keeps every execution in order", func(t *testing.T) {
		f := newFixture(t, "QUEUED")
		a := f.start()
		f.reconcile()
		b := f.start()
		c := f.start()
		f.reconcile()
		if b.Status != ExecutionInProgress || c.Status != ExecutionInProgress || !b.Waiting || !c.Waiting {
			t.Fatal("queued executions must wait, not be superseded")
		}
		f.finish(a, "Src", ActionSucceeded)
		f.reconcile()
		if b.Waiting || !c.Waiting {
			t.Fatal("the older queued execution must enter first")
		}
	})
	t.Run("PARALLEL locks nothing", func(t *testing.T) {
		f := newFixture(t, "PARALLEL")
		a := f.start()
		b := f.start()
		f.reconcile()
		if a.Waiting || b.Waiting || f.status(a, "Src") != ActionInProgress || f.status(b, "Src") != ActionInProgress {
			t.Fatal("parallel executions must run side by side")
		}
	})
}

func TestDecideDisabledTransitionHolds(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	f.trans["Build"] = Transition{Enabled: false, Reason: "freeze"}
	e := f.start()
	f.reconcile()
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	if !e.Waiting || e.StageName != "Build" {
		t.Fatalf("execution should wait in front of Build: %+v", e)
	}
	f.trans["Build"] = Transition{Enabled: true}
	f.reconcile()
	if e.Waiting || f.status(e, "B1") != ActionInProgress {
		t.Fatal("execution should enter Build once enabled")
	}
}

func TestDecideCarriesOverWorkOfAnEarlierLife(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	e := f.start()
	f.reconcile()
	src := f.runs[e.ID][0]
	src.Boot = "an earlier life"
	c := f.reconcile()
	if src.Status != ActionInProgress || src.Boot != "boot1" {
		t.Fatalf("source run of an earlier life: %s boot=%s", src.Status, src.Boot)
	}
	if len(c.effects) != 1 || c.effects[0].kind != effectStart || c.effects[0].run != src {
		t.Fatalf("want the source action started again, got %+v", c.effects)
	}
	if c := f.reconcile(); len(c.effects) != 0 || !c.empty() {
		t.Fatalf("a second reconcile of this life repeats the carry-over: %+v", c.effects)
	}
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	for _, r := range f.runs[e.ID][1:] {
		r.Boot = "an earlier life"
	}
	c = f.reconcile()
	resumed := 0
	for _, ef := range c.effects {
		if ef.kind != effectResume || ef.run.Status != ActionInProgress || ef.run.Boot != "boot1" {
			t.Fatalf("job run of an earlier life: %+v", ef)
		}
		resumed++
	}
	if resumed != 2 || e.Status != ExecutionInProgress {
		t.Fatalf("resumed %d job runs, execution %s; want 2, InProgress", resumed, e.Status)
	}
}

func TestDecideTimesOutJobsAndApprovals(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	e := f.start()
	f.reconcile()
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	b1 := f.runs[e.ID][1]
	if b1.Deadline == nil || !b1.Deadline.Equal(f.now.Add(55*time.Minute)) {
		t.Fatalf("Commands deadline %v, want 55 minutes after %v", b1.Deadline, f.now)
	}
	f.now = f.now.Add(55 * time.Minute)
	c := f.reconcile()
	if b1.Status != ActionFailed || !strings.Contains(b1.ErrorMessage, "55 minutes") || e.Status != ExecutionFailed {
		t.Fatalf("timed-out Commands run: %s %q exec=%s", b1.Status, b1.ErrorMessage, e.Status)
	}
	stops := 0
	for _, ef := range c.effects {
		if ef.kind == effectStopJob {
			stops++
		}
	}
	if stops != 2 {
		t.Fatalf("want the work of both timed-out runs stopped, got %+v", c.effects)
	}

	f2 := newFixture(t, "SUPERSEDED")
	e2 := f2.start()
	f2.reconcile()
	f2.finish(e2, "Src", ActionSucceeded)
	f2.reconcile()
	for _, a := range []string{"B1", "B2"} {
		f2.finish(e2, a, ActionSucceeded)
	}
	f2.reconcile()
	f2.finish(e2, "B3", ActionSucceeded)
	f2.reconcile()
	f2.now = f2.now.Add(6 * time.Minute)
	f2.reconcile()
	if f2.status(e2, "Ok") != ActionFailed || e2.Status != ExecutionFailed {
		t.Fatalf("expired approval: %s exec=%s", f2.status(e2, "Ok"), e2.Status)
	}
}

func TestDecideRetryFailedActions(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	e := f.start()
	f.reconcile()
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	f.finish(e, "B1", ActionSucceeded)
	f.finish(e, "B2", ActionFailed)
	f.reconcile()
	if e.Status != ExecutionFailed {
		t.Fatal("want Failed")
	}
	// RetryStageExecution(FAILED_ACTIONS) as the API records it.
	sr := f.srs[e.ID]
	sr.Attempt++
	sr.Status = StageInProgress
	e.Status = ExecutionInProgress
	f.reconcile()
	n := 0
	for _, r := range f.runs[e.ID] {
		if r.Action == "B1" {
			n++
		}
	}
	if n != 1 || f.status(e, "B2") != ActionInProgress {
		t.Fatalf("FAILED_ACTIONS must re-run only B2: B1 runs=%d B2=%s", n, f.status(e, "B2"))
	}
	// ALL_ACTIONS re-runs everything.
	f.finish(e, "B2", ActionFailed)
	f.reconcile()
	sr.Attempt++
	sr.BaseAttempt = sr.Attempt
	sr.Status = StageInProgress
	e.Status = ExecutionInProgress
	f.reconcile()
	if f.status(e, "B1") != ActionInProgress || f.status(e, "B2") != ActionInProgress {
		t.Fatal("ALL_ACTIONS must re-run every action")
	}
}

func TestDecideOutdatedExecutionIsCancelled(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	e := f.start()
	f.reconcile()
	f.def.version = 2
	f.reconcile()
	if e.Status != ExecutionInProgress {
		t.Fatal("running actions finish before the execution is cancelled")
	}
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	if e.Status != ExecutionCancelled || f.srs[e.ID].Status != StageCancelled {
		t.Fatalf("want Cancelled, got %s", e.Status)
	}
}

func TestDecideStopRules(t *testing.T) {
	cases := []struct {
		status  ExecutionStatus
		current StopMode
		req     StopMode
		want    StopMode
		err     string
	}{
		{ExecutionInProgress, "", StopWait, StopWait, ""},
		{ExecutionInProgress, "", StopAbandon, StopAbandon, ""},
		{ExecutionStopping, StopWait, StopWait, "", excDuplicatedStopRequest},
		{ExecutionStopping, StopWait, StopAbandon, StopAbandon, ""},
		{ExecutionStopping, StopAbandon, StopAbandon, "", excDuplicatedStopRequest},
		{ExecutionStopping, StopAbandon, StopWait, "", excDuplicatedStopRequest},
		{ExecutionStopped, StopWait, StopWait, "", excPipelineExecutionNotStoppable},
		{ExecutionSucceeded, "", StopAbandon, "", excPipelineExecutionNotStoppable},
		{ExecutionFailed, "", StopWait, "", excPipelineExecutionNotStoppable},
		{ExecutionSuperseded, "", StopWait, "", excPipelineExecutionNotStoppable},
		{ExecutionCancelled, "", StopWait, "", excPipelineExecutionNotStoppable},
	}
	for _, tc := range cases {
		e := &Execution{ID: "x", Status: tc.status}
		if tc.current != "" {
			e.Stop = &StopRequest{Mode: tc.current}
		}
		got, err := decideStop(e, tc.req)
		code := ""
		if err != nil {
			code = err.(interface{ Error() string }).Error()
		}
		if got != tc.want || (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || !strings.Contains(code, tc.err))) {
			t.Errorf("%s/%s + %s: got %q, %v; want %q, %s", tc.status, tc.current, tc.req, got, err, tc.want, tc.err)
		}
	}
}

func TestDecideResolvesCommandsAndFailsOnUnknownVariables(t *testing.T) {
	f := newFixture(t, "SUPERSEDED")
	f.def.stages[1].actions[0].env = []envVar{{name: "V", value: "#{variables.Missing}"}}
	f.def.stages[1].actions[1].commands = []string{"echo #{codepipeline.PipelineExecutionId}"}
	f.def.stages[1].actions[1].env = []envVar{{name: "ID", value: "#{codepipeline.PipelineExecutionId}"}}
	e := f.start()
	f.reconcile()
	f.finish(e, "Src", ActionSucceeded)
	f.reconcile()
	var b1, b2 *ActionRun
	for _, r := range f.runs[e.ID] {
		switch r.Action {
		case "B1":
			b1 = r
		case "B2":
			b2 = r
		}
	}
	if b1 == nil || b1.Status != ActionFailed || b1.ErrorCode != errConfiguration || !strings.Contains(b1.ErrorMessage, "Missing") {
		t.Fatalf("unresolvable env: %+v", b1)
	}
	if b2 == nil || b2.Status != ActionInProgress {
		t.Fatalf("B2: %+v", b2)
	}
	if len(b2.Commands) != 1 || b2.Commands[0] != "echo "+e.ID || len(b2.Env) != 1 || b2.Env[0] != "ID="+e.ID {
		t.Fatalf("B2 not resolved: %q %q", b2.Commands, b2.Env)
	}
}
