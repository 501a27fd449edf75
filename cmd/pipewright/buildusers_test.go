package main

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// --build-users takes comma-separated names, and may be given more than
// once; an empty name is a mistake in the command line.
func TestBuildUsersFlag(t *testing.T) {
	c, err := parseServeFlags([]string{"--build-users", "daemon, bin:bin", "--build-users", "1000"}, io.Discard)
	if err != nil || !reflect.DeepEqual(c.BuildUsers, []string{"daemon", "bin:bin", "1000"}) {
		t.Errorf("parsed %q, %v", c.BuildUsers, err)
	}
	_, err = parseServeFlags([]string{"--build-users", "daemon,,bin"}, io.Discard)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `want NAME[,NAME...], not "daemon,,bin"`) {
		t.Errorf("an empty name: %v", err)
	}
}
