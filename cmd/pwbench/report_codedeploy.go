package main

import (
	"fmt"
	"time"
)

// Targets of the CodeDeploy issue: (k) is the agents' grace plus this
// margin.
const (
	targetDeployStopMargin = 200 * time.Millisecond
	targetHookStartP50     = 50 * time.Millisecond
)

// codeDeployRows adds the rows of figures (k) and (l) and returns their
// notes.
func (r *results) codeDeployRows(row func(fig, target, measured string, ok bool)) []string {
	var notes []string
	if k := r.k; k != nil {
		s := k.total.summary()
		limit := k.grace + targetDeployStopMargin
		row(fmt.Sprintf("(k) StopDeployment → GetDeployment Stopped (5 ms polls); %d hosts (pipewright's agent, in-process) each in a 60 s hook that ignores SIGTERM, group tagged pipewright:stop-terminates-hooks, agents' stop grace %v; %d deployments, one at a time", k.hosts, k.grace, s.n),
			fmt.Sprintf("p99 ≤ %v (grace + 200 ms)", limit), fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max)), s.n > 0 && s.p99 <= limit)
		notes = append(notes, fmt.Sprintf("(k) above the grace: p50 %s, p99 %s; %d of %d StopDeployment answers said Pending; every hook's process group gone when Stopped was seen in %d of %d",
			ms(s.p50-k.grace), ms(s.p99-k.grace), k.pendingSaid, s.n, s.n-k.leftAtSeen, s.n))
		notes = append(notes, "(k) breakdown, from t0 (server-recorded times, ms precision): "+k.phases.String())
		notes = append(notes, k.retried.notes("(k)")...)
	}
	if l := r.l; l != nil {
		s := l.total.summary()
		row(fmt.Sprintf("(l) lifecycle event handed out by PollHostCommand (its startTime, ms precision) → the hook script's first command (`date +%%s.%%N`); one host, pipewright's agent in-process; %d events of %d deployments, one at a time", s.n, l.deployments),
			"p50 ≤ 50 ms", fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max)), s.n > 0 && s.p50 <= targetHookStartP50)
		h := l.handout.summary()
		notes = append(notes, "(l) by event: "+l.byEvent.String())
		notes = append(notes, fmt.Sprintf("(l) the previous event's end recorded → this one handed out (the agent's report, then its next poll): p50 %s, p99 %s", ms(h.p50), ms(h.p99)))
		notes = append(notes, l.retried.notes("(l)")...)
	}
	return notes
}

// notes reports the calls of a figure that were asked again.
func (r retried) notes(fig string) []string {
	if r.n == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s **%d calls failed in transport and were asked again** (a sample that contains one is longer by it); first: %s", fig, r.n, r.first)}
}
