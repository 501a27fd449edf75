package runner

import (
	"testing"
	"time"
)

// waitBound is how long a test waits for an event that normally takes
// milliseconds. Only a hang reaches it, so it is no claim about speed; it
// is kept below the lifetime of the long sleeps the tests start (300 s and
// more), so that a wait can never be satisfied by such a sleep ending by
// itself.
const waitBound = 30 * time.Second

// waitUntil polls cond until it holds; it fails the test after waitBound.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", waitBound, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goDone runs f on its own goroutine; the channel is closed when f returns.
func goDone(f func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	return done
}

// waitDone waits until done is closed; it fails the test after waitBound.
func waitDone(t testing.TB, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(waitBound):
		t.Fatalf("gave up after %s waiting for %s", waitBound, what)
	}
}
