package codebuild

import "github.com/pipewright/pipewright/jobs"

// SetFinishHook makes the service call hook instead of recording a build's
// job end, with the function that records it.
func SetFinishHook(s *Service, hook func(j *jobs.Job, record func())) { s.finishHook.Store(&hook) }
