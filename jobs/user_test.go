package jobs_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/pipewright/pipewright/jobs"
	"github.com/pipewright/pipewright/runner"
)

// A job's Spec.User runs its tree as that user, in a workspace (HOME
// included) given to it; a server that is not root fails such a job in
// setup.
func TestJobRunsAsItsUser(t *testing.T) {
	t.Parallel()
	l := newLife(t, t.TempDir(), "b1")
	defer l.close()
	daemon := &runner.Credential{UID: 1, GID: 1}
	j, err := l.mgr.Submit(context.Background(), "test", "u", "g", jobs.Spec{User: daemon,
		Script: `echo "ids=$(id -u):$(id -g) home=$(stat -c %u:%g "$HOME") pwd=$(stat -c %u "$PWD")"; touch "$HOME/made"`})
	if err != nil {
		t.Fatal(err)
	}
	j = l.waitEnd("u")
	if os.Geteuid() != 0 {
		if j.Status != jobs.StatusFailed || j.Reason != jobs.ReasonSetup || !strings.Contains(j.Message, "needs a server running as root") {
			t.Errorf("a job user on a server that is not root: %+v", j)
		}
		return
	}
	if log := l.logOf(j); j.Status != jobs.StatusSucceeded || !strings.Contains(log, "ids=1:1 home=1:1 pwd=1") {
		t.Errorf("job %s %s, log:\n%s", j.Status, j.Message, log)
	}
}
