package buildspec

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parse reads a buildspec and checks it the way CodeBuild does before a
// build starts. Every error is an *Error (Code YAML_FILE_ERROR) whose text
// names the key and line at fault.
//
// What it accepts and rejects:
//   - version must be 0.2 or 0.1 (see Spec.Version for how 0.1 runs).
//   - Unknown keys are errors at every level, so that a misspelled key
//     (phase:, comands:) fails the build instead of silently doing nothing;
//     reports, batch and proxy are accepted and not checked.
//   - env.shell is bash, sh or /bin/sh.
//   - phases are install, pre_build, build and post_build; on-failure is
//     ABORT or CONTINUE: the RETRY variants are rejected, pipewright does
//     not retry builds.
//   - Variable names (env.variables, parameter-store, secrets-manager,
//     exported-variables) must match ^[A-Za-z_][A-Za-z0-9_]*$.
//   - yes/no fields take yes, no, true or false.
func Parse(data []byte) (*Spec, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errorf(0, "The buildspec is empty")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errorf(0, "Invalid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		return nil, errorf(0, "The buildspec is empty")
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, errorf(root.Line, "Expected the buildspec to be a map of keys (version, phases, ...): found %s instead", kindName(root))
	}
	spec := &Spec{Env: Env{Shell: ShellBash}}
	versionSeen := false
	err := eachKey(root, "", func(k string, v *yaml.Node) error {
		var err error
		switch k {
		case "version":
			versionSeen = true
			spec.Version, err = version(v)
		case "run-as":
			spec.RunAs, err = scalar(v, k)
		case "env":
			err = parseEnv(v, &spec.Env)
		case "phases":
			spec.Phases, err = parsePhases(v)
		case "artifacts":
			spec.Artifacts, err = parseArtifacts(v, k, true)
		case "cache":
			spec.Cache, err = parseCache(v)
		case "reports":
			spec.HasReports = true
		case "batch":
			spec.HasBatch = true
		case "proxy":
			spec.HasProxy = true
		default:
			err = errUnknownKey
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !versionSeen {
		return nil, errorf(0, "Missing version at top level: the buildspec must say version: 0.2")
	}
	return spec, nil
}

func version(n *yaml.Node) (string, error) {
	s, err := scalar(n, "version")
	if err != nil {
		return "", err
	}
	if s != "0.2" && s != "0.1" {
		return "", errorf(n.Line, "Invalid buildspec version %q: expected 0.2", s)
	}
	return s, nil
}

func parseEnv(n *yaml.Node, env *Env) error {
	return eachKey(n, "env", func(k string, v *yaml.Node) error {
		path := join("env", k)
		var err error
		switch k {
		case "shell":
			env.Shell, err = shell(v, path)
		case "run-as":
			env.RunAs, err = scalar(v, path)
		case "variables":
			env.Variables, err = pairs(v, path, true)
		case "parameter-store":
			env.ParameterStore, err = pairs(v, path, true)
		case "secrets-manager":
			env.SecretsManager, err = pairs(v, path, true)
		case "exported-variables":
			env.ExportedVariables, err = exportedNames(v, path)
		case "git-credential-helper":
			env.GitCredentialHelper, err = yesNo(v, path)
		default:
			err = errUnknownKey
		}
		return err
	})
}

func shell(n *yaml.Node, path string) (string, error) {
	s, err := scalar(n, path)
	if err != nil {
		return "", err
	}
	switch s {
	case "", "bash", "/bin/bash":
		return ShellBash, nil
	case "sh", "/bin/sh":
		return ShellSh, nil
	}
	return "", errorf(n.Line, "Invalid shell %q in %s: expected bash, sh or /bin/sh", s, path)
}

func exportedNames(n *yaml.Node, path string) ([]string, error) {
	names, err := stringList(n, path)
	if err != nil {
		return nil, err
	}
	for i, name := range names {
		if err := checkName(name, path, deref(n).Content[i]); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// phaseKeys maps the buildspec's phase keys to the phase names.
var phaseKeys = map[string]string{
	"install":    PhaseInstall,
	"pre_build":  PhasePreBuild,
	"build":      PhaseBuild,
	"post_build": PhasePostBuild,
}

func parsePhases(n *yaml.Node) ([]Phase, error) {
	found := map[string]Phase{}
	err := eachKey(n, "phases", func(k string, v *yaml.Node) error {
		name, ok := phaseKeys[k]
		if !ok {
			return errUnknownKey
		}
		p, err := parsePhase(v, join("phases", k), name)
		found[name] = p
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []Phase
	for _, name := range PhaseNames {
		if p, ok := found[name]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func parsePhase(n *yaml.Node, path, name string) (Phase, error) {
	p := Phase{Name: name, OnFailure: OnFailureAbort}
	err := eachKey(n, path, func(k string, v *yaml.Node) error {
		kp := join(path, k)
		var err error
		switch k {
		case "run-as":
			p.RunAs, err = scalar(v, kp)
		case "on-failure":
			p.OnFailure, err = onFailure(v, kp)
		case "runtime-versions":
			p.RuntimeVersions, err = pairs(v, kp, false)
		case "commands":
			p.Commands, err = stringList(v, kp)
		case "finally":
			p.Finally, err = stringList(v, kp)
		default:
			err = errUnknownKey
		}
		return err
	})
	return p, err
}

func onFailure(n *yaml.Node, path string) (string, error) {
	s, err := scalar(n, path)
	if err != nil {
		return "", err
	}
	switch s {
	case "", OnFailureAbort:
		return OnFailureAbort, nil
	case OnFailureContinue:
		return OnFailureContinue, nil
	}
	if strings.HasPrefix(s, "RETRY") {
		return "", errorf(n.Line, "Unsupported %s %q: pipewright does not retry builds; use ABORT or CONTINUE", path, s)
	}
	return "", errorf(n.Line, "Invalid %s %q: expected ABORT or CONTINUE", path, s)
}

func parseArtifacts(n *yaml.Node, path string, primary bool) (*Artifacts, error) {
	a := &Artifacts{}
	err := eachKey(n, path, func(k string, v *yaml.Node) error {
		kp := join(path, k)
		var err error
		switch k {
		case "files":
			a.Files, err = stringList(v, kp)
		case "name":
			a.Name, err = scalar(v, kp)
		case "discard-paths":
			a.DiscardPaths, err = yesNo(v, kp)
		case "base-directory":
			a.BaseDirectory, err = scalar(v, kp)
		case "exclude-paths":
			a.ExcludePaths, err = stringList(v, kp)
		case "enable-symlinks":
			a.EnableSymlinks, err = yesNo(v, kp)
		case "s3-prefix":
			a.S3Prefix, err = scalar(v, kp)
		case "secondary-artifacts":
			if !primary {
				return errUnknownKey
			}
			a.Secondary, err = parseSecondary(v, kp)
		default:
			err = errUnknownKey
		}
		return err
	})
	return a, err
}

func parseSecondary(n *yaml.Node, path string) ([]SecondaryArtifact, error) {
	var out []SecondaryArtifact
	err := eachKey(n, path, func(k string, v *yaml.Node) error {
		a, err := parseArtifacts(v, join(path, k), false)
		if err == nil {
			out = append(out, SecondaryArtifact{Identifier: k, Artifacts: *a})
		}
		return err
	})
	return out, err
}

func parseCache(n *yaml.Node) (*Cache, error) {
	c := &Cache{}
	err := eachKey(n, "cache", func(k string, v *yaml.Node) error {
		var err error
		switch k {
		case "paths":
			c.Paths, err = stringList(v, "cache.paths")
		case "key":
			c.Key, err = scalar(v, "cache.key")
		default:
			err = errUnknownKey
		}
		return err
	})
	return c, err
}
