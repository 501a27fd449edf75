package buildspec

// Spec is a parsed buildspec. Every list keeps the order of the YAML.
type Spec struct {
	// Version is "0.2" or "0.1". Driver runs a 0.1 spec the 0.1 way: each
	// command in its own subshell, started in the driver's starting
	// directory, so cd and variables do not carry from one command to the
	// next.
	Version string
	// RunAs is the top-level run-as user, "" when not set. The driver
	// never switches users: the caller runs the build as one (see
	// DriverOptions.User and Refused).
	RunAs string
	Env   Env
	// Phases holds the phases the buildspec declares, in run order
	// (INSTALL, PRE_BUILD, BUILD, POST_BUILD). Driver runs all four
	// whether declared or not, as CodeBuild reports all four.
	Phases []Phase
	// Artifacts is nil when the buildspec has no artifacts section.
	Artifacts *Artifacts
	// Cache is nil when the buildspec has no cache section.
	Cache *Cache
	// HasReports, HasBatch and HasProxy say that the section was present;
	// its content is accepted without being checked and is not applied.
	HasReports, HasBatch, HasProxy bool
}

// Shells Env.Shell can hold.
const (
	ShellBash = "bash"
	ShellSh   = "sh"
)

// Env is the env section.
type Env struct {
	// Shell is ShellBash (the default) or ShellSh ("sh" and "/bin/sh").
	Shell string
	// RunAs is env's run-as user, "" when not set; the caller applies it
	// as the top-level one.
	RunAs string
	// Variables are exported at the start of the driver, in this order,
	// except those named in DriverOptions.Protected.
	Variables []Variable
	// ParameterStore and SecretsManager map a variable name to a reference
	// (parameter name, or secret-id:json-key:version-stage:version-id).
	// The driver does not resolve them: a caller that cannot should refuse
	// the build.
	ParameterStore []Variable
	SecretsManager []Variable
	// ExportedVariables are written to DriverOptions.VariablesFile when the
	// build succeeds.
	ExportedVariables []string
	// GitCredentialHelper is parsed and not applied.
	GitCredentialHelper bool
}

// Variable is one name and its value as the YAML wrote it: numbers and
// booleans keep their text ("1.10" stays "1.10", yes stays "yes").
type Variable struct {
	Name, Value string
}

// Phase names, in run order.
const (
	PhaseInstall   = "INSTALL"
	PhasePreBuild  = "PRE_BUILD"
	PhaseBuild     = "BUILD"
	PhasePostBuild = "POST_BUILD"
)

// PhaseNames lists the phases the driver runs, in order.
var PhaseNames = []string{PhaseInstall, PhasePreBuild, PhaseBuild, PhasePostBuild}

// On-failure actions of a phase.
const (
	OnFailureAbort    = "ABORT"
	OnFailureContinue = "CONTINUE"
)

// Phase is one declared phase.
type Phase struct {
	// Name is one of PhaseNames.
	Name string
	// RunAs is the phase's run-as user, "" when not set. The caller runs
	// the phase as the build's user or refuses it (DriverOptions.Refused).
	RunAs string
	// OnFailure is OnFailureAbort (the default) or OnFailureContinue.
	OnFailure string
	// RuntimeVersions (install only, in CodeBuild) are recorded, not
	// applied: the host's tools are what the commands get.
	RuntimeVersions []Variable
	// Commands and Finally are shell code, run as written; a multi-line
	// block scalar is one command.
	Commands []string
	Finally  []string
}

// Phase returns the declared phase of that name, or a zero Phase with only
// Name and OnFailure set when the buildspec does not declare it.
func (s *Spec) Phase(name string) Phase {
	for _, p := range s.Phases {
		if p.Name == name {
			return p
		}
	}
	return Phase{Name: name, OnFailure: OnFailureAbort}
}

// Artifacts is the artifacts section, or one of its secondary artifacts.
type Artifacts struct {
	Files          []string
	Name           string
	DiscardPaths   bool
	BaseDirectory  string
	ExcludePaths   []string
	EnableSymlinks bool
	S3Prefix       string
	// Secondary is empty in a secondary artifact.
	Secondary []SecondaryArtifact
}

// SecondaryArtifact is one entry of secondary-artifacts.
type SecondaryArtifact struct {
	Identifier string
	Artifacts  Artifacts
}

// Cache is the cache section. Key is recorded and not used.
type Cache struct {
	Paths []string
	Key   string
}
