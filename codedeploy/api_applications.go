package codedeploy

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// application is an application's record.
type application struct {
	shape.ApplicationInfo
	Tags []shape.Tag `json:"tags,omitempty"`
}

// batchLimit is how many names a BatchGet operation takes.
const batchLimit = 100

// checkBatch refuses a BatchGet of no names (the exception required, with
// msg) or of more than batchLimit.
func checkBatch(n int, required, msg string) error {
	if n == 0 {
		return apiError(required, "%s", msg)
	}
	if n > batchLimit {
		return apiError(excBatchLimitExceeded, "The maximum number of names or IDs allowed for this request (%d) was exceeded", batchLimit)
	}
	return nil
}

func appKey(name string) Key { return Key{Kind: KindApplication, Name: name} }

// checkAppName refuses a missing or malformed application name.
func checkAppName(name *string) error {
	if name == nil || *name == "" {
		return apiError(excApplicationNameRequired, "The application name must be specified")
	}
	if !validName(*name) {
		return apiError(excInvalidApplicationName, "The application name is at most 100 characters: %s", *name)
	}
	return nil
}

// getApp reads an application, ApplicationDoesNotExistException when
// there is none.
func getApp(tx Tx, name string) (*application, *Record, error) {
	var a application
	r, ok, err := load(tx, appKey(name), &a)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, applicationNotFound(name)
	}
	return &a, r, nil
}

// CreateApplication creates an application of the Server compute platform
// (the only one pipewright deploys to).
func (s *Service) CreateApplication(ctx context.Context, in *shape.CreateApplicationInput) (*shape.CreateApplicationOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if p := in.GetComputePlatform(); p != "" && p != shape.ComputePlatformServer {
		return nil, apiError(excInvalidComputePlatform, "pipewright deploys to servers only (computePlatform Server), not %s", p)
	}
	if err := checkTags(in.Tags, excInvalidTagsToAdd); err != nil {
		return nil, err
	}
	server := shape.ComputePlatformServer
	a := &application{ApplicationInfo: shape.ApplicationInfo{
		ApplicationId: new(uuid.NewString()), ApplicationName: in.ApplicationName, CreateTime: wire.NewTimestamp(s.now()),
		LinkedToGitHub: new(false), ComputePlatform: &server,
	}, Tags: in.Tags}
	err := s.update(ctx, func(tx Tx) error {
		err := save(tx, &Record{Key: appKey(*in.ApplicationName)}, a)
		if errors.Is(err, ErrExists) {
			return apiError(excApplicationAlreadyExists, "An application with the name %s already exists", *in.ApplicationName)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.CreateApplicationOutput{ApplicationId: a.ApplicationId}, nil
}

// GetApplication answers an application.
func (s *Service) GetApplication(ctx context.Context, in *shape.GetApplicationInput) (*shape.GetApplicationOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	var a *application
	err := s.view(ctx, func(tx Tx) (err error) {
		a, _, err = getApp(tx, *in.ApplicationName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.GetApplicationOutput{Application: &a.ApplicationInfo}, nil
}

// BatchGetApplications answers up to 100 applications; one that does not
// exist fails the whole request, as on AWS.
func (s *Service) BatchGetApplications(ctx context.Context, in *shape.BatchGetApplicationsInput) (*shape.BatchGetApplicationsOutput, error) {
	if err := checkBatch(len(in.ApplicationNames), excApplicationNameRequired, "The application names must be specified"); err != nil {
		return nil, err
	}
	out := &shape.BatchGetApplicationsOutput{ApplicationsInfo: []shape.ApplicationInfo{}}
	err := s.view(ctx, func(tx Tx) error {
		for _, name := range in.ApplicationNames {
			if err := checkAppName(&name); err != nil {
				return err
			}
			a, _, err := getApp(tx, name)
			if err != nil {
				return err
			}
			out.ApplicationsInfo = append(out.ApplicationsInfo, a.ApplicationInfo)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListApplications answers the applications' names, by name, 100 a page.
func (s *Service) ListApplications(ctx context.Context, in *shape.ListApplicationsInput) (*shape.ListApplicationsOutput, error) {
	var names []string
	err := s.view(ctx, func(tx Tx) error {
		rs, err := tx.List(KindApplication, "")
		for _, r := range rs {
			names = append(names, r.Name)
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
	return &shape.ListApplicationsOutput{Applications: append([]string{}, part...), NextToken: next}, nil
}

// UpdateApplication renames an application; its deployment groups and
// revisions go with it.
func (s *Service) UpdateApplication(ctx context.Context, in *shape.UpdateApplicationInput) (*shape.UpdateApplicationOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if in.NewApplicationName == nil || *in.NewApplicationName == *in.ApplicationName {
		err := s.view(ctx, func(tx Tx) error {
			_, _, err := getApp(tx, *in.ApplicationName)
			return err
		})
		return &shape.UpdateApplicationOutput{}, err
	}
	if err := checkAppName(in.NewApplicationName); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx Tx) error {
		a, r, err := getApp(tx, *in.ApplicationName)
		if err != nil {
			return err
		}
		a.ApplicationName = in.NewApplicationName
		if r.Doc, err = jsonOf(a); err != nil {
			return err
		}
		if err := tx.Rename(r, *in.NewApplicationName); errors.Is(err, ErrExists) {
			return apiError(excApplicationAlreadyExists, "An application with the name %s already exists", *in.NewApplicationName)
		} else if err != nil {
			return err
		}
		if err := tx.MoveScope(*in.ApplicationName, *in.NewApplicationName); err != nil {
			return err
		}
		return renameDeployments(tx, *in.ApplicationName, *in.NewApplicationName, "", "")
	})
	if err != nil {
		return nil, err
	}
	return &shape.UpdateApplicationOutput{}, nil
}

// DeleteApplication deletes an application with its deployment groups and
// revisions; deleting one that does not exist succeeds, as on AWS.
func (s *Service) DeleteApplication(ctx context.Context, in *shape.DeleteApplicationInput) (*shape.DeleteApplicationOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	err := s.update(ctx, func(tx Tx) error {
		r, err := tx.Get(appKey(*in.ApplicationName))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(r); err != nil {
			return err
		}
		return tx.DeleteScope(*in.ApplicationName)
	})
	if err != nil {
		return nil, err
	}
	return &shape.DeleteApplicationOutput{}, nil
}
