package main

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// samples collects durations from several goroutines.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) sorted() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.d)
	slices.Sort(out)
	return out
}

// summary of a sample set: nearest-rank percentiles.
type summary struct {
	n                       int
	min, p50, p90, p99, max time.Duration
	mean                    time.Duration
}

func (s *samples) summary() summary {
	d := s.sorted()
	if len(d) == 0 {
		return summary{}
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return summary{n: len(d), min: d[0], p50: pct(d, 50), p90: pct(d, 90), p99: pct(d, 99), max: d[len(d)-1], mean: sum / time.Duration(len(d))}
}

// pct is the nearest-rank percentile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func (s summary) String() string {
	return fmt.Sprintf("n=%d min=%s p50=%s p90=%s p99=%s max=%s mean=%s", s.n, ms(s.min), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.max), ms(s.mean))
}

// ms renders a duration in milliseconds with two decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
