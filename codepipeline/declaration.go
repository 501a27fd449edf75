package codepipeline

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pipewright/pipewright/codepipeline/shape"
	"github.com/pipewright/pipewright/wire"
)

// Limits of a pipeline declaration, as AWS documents them.
const (
	maxStages          = 50
	maxActionsPerStage = 50
)

// checkDeclaration applies AWS's structural rules to a pipeline declaration
// that already passed the model's validation, and fills in the defaults
// (pipelineType V2, executionMode SUPERSEDED, runOrder 1, empty artifact
// lists). It returns the first rule broken as the exception AWS answers with.
func checkDeclaration(p *shape.PipelineDeclaration, region string) *wire.Error {
	fillArtifactLists(p)
	if p.PipelineType == nil {
		v := shape.PipelineTypeV2
		p.PipelineType = &v
	}
	if p.ExecutionMode == nil {
		v := shape.ExecutionModeSuperseded
		p.ExecutionMode = &v
	}
	v2 := p.GetPipelineType() == shape.PipelineTypeV2
	if p.ArtifactStore == nil && len(p.ArtifactStores) == 0 {
		return apiError(excInvalidStructure, "Pipeline must have either an artifactStore or artifactStores")
	}
	if p.ArtifactStore != nil && len(p.ArtifactStores) > 0 {
		return apiError(excInvalidStructure, "Pipeline cannot have both artifactStore and artifactStores")
	}
	if p.ArtifactStore == nil {
		if _, ok := p.ArtifactStores[region]; !ok {
			return apiError(excInvalidStructure, "Pipeline artifactStores must contain an artifact store for the pipeline's region '%s'", region)
		}
	}
	if !v2 {
		if p.GetExecutionMode() != shape.ExecutionModeSuperseded {
			return apiError(excInvalidStructure, "Execution mode %s is only supported for V2 pipelines", p.GetExecutionMode())
		}
		if len(p.Variables) > 0 {
			return apiError(excInvalidStructure, "Pipeline variables can only be used with V2 pipelines")
		}
		if len(p.Triggers) > 0 {
			return apiError(excInvalidStructure, "Triggers can only be used with V2 pipelines")
		}
	}
	seenVar := map[string]bool{}
	for _, v := range p.Variables {
		if seenVar[v.GetName()] {
			return apiError(excInvalidStructure, "Pipeline variable name '%s' is declared more than once", v.GetName())
		}
		seenVar[v.GetName()] = true
	}
	if n := len(p.Stages); n < 2 {
		return apiError(excInvalidStructure, "Pipeline has only %d stage(s). There should be a minimum of 2 stages in a pipeline", n)
	}
	if len(p.Stages) > maxStages {
		return apiError(excLimitExceeded, "Pipeline has %d stages; the maximum is %d", len(p.Stages), maxStages)
	}

	stageNames := map[string]bool{}
	produced := map[string]bool{}
	namespaces := map[string]bool{}
	for si := range p.Stages {
		st := &p.Stages[si]
		if stageNames[st.GetName()] {
			return apiError(excInvalidStructure, "Pipeline has more than one stage named '%s'. Stage names must be unique", st.GetName())
		}
		stageNames[st.GetName()] = true
		if len(st.Actions) == 0 {
			return apiError(excInvalidStageDeclaration, "Stage '%s' must have at least one action", st.GetName())
		}
		if len(st.Actions) > maxActionsPerStage {
			return apiError(excLimitExceeded, "Stage '%s' has %d actions; the maximum is %d", st.GetName(), len(st.Actions), maxActionsPerStage)
		}
		actionNames := map[string]bool{}
		// Outputs of a stage are visible to actions of a higher runOrder.
		stageOut := map[string]int32{}
		for ai := range st.Actions {
			a := &st.Actions[ai]
			if a.RunOrder == nil {
				one := int32(1)
				a.RunOrder = &one
			}
			if actionNames[a.GetName()] {
				return apiError(excInvalidStructure, "Stage '%s' has more than one action named '%s'. Action names must be unique within a stage", st.GetName(), a.GetName())
			}
			actionNames[a.GetName()] = true
			if err := checkAction(st.GetName(), si, a, v2, region); err != nil {
				return err
			}
			if ns := a.GetNamespace(); ns != "" {
				if namespaces[ns] {
					return apiError(excInvalidActionDeclaration, "Namespace '%s' of action '%s' is already used by another action", ns, a.GetName())
				}
				namespaces[ns] = true
			}
			for _, out := range a.OutputArtifacts {
				if _, dup := stageOut[out.GetName()]; dup || produced[out.GetName()] {
					return apiError(excInvalidStructure, "Output artifact name '%s' is used by more than one action. Output artifact names must be unique in a pipeline", out.GetName())
				}
				stageOut[out.GetName()] = a.GetRunOrder()
			}
		}
		for ai := range st.Actions {
			a := &st.Actions[ai]
			for _, in := range a.InputArtifacts {
				order, sameStage := stageOut[in.GetName()]
				if produced[in.GetName()] || (sameStage && order < a.GetRunOrder()) {
					continue
				}
				return apiError(excInvalidStructure, "Input artifact '%s' of action '%s' in stage '%s' is not produced by an action that runs before it", in.GetName(), a.GetName(), st.GetName())
			}
		}
		for name := range stageOut {
			produced[name] = true
		}
	}
	return nil
}

