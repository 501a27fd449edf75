package codepipeline

// before remembers the statuses of the records a decision may change, so
// that the state changes it made can be logged after its commit.
type before struct {
	execs  map[*Execution]ExecutionStatus
	stages map[*StageRun]StageStatus
	runs   map[*ActionRun]ActionStatus
}

func snapshot(w *world) before {
	b := before{execs: map[*Execution]ExecutionStatus{}, stages: map[*StageRun]StageStatus{}, runs: map[*ActionRun]ActionStatus{}}
	for _, e := range w.execs {
		b.execs[e] = e.Status
		for _, r := range w.runs[e.ID] {
			b.runs[r] = r.Status
		}
	}
	for _, sr := range w.stageRuns {
		if sr != nil {
			b.stages[sr] = sr.Status
		}
	}
	return b
}

// logChanges writes one structured line per status a committed decision
// changed, with the reason where there is one.
func (s *Service) logChanges(b before, c *changes) {
	for _, r := range c.runs {
		if from, ok := b.runs[r]; ok && from != r.Status {
			s.logAction(r, from)
		}
	}
	for _, sr := range c.stageRuns {
		if from, ok := b.stages[sr]; ok && from != sr.Status {
			s.logStage(sr, from)
		}
	}
	for _, sr := range c.newStageRuns {
		s.logStage(sr, "")
	}
	for _, r := range c.newRuns {
		s.logAction(r, "")
	}
	for _, e := range c.execs {
		if from, ok := b.execs[e]; ok && from != e.Status {
			s.logExecution(e, from)
		}
	}
}

// logExecution logs an execution's new status.
func (s *Service) logExecution(e *Execution, from ExecutionStatus) {
	attrs := []any{"pipeline", e.Pipeline, "pipelineExecutionId", e.ID, "status", e.Status}
	if from != "" {
		attrs = append(attrs, "from", from)
	} else {
		attrs = append(attrs, "trigger", e.TriggerType)
	}
	if e.Reason != ReasonNone {
		attrs = append(attrs, "reason", e.Reason)
	}
	if e.Summary != "" {
		attrs = append(attrs, "summary", e.Summary)
	}
	if e.Stop != nil && e.Status == ExecutionStopping {
		attrs = append(attrs, "stopMode", e.Stop.Mode, "stopReason", e.Stop.Reason, "stoppedBy", e.Stop.By)
	}
	s.log.Info("execution", attrs...)
}

func (s *Service) logStage(sr *StageRun, from StageStatus) {
	attrs := []any{"pipeline", sr.Pipeline, "pipelineExecutionId", sr.ExecutionID, "stage", sr.Stage, "status", sr.Status}
	if from != "" {
		attrs = append(attrs, "from", from)
	}
	s.log.Info("stage", attrs...)
}

func (s *Service) logAction(r *ActionRun, from ActionStatus) {
	attrs := []any{"pipeline", r.Pipeline, "pipelineExecutionId", r.ExecutionID, "stage", r.Stage, "action", r.Action,
		"actionExecutionId", r.ID, "status", r.Status}
	if from != "" {
		attrs = append(attrs, "from", from)
	}
	if r.ErrorCode != "" {
		attrs = append(attrs, "errorCode", r.ErrorCode, "reason", r.ErrorMessage)
	} else if r.Summary != "" && r.Status != ActionInProgress {
		attrs = append(attrs, "reason", r.Summary)
	}
	if r.ExternalID != "" {
		attrs = append(attrs, "externalExecutionId", r.ExternalID)
	}
	s.log.Info("action", attrs...)
}
