package codedeploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pipewright/pipewright/artifacts"
	"github.com/pipewright/pipewright/codedeploy/shape"
	"github.com/pipewright/pipewright/wire"
)

// revision is an application revision's record.
type revision struct {
	shape.RevisionInfo
}

// maxDescription is how long a revision's description may be.
const maxDescription = 256

// revisionBatchLimit is how many revisions BatchGetApplicationRevisions
// takes.
const revisionBatchLimit = 25

// revisionName is the name of a revision's record: what tells S3
// revisions apart (bucket, key, bundle type, version and ETag).
func revisionName(l *shape.S3Location) string {
	return strings.Join([]string{l.GetBucket(), l.GetKey(), string(l.GetBundleType()), l.GetVersion(), l.GetETag()}, "\x00")
}

// checkRevision refuses a revision that is not a complete S3 location:
// pipewright deploys S3 revisions of its own artifact store only.
func checkRevision(r *shape.RevisionLocation) error {
	if r == nil {
		return apiError(excRevisionRequired, "The revision must be specified")
	}
	switch t := r.GetRevisionType(); t {
	case shape.RevisionLocationTypeS3:
	case "":
		return apiError(excInvalidRevision, "The revision type must be specified")
	default:
		return apiError(excInvalidRevision, "pipewright deploys S3 revisions from its own S3 endpoint only, not revisions of type %s", t)
	}
	l := r.S3Location
	if l == nil || l.GetBucket() == "" || l.GetKey() == "" {
		return apiError(excInvalidRevision, "An S3 revision must name its bucket and key")
	}
	return nil
}

// matches reports whether a stored revision is the one a request names:
// the same bucket and key, and the same bundle type, version and ETag
// where the request gives them.
func matches(have, want *shape.S3Location) bool {
	same := func(h, w string) bool { return w == "" || h == w }
	return have.GetBucket() == want.GetBucket() && have.GetKey() == want.GetKey() &&
		same(string(have.GetBundleType()), string(want.GetBundleType())) &&
		same(have.GetVersion(), want.GetVersion()) && same(have.GetETag(), strings.Trim(want.GetETag(), `"`))
}

// findRevision returns the newest registered revision of an application
// that want names; RevisionDoesNotExistException when there is none.
func findRevision(tx Tx, app string, want *shape.RevisionLocation) (*revision, error) {
	all, err := loadAll[revision](tx, KindRevision, app)
	if err != nil {
		return nil, err
	}
	var found *revision
	for _, r := range all {
		if matches(r.RevisionLocation.S3Location, want.S3Location) &&
			(found == nil || r.GenericRevisionInfo.RegisterTime.Time().After(found.GenericRevisionInfo.RegisterTime.Time())) {
			found = r
		}
	}
	if found == nil {
		l := want.S3Location
		return nil, apiError(excRevisionDoesNotExist, "No application revision found for revision s3://%s/%s in application %s", l.GetBucket(), l.GetKey(), app)
	}
	return found, nil
}

// revisionETag returns the ETag of an S3 revision's object in pipewright's
// artifact store: InvalidRevisionException when there is no such object
// (or bucket, or the name cannot be one) or it has another ETag than the
// one the revision gives.
func (s *Service) revisionETag(ctx context.Context, l *shape.S3Location) (string, error) {
	obj, err := s.cfg.Artifacts.HeadObject(ctx, l.GetBucket(), l.GetKey())
	switch {
	case errors.Is(err, artifacts.ErrNoSuchBucket), errors.Is(err, artifacts.ErrInvalidBucketName):
		return "", apiError(excInvalidRevision, "The bucket %s does not exist in pipewright's S3 endpoint", l.GetBucket())
	case errors.Is(err, artifacts.ErrNotFound):
		return "", apiError(excInvalidRevision, "The object s3://%s/%s does not exist in pipewright's S3 endpoint", l.GetBucket(), l.GetKey())
	case err != nil:
		return "", err
	}
	if e := strings.Trim(l.GetETag(), `"`); e != "" && e != obj.ETag {
		return "", apiError(excInvalidRevision, "The object s3://%s/%s has the ETag %s, not %s", l.GetBucket(), l.GetKey(), obj.ETag, e)
	}
	return obj.ETag, nil
}

