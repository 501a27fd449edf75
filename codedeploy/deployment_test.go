package codedeploy

import (
	"testing"
	"time"

	"github.com/pipewright/pipewright/codedeploy/shape"
)

// fleet is a deployment of n pending instances under the config's
// minimumHealthyHosts.
func fleet(n int, typ shape.MinimumHealthyHostsType, v int32) *deployment {
	d := &deployment{DeploymentInfo: shape.DeploymentInfo{DeploymentId: new("d-TEST00000"), Status: new(shape.DeploymentStatusCreated)},
		MinHealthy: shape.MinimumHealthyHosts{Type: &typ, Value: &v}}
	for i := range n {
		t := &target{Instance: string(rune('a' + i)), IamArn: string(rune('a' + i)), Status: shape.InstanceStatusPending}
		for _, e := range inPlaceEvents {
			t.Events = append(t.Events, shape.LifecycleEvent{LifecycleEventName: new(e), Status: new(shape.LifecycleEventStatusPending)})
		}
		d.Targets = append(d.Targets, t)
	}
	return d
}

func TestScheduleByMinimumHealthyHosts(t *testing.T) {
	cases := []struct {
		name      string
		n         int
		typ       shape.MinimumHealthyHostsType
		v         int32
		min, conc int
	}{
		{"OneAtATime", 5, minimumMostConcurrency, 1, 4, 1},
		{"HalfAtATime", 5, shape.MinimumHealthyHostsTypeFleetPercent, 50, 3, 2},
		{"HalfAtATime of 2", 2, shape.MinimumHealthyHostsTypeFleetPercent, 50, 1, 1},
		{"AllAtOnce", 5, shape.MinimumHealthyHostsTypeHostCount, 0, 0, 5},
		{"HOST_COUNT 2", 5, shape.MinimumHealthyHostsTypeHostCount, 2, 2, 3},
		{"FLEET_PERCENT 75", 4, shape.MinimumHealthyHostsTypeFleetPercent, 75, 3, 1},
	}
	now := time.Now()
	for _, c := range cases {
		d := fleet(c.n, c.typ, c.v)
		if d.minHealthy() != c.min || d.concurrency() != c.conc {
			t.Errorf("%s: min %d conc %d, want %d %d", c.name, d.minHealthy(), d.concurrency(), c.min, c.conc)
		}
		started := 0
		for _, tg := range d.Targets {
			if d.next(tg, "us-east-1", now) != nil {
				started++
			}
		}
		if started != c.conc {
			t.Errorf("%s: %d instances started at once, want %d", c.name, started, c.conc)
		}
	}
}

func TestEventsRunInOrderAndFailureSkips(t *testing.T) {
	now := time.Now()
	d := fleet(1, shape.MinimumHealthyHostsTypeHostCount, 0)
	tg := d.Targets[0]
	for i, want := range inPlaceEvents[:3] {
		c := d.next(tg, "us-east-1", now)
		if c == nil || c.Name != want {
			t.Fatalf("command %d: %+v, want %s", i, c, want)
		}
		if d.next(tg, "us-east-1", now) != nil {
			t.Fatal("a second command while one is outstanding")
		}
		if id, inst, ev, ok := parseToken(c.Token); !ok || id != "d-TEST00000" || inst != "a" || ev != i {
			t.Fatalf("token %q parses to %s %s %d %v", c.Token, id, inst, ev, ok)
		}
		st := shape.LifecycleEventStatusSucceeded
		if i == 2 {
			st = shape.LifecycleEventStatusFailed
		}
		d.finishEvent(tg, i, st, nil, now)
	}
	if !d.settle(now) || d.GetStatus() != shape.DeploymentStatusFailed || d.ErrorInformation.GetCode() != shape.ErrorCodeHealthConstraints {
		t.Fatalf("after BeforeInstall failed: %s %+v", d.GetStatus(), d.ErrorInformation)
	}
	if tg.Status != shape.InstanceStatusFailed {
		t.Errorf("instance %s", tg.Status)
	}
	for _, e := range tg.Events[3:] {
		if e.GetStatus() != shape.LifecycleEventStatusSkipped {
			t.Errorf("%s is %s after the failure", *e.LifecycleEventName, e.GetStatus())
		}
	}
}

func TestOneAtATimeFailureStopsTheRest(t *testing.T) {
	now := time.Now()
	d := fleet(3, minimumMostConcurrency, 1)
	a := d.Targets[0]
	if d.next(a, "us-east-1", now) == nil {
		t.Fatal("no command for the first instance")
	}
	d.finishEvent(a, 0, shape.LifecycleEventStatusFailed, nil, now)
	if !d.settle(now) || d.GetStatus() != shape.DeploymentStatusFailed {
		t.Fatalf("status %s", d.GetStatus())
	}
	if d.Targets[1].Status != shape.InstanceStatusSkipped || d.Targets[2].Status != shape.InstanceStatusSkipped {
		t.Errorf("the others are %s %s, want Skipped", d.Targets[1].Status, d.Targets[2].Status)
	}
}
