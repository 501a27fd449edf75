package hostcmd

import (
	"context"
	"time"
)

// Idle is the Commands of a server with no deployments: no host ever has
// a command, so Poll waits out its context and every command or execution
// named is unknown.
type Idle struct{}

// Poll waits for ctx to end and returns no command.
func (Idle) Poll(ctx context.Context, _ Host) (*Command, error) {
	<-ctx.Done()
	return nil, nil
}

// Acknowledge answers ErrUnknownCommand.
func (Idle) Acknowledge(context.Context, Host, string, *Envelope) (string, error) {
	return "", ErrUnknownCommand
}

// Specification answers ErrUnknownDeployment.
func (Idle) Specification(context.Context, Host, string) ([]byte, error) {
	return nil, ErrUnknownDeployment
}

// Complete answers ErrUnknownCommand.
func (Idle) Complete(context.Context, Host, string, string, *Envelope) error {
	return ErrUnknownCommand
}

// Update answers ErrUnknownCommand.
func (Idle) Update(context.Context, Host, string, time.Time, *Envelope) (string, error) {
	return "", ErrUnknownCommand
}