// checkAction applies the rules of one action declaration.
func checkAction(stage string, stageIndex int, a *shape.ActionDeclaration, v2 bool, region string) *wire.Error {
	id := typeID(a.ActionTypeId)
	t := findActionType(id)
	if t == nil {
		return apiError(excInvalidActionDeclaration, "ActionType (Category: '%s', Provider: '%s', Owner: '%s', Version: '%s') in action '%s' is not available in region '%s'",
			id.Category, id.Provider, id.Owner, id.Version, a.GetName(), strings.ToUpper(strings.ReplaceAll(region, "-", "_")))
	}
	isSource := id.Category == "Source"
	if stageIndex == 0 && !isSource {
		return apiError(excInvalidStructure, "Stage '%s' contains non-source action '%s'. The first stage of a pipeline may contain only source actions", stage, a.GetName())
	}
	if stageIndex > 0 && isSource {
		return apiError(excInvalidStructure, "Stage '%s' contains source action '%s'. Source actions may only be in the first stage of a pipeline", stage, a.GetName())
	}
	if n := len(a.InputArtifacts); n < t.minIn || n > t.maxIn {
		return apiError(excInvalidActionDeclaration, "Action '%s' has %d input artifacts; its action type takes %s", a.GetName(), n, countRange(t.minIn, t.maxIn))
	}
	if n := len(a.OutputArtifacts); n < t.minOut || n > t.maxOut {
		return apiError(excInvalidActionDeclaration, "Action '%s' has %d output artifacts; its action type takes %s", a.GetName(), n, countRange(t.minOut, t.maxOut))
	}
	if !t.anyConfiguration {
		for _, p := range t.config {
			if p.required && a.Configuration[p.name] == "" {
				return apiError(excInvalidActionDeclaration, "Action configuration for action '%s' is missing required configuration '%s'", a.GetName(), p.name)
			}
		}
		for k := range a.Configuration {
			known := false
			for _, p := range t.config {
				known = known || p.name == k
			}
			if !known {
				return apiError(excInvalidActionDeclaration, "Action configuration for action '%s' contains unknown configuration '%s'", a.GetName(), k)
			}
		}
	}
	if t.kind == kindCommands {
		if !v2 {
			return apiError(excInvalidActionDeclaration, "Action '%s': the Commands action is only supported in V2 pipelines", a.GetName())
		}
		if len(a.Commands) == 0 {
			return apiError(excInvalidActionDeclaration, "Action '%s': a Commands action must have at least one command", a.GetName())
		}
	} else {
		if len(a.Commands) > 0 {
			return apiError(excInvalidActionDeclaration, "Action '%s': commands are only supported by the Commands action", a.GetName())
		}
		if len(a.OutputVariables) > 0 {
			return apiError(excInvalidActionDeclaration, "Action '%s': outputVariables are only supported by the Commands action", a.GetName())
		}
	}
	for _, o := range a.OutputArtifacts {
		if len(o.Files) > 0 && t.kind != kindCommands {
			return apiError(excInvalidActionDeclaration, "Action '%s': output artifact files are only supported by the Commands action", a.GetName())
		}
	}
	if a.TimeoutInMinutes != nil && t.kind != kindApproval {
		return apiError(excInvalidActionDeclaration, "Action '%s': timeoutInMinutes is only available to the manual approval action type", a.GetName())
	}
	return nil
}

// fillArtifactLists gives every action inputArtifacts and outputArtifacts,
// [] when it has none: AWS answers with both lists on every action of a
// declaration, whether the request had them or not.
func fillArtifactLists(p *shape.PipelineDeclaration) {
	for si := range p.Stages {
		for ai := range p.Stages[si].Actions {
			a := &p.Stages[si].Actions[ai]
			if a.InputArtifacts == nil {
				a.InputArtifacts = []shape.InputArtifact{}
			}
			if a.OutputArtifacts == nil {
				a.OutputArtifacts = []shape.OutputArtifact{}
			}
		}
	}
}

