// Package buildspec reads AWS CodeBuild buildspec files (version 0.2) and
// turns them into one shell "driver" script that runs every phase of a
// build as a single process tree, the way CodeBuild runs a build on Linux.
//
// The three entry points:
//
//   - Parse checks a buildspec and returns its Spec, or an *Error whose
//     Code is YAML_FILE_ERROR and whose text is the message a user reads.
//   - Driver writes the script. The job layer runs it with bash; the script
//     writes CodeBuild-style "[Container] ..." log lines to stdout, one
//     line per phase start and end to a phase file, and the exported
//     variables to a variables file when the build succeeds.
//   - ReadPhases parses the phase file, while the build runs or after it.
//
// The package runs nothing itself and knows nothing of the server: settings
// it parses but does not apply (run-as, runtime-versions, parameter-store,
// secrets-manager, artifacts, cache) are exposed in the Spec for the caller
// to apply, refuse or log. For run-as the driver helps: it logs the user
// the caller runs it as and fails the phases the caller refuses
// (DriverOptions.User, DriverOptions.Refused).
package buildspec
