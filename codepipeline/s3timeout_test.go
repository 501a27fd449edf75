package codepipeline

import (
	"testing"
	"time"
)

// TestS3DeployTimeout: a Deploy/AWS/S3 action gets AWS's 90 minutes and a
// Deploy/AWS/CodeDeploy action AWS's 5 days (or their own overrides), an
// S3 source the 1 hour of other actions.
func TestS3DeployTimeout(t *testing.T) {
	deploy := ActionTypeID{"Deploy", "AWS", "S3", "1"}
	source := ActionTypeID{"Source", "AWS", "S3", "1"}
	codedeploy := ActionTypeID{"Deploy", "AWS", "CodeDeploy", "1"}
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
		{Timeouts{}, codedeploy, 5 * 24 * time.Hour},
		{Timeouts{Other: time.Second}, codedeploy, 5 * 24 * time.Hour},
		{Timeouts{CodeDeploy: time.Second}, codedeploy, time.Second},
	} {
		if got := c.t.timeoutOf(c.typ, kindOf(c.typ)); got != c.want {
			t.Errorf("%+v for %v: %v, want %v", c.t, c.typ, got, c.want)
		}
	}
}

// TestFormatDuration writes timeouts as AWS's documents do.
func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Minute: "1 minute", 55 * time.Minute: "55 minutes", time.Hour: "1 hour",
		8 * time.Hour: "8 hours", 24 * time.Hour: "1 day", 5 * 24 * time.Hour: "5 days", 1500 * time.Millisecond: "1.5s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
