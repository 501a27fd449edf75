//go:build !linux

package runner

import "time"

// Runner is not supported on this system; New always fails.
type Runner struct{}

// Process is not supported on this system.
type Process struct{}

// New returns ErrUnsupported: the runner needs Linux.
func New(opts Options) (*Runner, error) { return nil, ErrUnsupported }

// Method returns the empty string.
func (r *Runner) Method() string { return "" }

// Start returns ErrUnsupported.
func (r *Runner) Start(spec Spec) (*Process, error) { return nil, ErrUnsupported }

// Reap returns ErrUnsupported.
func (r *Runner) Reap(h Handle) error { return ErrUnsupported }

// Handle returns the zero Handle.
func (p *Process) Handle() Handle { return Handle{} }

// Wait returns a Result carrying ErrUnsupported.
func (p *Process) Wait() Result { return Result{Err: ErrUnsupported} }

// Terminate does nothing.
func (p *Process) Terminate(grace time.Duration) {}

// Kill does nothing.
func (p *Process) Kill() {}

// ProtectServer returns ErrUnsupported.
func ProtectServer() error { return ErrUnsupported }

// Isolation returns the empty string.
func (r *Runner) Isolation() string { return "" }

// JobCredential reports no job user.
func (r *Runner) JobCredential() (Credential, bool) { return Credential{}, false }

// HandOver does nothing.
func (r *Runner) HandOver(dir string) error { return nil }

// HandOverTo does nothing.
func (r *Runner) HandOverTo(dir string, u *Credential) error { return nil }

// Close does nothing.
func (r *Runner) Close() {}
