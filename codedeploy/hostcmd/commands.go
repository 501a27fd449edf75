// Package hostcmd serves codedeploy-commands, the protocol in which a
// CodeDeploy host agent (AWS's own, or pipewright's) asks for the lifecycle
// events it is to run and reports on them: PollHostCommand,
// PutHostCommandAcknowledgement, GetDeploymentSpecification,
// PutHostCommandComplete and PostHostCommandUpdate. The service decodes,
// validates and answers; what a host is to do is the Commands' business.
package hostcmd

import (
	"context"
	"errors"
	"time"

	"github.com/pipewright/pipewright/wire"
)

// Host is who a request comes from: the HostIdentifier the agent sent (its
// on-premises instance's iamUserArn or iamSessionArn; empty for the
// operations whose input does not carry one, where the command token names
// the host) and the access key that signed the request.
type Host struct {
	Identifier  string
	AccessKeyID string
}

// Command is one lifecycle event handed to a host.
type Command struct {
	// Token is the HostCommandIdentifier the host reports under.
	Token string
	// ExecutionID is the DeploymentExecutionId, of the form the model's
	// pattern requires (four or more '/'-separated parts).
	ExecutionID string
	// Name is the lifecycle event: ApplicationStop, BeforeInstall, ...
	Name  string
	Nonce int64
}

// Commands is what the deployments engine offers hosts. Errors other than
// the ones below are answered as an InternalFailure and logged.
type Commands interface {
	// Poll waits until a command is ready for host and hands it out, or
	// returns (nil, nil) once ctx is done with none ready.
	Poll(ctx context.Context, host Host) (*Command, error)
	// Acknowledge records that host received the command: InProgress when
	// it is to run, Succeeded or Failed when the deployment no longer
	// wants it.
	Acknowledge(ctx context.Context, host Host, token string, diagnostics *Envelope) (status string, err error)
	// Specification returns the deployment specification (JSON, as
	// deployment_specification.rb reads it) of the execution for host; the
	// service seals it into a PKCS7/JSON envelope.
	Specification(ctx context.Context, host Host, executionID string) ([]byte, error)
	// Complete records the command's end with status Succeeded or Failed
	// and the agent's diagnostics (see ParseDiagnostics).
	Complete(ctx context.Context, host Host, token, status string, diagnostics *Envelope) error
	// Update records a running command's progress (estimated is the zero
	// time when the agent sent none) and says whether it is still wanted:
	// InProgress, or Failed for a stopped deployment; "" says nothing. An
	// InProgress answer is held until it changes or ctx is done, and is
	// then given (with a nil error, not ctx's): the service's ctx ends
	// after Config.UpdateWait or when the service closes. Any other answer
	// is given at once. AWS's agent never calls it; pipewright's calls it
	// in a loop while a hook runs, and terminates the hook on Failed.
	Update(ctx context.Context, host Host, token string, estimated time.Time, diagnostics *Envelope) (status string, err error)
}

// Errors a Commands returns for what it does not know.
var (
	ErrUnknownHost       = errors.New("hostcmd: unknown host")
	ErrUnknownDeployment = errors.New("hostcmd: unknown deployment execution")
	ErrUnknownCommand    = errors.New("hostcmd: unknown host command")
)

// Error types the service answers. ClientException and ServerException
// are the model's; the other two are the ones its documentation names.
const (
	CodeClient             = "ClientException"
	CodeHostNotFound       = "HostNotFoundException"
	CodeDeploymentNotFound = "DeploymentNotFoundException"
)

// answer maps a Commands error to what the client is told.
func answer(err error) error {
	switch {
	case errors.Is(err, ErrUnknownHost):
		return wire.NewError(CodeHostNotFound, "The host is not recognized by the deployment engine")
	case errors.Is(err, ErrUnknownDeployment):
		return wire.NewError(CodeDeploymentNotFound, "The DeploymentExecutionId does not identify a current deployment")
	case errors.Is(err, ErrUnknownCommand):
		return wire.NewError(CodeClient, "The HostCommandIdentifier does not identify a host command")
	}
	return err
}
