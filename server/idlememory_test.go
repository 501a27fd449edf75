package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestIdleMemorySettlesOncePerQuietSpell: memory is handed back once the
// server has been quiet for the spell, once, and again after the next
// request's quiet spell.
func TestIdleMemorySettlesOncePerQuietSpell(t *testing.T) {
	m := watchIdle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), 50*time.Millisecond, 5*time.Millisecond)
	defer m.close()
	waitSettled := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for m.settled.Load() != want {
			if time.Now().After(deadline) {
				t.Fatalf("settled is not %v", want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitSettled(true)
	m.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if m.settled.Load() {
		t.Fatal("a request did not start a new quiet spell")
	}
	waitSettled(true)
	m.close()
	m.close()
}