func countRange(min, max int) string {
	if min == max {
		return fmt.Sprint(min)
	}
	return fmt.Sprintf("%d to %d", min, max)
}

func typeID(t *shape.ActionTypeId) ActionTypeID {
	return ActionTypeID{Category: string(t.GetCategory()), Owner: string(t.GetOwner()), Provider: t.GetProvider(), Version: t.GetVersion()}
}

// compile turns a stored declaration into the engine's definition.
func compile(raw json.RawMessage, version int32, region string) (*definition, error) {
	var p shape.PipelineDeclaration
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("stored declaration: %w", err)
	}
	d := &definition{version: version, mode: string(p.GetExecutionMode())}
	if p.ArtifactStore != nil {
		d.bucket = p.ArtifactStore.GetLocation()
	} else {
		store := p.ArtifactStores[region]
		d.bucket = store.GetLocation()
	}
	for _, st := range p.Stages {
		sd := stageDef{name: st.GetName()}
		for _, a := range st.Actions {
			id := typeID(a.ActionTypeId)
			ad := actionDef{
				name: a.GetName(), runOrder: int(a.GetRunOrder()), typ: id, config: a.Configuration,
				namespace: a.GetNamespace(), region: a.GetRegion(), commands: a.Commands,
				outputVariables: a.OutputVariables, timeoutMinutes: int(a.GetTimeoutInMinutes()),
			}
			if ad.runOrder == 0 {
				ad.runOrder = 1
			}
			ad.kind = kindUnsupported
			if t := findActionType(id); t != nil {
				ad.kind = t.kind
			}
			for _, in := range a.InputArtifacts {
				ad.inputs = append(ad.inputs, in.GetName())
			}
			for _, out := range a.OutputArtifacts {
				ad.outputs = append(ad.outputs, outputDecl{name: out.GetName(), files: out.Files})
			}
			for _, e := range a.EnvironmentVariables {
				ad.env = append(ad.env, envVar{name: e.GetName(), value: e.GetValue()})
			}
			sd.actions = append(sd.actions, ad)
		}
		sd.computeGroups()
		d.stages = append(d.stages, sd)
	}
	return d, nil
}

// TagAbandonCancelsJobs is the opt-in tag with which a stop-and-abandon also
// terminates what the abandoned actions started.
const TagAbandonCancelsJobs = "pipewright:abandon-cancels-jobs"

// cancelsJobs reports whether a pipeline's tags ask abandons to terminate
// the work of the actions they abandon.
func cancelsJobs(tags []Tag) bool {
	for _, t := range tags {
		if t.Key == TagAbandonCancelsJobs && strings.EqualFold(t.Value, "true") {
			return true
		}
	}
	return false
}

type defKey struct {
	name    string
	version int32
	row     int64
}

// definition returns the compiled definition of a pipeline, cached per
// stored row version.
func (s *Service) definition(p *Pipeline) (*definition, error) {
	k := defKey{p.Name, p.Version, p.RowVersion}
	s.defsMu.Lock()
	d := s.defs[k]
	s.defsMu.Unlock()
	if d != nil {
		return d, nil
	}
	d, err := compile(p.Declaration, p.Version, s.cfg.Region)
	if err != nil {
		return nil, err
	}
	s.defsMu.Lock()
	s.forgetDefinitionLocked(p.Name)
	s.defs[k] = d
	s.defsMu.Unlock()
	return d, nil
}

// forgetDefinition drops a pipeline's compiled definition, for a deleted
// pipeline whose name a new one may take with the same versions.
func (s *Service) forgetDefinition(name string) {
	s.defsMu.Lock()
	defer s.defsMu.Unlock()
	s.forgetDefinitionLocked(name)
}

func (s *Service) forgetDefinitionLocked(name string) {
	for key := range s.defs {
		if key.name == name {
			delete(s.defs, key)
		}
	}
}

// declarationOf decodes a stored pipeline's declaration.
func (s *Service) declarationOf(p *Pipeline) (*shape.PipelineDeclaration, error) {
	var d shape.PipelineDeclaration
	if err := json.Unmarshal(p.Declaration, &d); err != nil {
		return nil, fmt.Errorf("stored declaration of %s: %w", p.Name, err)
	}
	return &d, nil
}
