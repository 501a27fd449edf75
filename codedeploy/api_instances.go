package codedeploy

import (
	"context"
	"regexp"

	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// instance is an on-premises instance's record; a deregistered one is
// kept, with its deregisterTime, as on AWS.
type instance struct {
	shape.InstanceInfo
}

// maxInstanceTags is how many tags an on-premises instance may have.
const maxInstanceTags = 10

var (
	instanceNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.:@\-]{1,100}$`)
	iamUserPattern      = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:user/.+$`)
	iamSessionPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:sts::[0-9]{12}:assumed-role/[^/]+/.+$`)
)

func instanceKey(name string) Key { return Key{Kind: KindInstance, Name: name} }

func (i *instance) registered() bool { return i.DeregisterTime == nil }

// checkInstanceName refuses a missing or malformed instance name.
func checkInstanceName(name *string) error {
	if name == nil || *name == "" {
		return apiError(excInstanceNameRequired, "An on-premises instance name must be specified")
	}
	if !instanceNamePattern.MatchString(*name) {
		return apiError(excInvalidInstanceName, "An on-premises instance name is 1 to 100 letters, digits and _ . : @ -: %s", *name)
	}
	return nil
}

// getInstance reads a registered instance; InstanceNotRegisteredException
// when there is none or it was deregistered.
func getInstance(tx Tx, name string) (*instance, *Record, error) {
	var i instance
	r, ok, err := load(tx, instanceKey(name), &i)
	if err != nil {
		return nil, nil, err
	}
	if !ok || !i.registered() {
		return nil, nil, instanceNotRegistered(name)
	}
	return &i, r, nil
}

// RegisterOnPremisesInstance registers an instance with exactly one of an
// IAM user ARN and an IAM session ARN, each taken by one registered
// instance only. A deregistered instance's name may be registered again.
func (s *Service) RegisterOnPremisesInstance(ctx context.Context, in *shape.RegisterOnPremisesInstanceInput) (*shape.RegisterOnPremisesInstanceOutput, error) {
	if err := checkInstanceName(in.InstanceName); err != nil {
		return nil, err
	}
	user, session := in.GetIamUserArn(), in.GetIamSessionArn()
	switch {
	case user == "" && session == "":
		return nil, apiError(excIamArnRequired, "Either an IAM user ARN or an IAM session ARN must be specified")
	case user != "" && session != "":
		return nil, apiError(excMultipleIamArnsProvided, "Only one of an IAM user ARN and an IAM session ARN may be specified")
	case user != "" && !iamUserPattern.MatchString(user):
		return nil, apiError(excInvalidIamUserArn, "The IAM user ARN is not valid: %s", user)
	case session != "" && !iamSessionPattern.MatchString(session):
		return nil, apiError(excInvalidIamSessionArn, "The IAM session ARN is not valid: %s", session)
	}
	name := *in.InstanceName
	err := s.update(ctx, func(tx Tx) error {
		var old instance
		r, ok, err := load(tx, instanceKey(name), &old)
		if err != nil {
			return err
		}
		if ok && old.registered() {
			return apiError(excInstanceNameRegistered, "The on-premises instance name %s is already registered", name)
		}
		all, err := loadAll[instance](tx, KindInstance, "")
		if err != nil {
			return err
		}
		for _, o := range all {
			switch {
			case !o.registered():
			case user != "" && o.GetIamUserArn() == user:
				return apiError(excIamUserArnRegistered, "The IAM user ARN %s is already registered with on-premises instance %s", user, o.GetInstanceName())
			case session != "" && o.GetIamSessionArn() == session:
				return apiError(excIamSessionArnRegistered, "The IAM session ARN %s is already registered with on-premises instance %s", session, o.GetInstanceName())
			}
		}
		if r == nil {
			r = &Record{Key: instanceKey(name)}
		}
		i := &instance{InstanceInfo: shape.InstanceInfo{InstanceName: &name, IamUserArn: in.IamUserArn, IamSessionArn: in.IamSessionArn,
			InstanceArn: new(s.instanceARN(name)), RegisterTime: wire.NewTimestamp(s.now())}}
		if user == "" {
			i.IamUserArn = nil
		}
		if session == "" {
			i.IamSessionArn = nil
		}
		return save(tx, r, i)
	})
	if err != nil {
		return nil, err
	}
	return &shape.RegisterOnPremisesInstanceOutput{}, nil
}

// DeregisterOnPremisesInstance deregisters an instance: it keeps its tags
// and shows its deregisterTime.
func (s *Service) DeregisterOnPremisesInstance(ctx context.Context, in *shape.DeregisterOnPremisesInstanceInput) (*shape.DeregisterOnPremisesInstanceOutput, error) {
	if err := checkInstanceName(in.InstanceName); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx Tx) error {
		i, r, err := getInstance(tx, *in.InstanceName)
		if err != nil {
			return err
		}
		i.DeregisterTime = wire.NewTimestamp(s.now())
		return save(tx, r, i)
	})
	if err != nil {
		return nil, err
	}
	return &shape.DeregisterOnPremisesInstanceOutput{}, nil
}

// checkInstanceTagging refuses what AddTagsToOnPremisesInstances and
// RemoveTagsFromOnPremisesInstances refuse alike.
func checkInstanceTagging(names []string, tags []shape.Tag) error {
	if len(names) == 0 {
		return apiError(excInstanceNameRequired, "At least one on-premises instance name must be specified")
	}
	if len(names) > batchLimit {
		return apiError(excInstanceLimitExceeded, "At most %d on-premises instances may be tagged at once", batchLimit)
	}
	if len(tags) == 0 {
		return apiError(excTagRequired, "At least one tag must be specified")
	}
	for _, n := range names {
		if err := checkInstanceName(&n); err != nil {
			return err
		}
	}
	return checkTags(tags, excInvalidTag)
}

// retag changes the tags of every named instance with fn, all or none.
func (s *Service) retag(ctx context.Context, names []string, fn func([]shape.Tag) []shape.Tag) error {
	return s.update(ctx, func(tx Tx) error {
		for _, n := range names {
			i, r, err := getInstance(tx, n)
			if err != nil {
				return err
			}
			i.Tags = fn(i.Tags)
			if len(i.Tags) > maxInstanceTags {
				return apiError(excTagLimitExceeded, "An on-premises instance has at most %d tags: %s", maxInstanceTags, n)
			}
			if err := save(tx, r, i); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddTagsToOnPremisesInstances sets tags on registered instances (a tag of
// a key an instance has replaces its value).
func (s *Service) AddTagsToOnPremisesInstances(ctx context.Context, in *shape.AddTagsToOnPremisesInstancesInput) (*shape.AddTagsToOnPremisesInstancesOutput, error) {
	if err := checkInstanceTagging(in.InstanceNames, in.Tags); err != nil {
		return nil, err
	}
	if err := s.retag(ctx, in.InstanceNames, func(have []shape.Tag) []shape.Tag { return mergeTags(have, in.Tags) }); err != nil {
		return nil, err
	}
	return &shape.AddTagsToOnPremisesInstancesOutput{}, nil
}

// RemoveTagsFromOnPremisesInstances removes the tags of the given keys
// from registered instances.
func (s *Service) RemoveTagsFromOnPremisesInstances(ctx context.Context, in *shape.RemoveTagsFromOnPremisesInstancesInput) (*shape.RemoveTagsFromOnPremisesInstancesOutput, error) {
	if err := checkInstanceTagging(in.InstanceNames, in.Tags); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(in.Tags))
	for _, t := range in.Tags {
		keys = append(keys, t.GetKey())
	}
	if err := s.retag(ctx, in.InstanceNames, func(have []shape.Tag) []shape.Tag { return dropTags(have, keys) }); err != nil {
		return nil, err
	}
	return &shape.RemoveTagsFromOnPremisesInstancesOutput{}, nil
}

// GetOnPremisesInstance answers an instance, registered or deregistered.
func (s *Service) GetOnPremisesInstance(ctx context.Context, in *shape.GetOnPremisesInstanceInput) (*shape.GetOnPremisesInstanceOutput, error) {
	if err := checkInstanceName(in.InstanceName); err != nil {
		return nil, err
	}
	var i instance
	err := s.view(ctx, func(tx Tx) error {
		_, ok, err := load(tx, instanceKey(*in.InstanceName), &i)
		if err == nil && !ok {
			return instanceNotRegistered(*in.InstanceName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.GetOnPremisesInstanceOutput{InstanceInfo: &i.InstanceInfo}, nil
}

// BatchGetOnPremisesInstances answers up to 100 instances; names of none
// are left out.
func (s *Service) BatchGetOnPremisesInstances(ctx context.Context, in *shape.BatchGetOnPremisesInstancesInput) (*shape.BatchGetOnPremisesInstancesOutput, error) {
	if err := checkBatch(len(in.InstanceNames), excInstanceNameRequired, "At least one on-premises instance name must be specified"); err != nil {
		return nil, err
	}
	out := &shape.BatchGetOnPremisesInstancesOutput{InstanceInfos: []shape.InstanceInfo{}}
	err := s.view(ctx, func(tx Tx) error {
		for _, n := range in.InstanceNames {
			if err := checkInstanceName(&n); err != nil {
				return err
			}
			var i instance
			_, ok, err := load(tx, instanceKey(n), &i)
			if err != nil {
				return err
			}
			if ok {
				out.InstanceInfos = append(out.InstanceInfos, i.InstanceInfo)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListOnPremisesInstances answers the names of the instances of a
// registration status (any when not given) that match at least one of the
// tag filters (any when none are given), by name, 100 a page.
func (s *Service) ListOnPremisesInstances(ctx context.Context, in *shape.ListOnPremisesInstancesInput) (*shape.ListOnPremisesInstancesOutput, error) {
	status := in.GetRegistrationStatus()
	if status != "" && status != shape.RegistrationStatusRegistered && status != shape.RegistrationStatusDeregistered {
		return nil, apiError(excInvalidRegistrationStatus, "The registration status must be Registered or Deregistered: %s", status)
	}
	if err := checkTagFilters(in.TagFilters, excInvalidTagFilter); err != nil {
		return nil, err
	}
	var names []string
	err := s.view(ctx, func(tx Tx) error {
		all, err := loadAll[instance](tx, KindInstance, "")
		for _, i := range all {
			switch {
			case status == shape.RegistrationStatusRegistered && !i.registered(),
				status == shape.RegistrationStatusDeregistered && i.registered(),
				len(in.TagFilters) > 0 && !matchesAny(i.Tags, in.TagFilters):
				continue
			}
			names = append(names, i.GetInstanceName())
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	part, next, err := page(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &shape.ListOnPremisesInstancesOutput{InstanceNames: append([]string{}, part...), NextToken: next}, nil
}
