package codepipeline

import "sort"

// actionKind says how the engine carries out an action.
type actionKind int

const (
	// kindUnsupported is an AWS action type pipewright accepts in a
	// declaration but cannot run; its executions fail with a clear message.
	kindUnsupported actionKind = iota
	// kindSource is an action pipewright carries out in its own process,
	// with no work elsewhere to stop: Source/AWS/CodeCommit on a local git
	// repository, Source/AWS/S3 and Deploy/AWS/S3 on the artifact store.
	kindSource
	// kindCommands is Compute/AWS/Commands, a process tree.
	kindCommands
	// kindApproval is Approval/AWS/Manual, which waits for PutApprovalResult.
	kindApproval
	// kindBuild is Build/AWS/CodeBuild and Test/AWS/CodeBuild: a build of
	// the CodeBuild service.
	kindBuild
)

// runsWork reports whether actions of the kind run work (a job, a build,
// or a source or deploy in the server) that a stop, an abandon or a
// timeout may have to end.
func (k actionKind) runsWork() bool { return k == kindCommands || k == kindBuild || k == kindSource }

// definition is the part of a pipeline declaration the engine needs, in a
// form the pure decision code can read without the wire shapes.
type definition struct {
	version int32
	mode    string
	// bucket is the artifact store location.
	bucket string
	stages []stageDef
}

type stageDef struct {
	name    string
	actions []actionDef
	// groups are the indexes of actions by ascending runOrder; actions of a
	// group run in parallel.
	groups [][]int
}

type actionDef struct {
	name            string
	runOrder        int
	typ             ActionTypeID
	kind            actionKind
	config          map[string]string
	inputs          []string
	outputs         []outputDecl
	namespace       string
	region          string
	commands        []string
	env             []envVar
	outputVariables []string
	timeoutMinutes  int
}

type outputDecl struct {
	name  string
	files []string
}

type envVar struct {
	name, value string
}

// stageIndex returns the index of the named stage or -1.
func (d *definition) stageIndex(name string) int {
	for i := range d.stages {
		if d.stages[i].name == name {
			return i
		}
	}
	return -1
}

// action returns the named action of a stage.
func (s *stageDef) action(name string) *actionDef {
	for i := range s.actions {
		if s.actions[i].name == name {
			return &s.actions[i]
		}
	}
	return nil
}

// computeGroups fills groups from the actions' run orders.
func (s *stageDef) computeGroups() {
	orders := map[int][]int{}
	var keys []int
	for i, a := range s.actions {
		if _, ok := orders[a.runOrder]; !ok {
			keys = append(keys, a.runOrder)
		}
		orders[a.runOrder] = append(orders[a.runOrder], i)
	}
	sort.Ints(keys)
	s.groups = s.groups[:0]
	for _, k := range keys {
		s.groups = append(s.groups, orders[k])
	}
}
