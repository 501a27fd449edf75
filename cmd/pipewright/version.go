package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// writeVersion prints what the binary was built from: the module version
// (a tag, a pseudo-version or "(devel)"), the VCS revision and its commit
// time when the build recorded them ("(modified)" when the tree had
// uncommitted changes), and the Go version and platform. bi is nil when
// the binary carries no build information.
func writeVersion(w io.Writer, bi *debug.BuildInfo) {
	if bi == nil {
		fmt.Fprintf(w, "pipewright (unknown)\ngo        %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	fmt.Fprintf(w, "pipewright %s\n", bi.Main.Version)
	if rev := settings["vcs.revision"]; rev != "" {
		if settings["vcs.modified"] == "true" {
			rev += " (modified)"
		}
		fmt.Fprintf(w, "revision  %s\n", rev)
	}
	if t := settings["vcs.time"]; t != "" {
		fmt.Fprintf(w, "time      %s\n", t)
	}
	goos, goarch := settings["GOOS"], settings["GOARCH"]
	if goos == "" || goarch == "" {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}
	fmt.Fprintf(w, "go        %s %s/%s\n", bi.GoVersion, goos, goarch)
}

// buildInfo is the binary's build information, or nil.
func buildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}
