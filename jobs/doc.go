// Package jobs is the one job layer of every pipewright service: it runs
// the user's work (a CodePipeline Commands action today; CodeBuild builds
// tomorrow) as contained process trees and owns everything around them.
//
// What it promises:
//
//   - Durable and idempotent. A job is a record (Job) before it is a
//     process. Submit creates it for an owner's client token, or returns the
//     job that token already made, so an owner that crashed between
//     deciding to start work and starting it calls Submit again and gets
//     the same job, never a second one.
//   - Every job ends, with a reason. Its tree ends by itself (Succeeded,
//     Failed), is stopped (Stopped, with the stopper's reason), times out
//     (TimedOut), is terminated by a shutdown of the server (Failed, reason
//     shutdown), or died with an earlier life of the server (Failed, reason
//     lost: the boot rule). The owner is told of every end through the
//     handler it registered, instead of polling.
//   - Nothing of an earlier life survives. Start, at every server start,
//     terminates every process tree of this data directory that no job of
//     this life owns (the runner's scope), fails the jobs whose process died
//     with the last life and starts again those that never got a process.
//   - Workspaces and logs. Each job gets its own workspace (input artifacts
//     extracted, a HOME, a TMPDIR), a log file of its output lines with
//     their UTC times, ending with a line saying what ended the job when
//     pipewright ended it; output artifacts are zipped into the artifact
//     store. Workspaces are deleted after the job's result is recorded, by a
//     janitor that waits for a quiet moment.
//   - Isolation. Jobs run through the runner's isolation: they never see
//     the server's environment, keys, database, artifact files or other
//     jobs' workspaces.
package jobs
