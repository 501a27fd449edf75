package codedeploy

import (
	"strings"
)

// The resources an ARN of CodeDeploy names.
func (s *Service) arnPrefix() string {
	return "arn:aws:codedeploy:" + s.cfg.Region + ":" + s.cfg.AccountID + ":"
}

// applicationARN is arn:aws:codedeploy:REGION:ACCOUNT:application:NAME.
func (s *Service) applicationARN(name string) string { return s.arnPrefix() + "application:" + name }

// groupARN is arn:aws:codedeploy:REGION:ACCOUNT:deploymentgroup:APP/GROUP.
func (s *Service) groupARN(app, group string) string {
	return s.arnPrefix() + "deploymentgroup:" + app + "/" + group
}

// configARN is arn:aws:codedeploy:REGION:ACCOUNT:deploymentconfig:NAME.
func (s *Service) configARN(name string) string { return s.arnPrefix() + "deploymentconfig:" + name }

// instanceARN is arn:aws:codedeploy:REGION:ACCOUNT:instance/NAME.
func (s *Service) instanceARN(name string) string { return s.arnPrefix() + "instance/" + name }

// resourceOf parses the ARN of a taggable resource (an application, a
// deployment group or a deployment config) into its record's key. ok is
// false for an ARN that is not CodeDeploy's of this region and account;
// supported is false for one of CodeDeploy's that names something else.
func (s *Service) resourceOf(arn string) (k Key, ok, supported bool) {
	rest, found := strings.CutPrefix(arn, s.arnPrefix())
	if !found {
		return Key{}, false, false
	}
	kind, name, found := strings.Cut(rest, ":")
	if !found || name == "" {
		return Key{}, strings.HasPrefix(rest, "instance/"), false
	}
	switch Kind(kind) {
	case KindApplication:
		return Key{Kind: KindApplication, Name: name}, true, true
	case KindConfig:
		return Key{Kind: KindConfig, Name: name}, true, true
	case KindGroup:
		app, group, found := strings.Cut(name, "/")
		if !found || app == "" || group == "" {
			return Key{}, false, false
		}
		return Key{Kind: KindGroup, Scope: app, Name: group}, true, true
	}
	return Key{}, true, false
}

// validName reports whether a name of an application, deployment group or
// deployment config is one AWS takes: 1 to 100 characters.
func validName(name string) bool { return name != "" && len(name) <= 100 }
