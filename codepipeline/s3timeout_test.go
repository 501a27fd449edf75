package codepipeline

import (
	"testing"
	"time"
)

// TestS3DeployTimeout: a Deploy/AWS/S3 action gets AWS's 90 minutes (or
// its own override), an S3 source the 1 hour of other actions.
func TestS3DeployTimeout(t *testing.T) {
	deploy := ActionTypeID{"Deploy", "AWS", "S3", "1"}
	source := ActionTypeID{"Source", "AWS", "S3", "1"}
	for _, c := range []struct {
		t    Timeouts
		typ  ActionTypeID
		want time.Duration
	}{
		{Timeouts{}, deploy, 90 * time.Minute},
		{Timeouts{Other: time.Second}, deploy, 90 * time.Minute},
		{Timeouts{S3Deploy: time.Second}, deploy, time.Second},
		{Timeouts{}, source, time.Hour},
		{Timeouts{Other: time.Second}, source, time.Second},
	} {
		if got := c.t.timeoutOf(c.typ, kindOf(c.typ)); got != c.want {
			t.Errorf("%+v for %v: %v, want %v", c.t, c.typ, got, c.want)
		}
	}
}
