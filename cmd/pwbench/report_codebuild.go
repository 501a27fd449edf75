package main

import (
	"fmt"
	"strings"
	"time"
)

// codeBuildRan names the CodeBuild figures that were measured, "(f)(h)".
func (r *results) codeBuildRan() string {
	var b strings.Builder
	for _, f := range []struct {
		c   string
		ran bool
	}{{"f", r.f != nil}, {"g", r.g != nil}, {"h", r.h != nil}, {"i", r.i != nil}} {
		if f.ran {
			b.WriteString("(" + f.c + ")")
		}
	}
	return b.String()
}

// codeBuildRows adds the rows of figures (f)-(i) and returns their notes.
func (r *results) codeBuildRows(row func(fig, target, measured string, ok bool)) []string {
	var notes []string
	if r.f != nil {
		s := r.f.total.summary()
		row(fmt.Sprintf("(f) StartBuild → first buildspec command runs (NO_SOURCE, BUILD phase only); %d builds, one at a time", s.n),
			"p50 ≤ 25 ms", fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max)), s.p50 <= targetBuildStartP50)
		notes = append(notes, r.f.notes("(f)", "StartBuild", "build SUCCEEDED", "server-recorded phase start times")...)
	}
	if r.g != nil {
		s := r.g.total.summary()
		row(fmt.Sprintf("(g) StopBuild → no process of the build left (a `setsid` daemon and the foreground sleep) and BatchGetBuilds STOPPED, the later of the two; %d builds, one at a time", s.n),
			"p99 ≤ 100 ms", fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max)), s.p99 <= targetBuildStopP99)
		notes = append(notes, fmt.Sprintf("(g) %d of %d StopBuild answers already said STOPPED; breakdown, from t0: %s", r.g.stopSaid, s.n, r.g.phases.String()))
	}
	if h := r.h; h != nil {
		row(fmt.Sprintf("(h) server VmRSS with %d concurrent builds in BUILD (each sleeping %v)", h.n, h.sleep), "≤ 150 MB",
			fmt.Sprintf("%.1f MB (%d kB), %d threads", mb(h.rssKB), h.rssKB, h.threads), h.rssKB <= targetManyRSSKB)
		notes = append(notes, fmt.Sprintf("(h) idle before: %.1f MB; peak while they started (50 ms samples): %.1f MB; %d StartBuild calls (%d in flight) took %v, all in BUILD with their sleep running %v after the first; 5 s after the stop: %.1f MB, %d threads",
			mb(h.idleKB), mb(h.peakKB), h.n, h.stopWorkers, h.startTook.Round(time.Millisecond), h.allBuildTook.Round(time.Millisecond), mb(h.settledKB), h.settled))
		notes = append(notes, fmt.Sprintf("(h) stopping all %d (%d StopBuild calls in flight): the calls took %v; BatchGetBuilds showed all STOPPED %v and no sleep of theirs was left %v after the first StopBuild",
			h.n, h.stopWorkers, h.stopCallsTook.Round(time.Millisecond), h.stoppedTook.Round(time.Millisecond), h.goneTook.Round(time.Millisecond)))
	}
	if l := r.i; l != nil {
		growth := l.buildPeakKB - l.idleKB
		row(fmt.Sprintf("(i) server peak VmRSS above idle while a build prints %s MB (%s lines of %d bytes; 50 ms samples)", thousands(l.lines*l.lineBytes/1000000), thousands(l.lines), l.lineBytes),
			"≤ 100 MB", fmt.Sprintf("%+.1f MB (idle %.1f MB, peak %.1f MB)", mb(growth), mb(l.idleKB), mb(l.buildPeakKB)), growth <= targetLogGrowthKB)
		notes = append(notes, fmt.Sprintf("(i) the build took %v; GetLogEvents from the head, following nextForwardToken until it came back unchanged: %d pages, %s events (%s numbered lines, all there in order, %d others), %.1f MB of messages in %v (%.1f MB/s); server peak VmRSS while paging %.1f MB (%+.1f MB above idle)",
			l.buildTook.Round(time.Millisecond), l.pages, thousands(l.events), thousands(l.numbered), l.otherEvents, float64(l.messageBytes)/1e6,
			l.pageTook.Round(time.Millisecond), float64(l.messageBytes)/1e6/l.pageTook.Seconds(), mb(l.pagePeakKB), mb(l.pagePeakKB-l.idleKB)))
		if l.retries > 0 {
			notes = append(notes, fmt.Sprintf("(i) **%d GetLogEvents pages failed in transport and were asked again** (the server closed the kept-alive connection under them); first: %s", l.retries, l.retryErrs[0]))
		}
	}
	return notes
}

// mb is kB (KiB) as MB (10^6 bytes).
func mb(kb int) float64 { return float64(kb) * 1024 / 1e6 }
