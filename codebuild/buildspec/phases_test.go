package buildspec

import (
	"strings"
	"testing"
	"time"
)

func TestReadPhasesWhileWritten(t *testing.T) {
	file := "start\tINSTALL\t1000\n" +
		"end\tINSTALL\t1000\t1500\tSUCCEEDED\t\t\n" +
		"start\tBUILD\t2000\n" +
		"end\tBUILD\t2000\t2500\tFAILED\tCOMMAND_EXECUTION_ERROR\tError while executing command: a\\nb\\\\n. Reason: exit status 1\n" +
		"start\tPOST_BUILD\t3000\n"
	events, err := ReadPhases([]byte(file + "end\tPOST_B"))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 {
		t.Fatalf("events %+v", events)
	}
	if e := events[0]; e.Phase != PhaseInstall || e.Status != StatusSucceeded || !e.Start.Equal(time.UnixMilli(1000)) || !e.End.Equal(time.UnixMilli(1500)) {
		t.Errorf("INSTALL %+v", e)
	}
	if e := events[1]; e.Status != StatusFailed || e.Code != CodeCommandExecutionError || e.Message != "Error while executing command: a\nb\\n. Reason: exit status 1" {
		t.Errorf("BUILD %+v", e)
	}
	if e := events[2]; e.Phase != PhasePostBuild || e.Status != StatusInProgress || !e.End.IsZero() {
		t.Errorf("POST_BUILD %+v", e)
	}
	if events, err := ReadPhases([]byte("start\tINST")); err != nil || len(events) != 0 {
		t.Errorf("partial first line: %v %v", events, err)
	}
}

func TestReadPhasesRejectsGarbage(t *testing.T) {
	for _, bad := range []string{"hello\n", "start\tBUILD\tsoon\n", "end\tBUILD\t1\t2\tMAYBE\t\t\n", "end\tBUILD\t1\n"} {
		if _, err := ReadPhases([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestFieldEscapingRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", "a\tb\nc\r\\d\\n", `\\\`} {
		e := escapeField(s)
		if strings.ContainsAny(e, "\t\n\r") || unescapeField(e) != s {
			t.Errorf("%q escaped to %q, back to %q", s, e, unescapeField(e))
		}
	}
}