// RegisterApplicationRevision registers an S3 revision with an
// application; its object must exist in pipewright's artifact store (with
// the given ETag, when one is). Registering it again changes its
// description.
func (s *Service) RegisterApplicationRevision(ctx context.Context, in *shape.RegisterApplicationRevisionInput) (*shape.RegisterApplicationRevisionOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkRevision(in.Revision); err != nil {
		return nil, err
	}
	if len(in.GetDescription()) > maxDescription {
		return nil, apiError(excDescriptionTooLong, "The description is at most %d characters", maxDescription)
	}
	l := *in.Revision.S3Location
	if _, err := s.revisionETag(ctx, &l); err != nil {
		return nil, err
	}
	if l.ETag != nil {
		l.ETag = new(strings.Trim(*l.ETag, `"`))
	}
	app := *in.ApplicationName
	err := s.update(ctx, func(tx Tx) error {
		if _, _, err := getApp(tx, app); err != nil {
			return err
		}
		var rev revision
		r, ok, err := load(tx, Key{Kind: KindRevision, Scope: app, Name: revisionName(&l)}, &rev)
		if err != nil {
			return err
		}
		if !ok {
			r = &Record{Key: Key{Kind: KindRevision, Scope: app, Name: revisionName(&l)}}
			rev.RevisionLocation = &shape.RevisionLocation{RevisionType: new(shape.RevisionLocationTypeS3), S3Location: &l}
			rev.GenericRevisionInfo = &shape.GenericRevisionInfo{RegisterTime: wire.NewTimestamp(s.now()), DeploymentGroups: []string{}}
		}
		rev.GenericRevisionInfo.Description = in.Description
		return save(tx, r, &rev)
	})
	if err != nil {
		return nil, err
	}
	return &shape.RegisterApplicationRevisionOutput{}, nil
}

