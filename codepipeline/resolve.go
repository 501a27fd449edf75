package codepipeline

import (
	"fmt"
	"strings"
)

// resolveVars replaces every #{namespace.name} in s with its value. An
// unknown namespace or variable is an error naming it.
func resolveVars(s string, vars map[string]map[string]string) (string, error) {
	if !strings.Contains(s, "#{") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "#{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		ref := s[i+2 : i+j]
		ns, name, ok := strings.Cut(ref, ".")
		if !ok {
			return "", fmt.Errorf("The variable reference '#{%s}' must have the form #{namespace.name}.", ref)
		}
		m, ok := vars[ns]
		if !ok {
			return "", fmt.Errorf("The variable namespace '%s' in '#{%s}' is not produced by an earlier action of this execution.", ns, ref)
		}
		v, ok := m[name]
		if !ok {
			return "", fmt.Errorf("The variable '%s' is not defined in namespace '%s'.", name, ns)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

// resolveConfig resolves the variables in every configuration value.
func resolveConfig(config map[string]string, vars map[string]map[string]string) (map[string]string, error) {
	if len(config) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(config))
	for k, v := range config {
		r, err := resolveVars(v, vars)
		if err != nil {
			return nil, err
		}
		out[k] = r
	}
	return out, nil
}

// resolveCommands sets a Commands run's commands and environment with their
// variables resolved.
func resolveCommands(r *ActionRun, a *actionDef, vars map[string]map[string]string) error {
	for _, c := range a.commands {
		line, err := resolveVars(c, vars)
		if err != nil {
			return err
		}
		r.Commands = append(r.Commands, line)
	}
	for _, e := range a.env {
		v, err := resolveVars(e.value, vars)
		if err != nil {
			return err
		}
		r.Env = append(r.Env, e.name+"="+v)
	}
	return nil
}
