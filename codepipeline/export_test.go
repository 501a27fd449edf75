package codepipeline

// StartJob is what a reconcile does after committing a Commands run, for
// tests that force an interleaving with it.
func (s *Service) StartJob(r *ActionRun, bucket string) { s.startJob(r, &definition{bucket: bucket}) }

// JobOwner is the owner name of the service's jobs.
const JobOwner = jobOwner
