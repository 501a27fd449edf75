package server_test

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	cdt "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
)

// TestCodeDeployPWAgentConfigs deploys with each built-in config to 1, 2
// and 5 hosts running pipewright's agent: every deployment succeeds on
// every host, and no more hosts run their hooks at once than the config
// allows (OneAtATime one, HalfAtATime half, AllAtOnce all).
func TestCodeDeployPWAgentConfigs(t *testing.T) {
	for _, config := range []string{"OneAtATime", "HalfAtATime", "AllAtOnce"} {
		for _, n := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%s/%d", config, n), func(t *testing.T) {
				ts := startServer(t, fastHosts)
				c := deployFixture(t, ts, "CodeDeployDefault."+config)
				hosts := startPWAgents(t, ts, n, time.Second)
				// The hook records when it starts and ends, in nanoseconds; the
				// install is under each host's own root, the spans too.
				hook := "#!/bin/sh\nmkdir -p ../../../../../../spans\ndate +%s%N >> ../../../../../../spans/$LIFECYCLE_EVENT\nsleep 0.4\ndate +%s%N >> ../../../../../../spans/$LIFECYCLE_EVENT\n"
				rev := putBundle(t, ts, "b.zip", map[string]string{"appspec.yml": appspec("/srv", map[string]string{"BeforeInstall": "scripts/span.sh"}),
					"scripts/span.sh": hook, "site/index.html": "x\n"})
				id := createDeployment(t, c, rev, config)
				d := waitDeployment(t, c, id, cdt.DeploymentStatusSucceeded, time.Duration(10+5*n)*time.Second)
				if d.DeploymentOverview == nil || d.DeploymentOverview.Succeeded != int64(n) {
					t.Errorf("overview %+v, want %d succeeded", d.DeploymentOverview, n)
				}
				type edge struct {
					at    int64
					delta int
				}
				var edges []edge
				for _, h := range hosts {
					st, got, _ := events(t, c, id, h.name)
					if st != cdt.InstanceStatusSucceeded || !slices.Equal(got, eventsAll("Succeeded")) {
						t.Errorf("%s: %s %v", h.name, st, got)
					}
					lines := strings.Fields(h.file("spans/BeforeInstall"))
					if len(lines) != 2 {
						t.Fatalf("%s: BeforeInstall spans %q", h.name, lines)
					}
					a, _ := strconv.ParseInt(lines[0], 10, 64)
					b, _ := strconv.ParseInt(lines[1], 10, 64)
					edges = append(edges, edge{a, 1}, edge{b, -1})
				}
				sort.Slice(edges, func(i, j int) bool {
					return edges[i].at < edges[j].at || edges[i].at == edges[j].at && edges[i].delta < edges[j].delta
				})
				running, most := 0, 0
				for _, e := range edges {
					running += e.delta
					most = max(most, running)
				}
				t.Logf("at most %d of %d hosts ran BeforeInstall at once", most, n)
				allowed := map[string]int{"OneAtATime": 1, "HalfAtATime": max(1, n/2), "AllAtOnce": n}[config]
				if most > allowed {
					t.Errorf("%d hosts ran BeforeInstall at once; %s allows %d of %d", most, config, allowed, n)
				}
				if config == "AllAtOnce" && n == 5 && most < 2 {
					t.Errorf("AllAtOnce ran the hooks of 5 hosts one after another (at most %d at once)", most)
				}
			})
		}
	}
}