// GetApplicationRevision answers a registered revision.
func (s *Service) GetApplicationRevision(ctx context.Context, in *shape.GetApplicationRevisionInput) (*shape.GetApplicationRevisionOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if err := checkRevision(in.Revision); err != nil {
		return nil, err
	}
	var rev *revision
	err := s.view(ctx, func(tx Tx) (err error) {
		if _, _, err := getApp(tx, *in.ApplicationName); err != nil {
			return err
		}
		rev, err = findRevision(tx, *in.ApplicationName, in.Revision)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &shape.GetApplicationRevisionOutput{ApplicationName: in.ApplicationName, Revision: rev.RevisionLocation, RevisionInfo: rev.GenericRevisionInfo}, nil
}

// BatchGetApplicationRevisions answers up to 25 registered revisions;
// those that are not registered are named in errorMessage.
func (s *Service) BatchGetApplicationRevisions(ctx context.Context, in *shape.BatchGetApplicationRevisionsInput) (*shape.BatchGetApplicationRevisionsOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	if len(in.Revisions) == 0 {
		return nil, apiError(excRevisionRequired, "The revisions must be specified")
	}
	if len(in.Revisions) > revisionBatchLimit {
		return nil, apiError(excBatchLimitExceeded, "The maximum number of revisions allowed for this request (%d) was exceeded", revisionBatchLimit)
	}
	for i := range in.Revisions {
		if err := checkRevision(&in.Revisions[i]); err != nil {
			return nil, err
		}
	}
	out := &shape.BatchGetApplicationRevisionsOutput{ApplicationName: in.ApplicationName, Revisions: []shape.RevisionInfo{}}
	var missing []string
	err := s.view(ctx, func(tx Tx) error {
		if _, _, err := getApp(tx, *in.ApplicationName); err != nil {
			return err
		}
		for i := range in.Revisions {
			rev, err := findRevision(tx, *in.ApplicationName, &in.Revisions[i])
			if isCode(err, excRevisionDoesNotExist) {
				l := in.Revisions[i].S3Location
				missing = append(missing, fmt.Sprintf("s3://%s/%s", l.GetBucket(), l.GetKey()))
				continue
			}
			if err != nil {
				return err
			}
			out.Revisions = append(out.Revisions, rev.RevisionInfo)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		out.ErrorMessage = new("Application revisions not found: " + strings.Join(missing, ", "))
	}
	return out, nil
}

// ListApplicationRevisions answers an application's revisions, sorted as
// asked (by registerTime, firstUsedTime or lastUsedTime; unsorted means by
// bucket and key), of a bucket and key prefix when given, deployed or not
// (deployed=include, exclude), 100 a page.
func (s *Service) ListApplicationRevisions(ctx context.Context, in *shape.ListApplicationRevisionsInput) (*shape.ListApplicationRevisionsOutput, error) {
	if err := checkAppName(in.ApplicationName); err != nil {
		return nil, err
	}
	sortBy, order := in.GetSortBy(), in.GetSortOrder()
	if sortBy != "" && !slices.Contains(sortBy.Values(), sortBy) {
		return nil, apiError(excInvalidSortBy, "The sort key must be registerTime, firstUsedTime or lastUsedTime: %s", sortBy)
	}
	if order != "" && !slices.Contains(order.Values(), order) {
		return nil, apiError(excInvalidSortOrder, "The sort order must be ascending or descending: %s", order)
	}
	deployed := in.GetDeployed()
	if deployed != "" && !slices.Contains(deployed.Values(), deployed) {
		return nil, apiError(excInvalidDeployedStateFilter, "The deployed filter must be include, exclude or ignore: %s", deployed)
	}
	if in.GetS3KeyPrefix() != "" && in.GetS3Bucket() == "" {
		return nil, apiError(excBucketNameFilterRequired, "A key prefix filter needs a bucket name filter")
	}
	var revs []*revision
	err := s.view(ctx, func(tx Tx) (err error) {
		if _, _, err := getApp(tx, *in.ApplicationName); err != nil {
			return err
		}
		revs, err = loadAll[revision](tx, KindRevision, *in.ApplicationName)
		return err
	})
	if err != nil {
		return nil, err
	}
	var locs []shape.RevisionLocation
	var times []time.Time
	for _, r := range revs {
		l := r.RevisionLocation.S3Location
		used := r.GenericRevisionInfo.FirstUsedTime != nil
		if deployed == shape.ListStateFilterActionInclude && !used || deployed == shape.ListStateFilterActionExclude && used ||
			in.GetS3Bucket() != "" && l.GetBucket() != in.GetS3Bucket() || !strings.HasPrefix(l.GetKey(), in.GetS3KeyPrefix()) {
			continue
		}
		locs = append(locs, *r.RevisionLocation)
		var t *wire.Timestamp
		switch sortBy {
		case shape.ApplicationRevisionSortByRegisterTime:
			t = r.GenericRevisionInfo.RegisterTime
		case shape.ApplicationRevisionSortByFirstUsedTime:
			t = r.GenericRevisionInfo.FirstUsedTime
		case shape.ApplicationRevisionSortByLastUsedTime:
			t = r.GenericRevisionInfo.LastUsedTime
		}
		if t != nil {
			times = append(times, t.Time())
		} else {
			times = append(times, time.Time{})
		}
	}
	idx := make([]int, len(locs))
	for i := range idx {
		idx[i] = i
	}
	if sortBy != "" {
		slices.SortStableFunc(idx, func(a, b int) int {
			c := times[a].Compare(times[b])
			if order == shape.SortOrderDescending {
				return -c
			}
			return c
		})
	} else if order == shape.SortOrderDescending {
		slices.Reverse(idx)
	}
	sorted := make([]shape.RevisionLocation, 0, len(idx))
	for _, i := range idx {
		sorted = append(sorted, locs[i])
	}
	part, next, err := page(sorted, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &shape.ListApplicationRevisionsOutput{Revisions: append([]shape.RevisionLocation{}, part...), NextToken: next}, nil
}

// useRevision records, in a deployment's transaction, that an
// application's revision is deployed to a group: it is registered if it
// was not (as CreateDeployment does on AWS), its firstUsedTime and
// lastUsedTime are set, and the group joins its deploymentGroups.
func useRevision(tx Tx, app, group string, l *shape.S3Location, now time.Time) error {
	// The registered revision this is: the same object, and the same
	// bundle type, version and ETag where the registration gave them.
	rs, err := tx.List(KindRevision, app)
	if err != nil {
		return err
	}
	var rev revision
	var r *Record
	for _, c := range rs {
		var cand revision
		if err := json.Unmarshal(c.Doc, &cand); err != nil {
			return err
		}
		if h := cand.RevisionLocation.S3Location; h != nil && matches(l, h) {
			rev, r = cand, c
			break
		}
	}
	if r == nil {
		k := Key{Kind: KindRevision, Scope: app, Name: revisionName(l)}
		r = &Record{Key: k}
		loc := *l
		rev.RevisionLocation = &shape.RevisionLocation{RevisionType: new(shape.RevisionLocationTypeS3), S3Location: &loc}
		rev.GenericRevisionInfo = &shape.GenericRevisionInfo{RegisterTime: wire.NewTimestamp(now), DeploymentGroups: []string{}}
	}
	g := rev.GenericRevisionInfo
	if g.FirstUsedTime == nil {
		g.FirstUsedTime = wire.NewTimestamp(now)
	}
	g.LastUsedTime = wire.NewTimestamp(now)
	if !slices.Contains(g.DeploymentGroups, group) {
		g.DeploymentGroups = append(g.DeploymentGroups, group)
	}
	return save(tx, r, &rev)
}
