package hostcmd

import (
	"context"
	"time"

	"github.com/pipewright/pipewright/codedeploy/envelope"
	"github.com/pipewright/pipewright/wire"
)

// TargetPrefix is the service's X-Amz-Target prefix.
const TargetPrefix = "CodeDeployCommandService_v20141006"

// SigningName is the service name in SigV4 credential scopes.
const SigningName = "codedeploy-commands"

// OperationNames lists every operation of the model, sorted.
var OperationNames = []string{
	"GetDeploymentSpecification",
	"PollHostCommand",
	"PostHostCommandUpdate",
	"PutHostCommandAcknowledgement",
	"PutHostCommandComplete",
}

// DefaultPollWait is how long PollHostCommand waits for a command before
// answering "{}": well under the agent's HTTP read timeout (80 s, its
// :http_read_timeout) and the server's write timeout (60 s by default).
const DefaultPollWait = 20 * time.Second

// DefaultUpdateWait is how long PostHostCommandUpdate holds an InProgress
// answer, for the reasons DefaultPollWait is what it is.
const DefaultUpdateWait = 20 * time.Second

// Config is what a Service is built from.
type Config struct {
	// Commands decides what hosts do (Idle when nil).
	Commands Commands
	// Signer seals deployment specifications (required).
	Signer *envelope.Signer
	// PollWait bounds a PollHostCommand's wait (DefaultPollWait when zero).
	PollWait time.Duration
	// UpdateWait bounds how long a PostHostCommandUpdate holds an
	// InProgress answer (DefaultUpdateWait when zero).
	UpdateWait time.Duration
	// Identify maps a request's HostIdentifier and signer to the Host the
	// Commands are asked about; it is where a HostIdentifier is matched to
	// a registered on-premises instance, answering ErrUnknownHost for one
	// that is not registered. Nil takes every HostIdentifier as it is.
	Identify func(ctx context.Context, hostIdentifier string, caller wire.Caller) (Host, error)
}

// Service answers the five operations of codedeploy-commands.
type Service struct {
	cfg Config
	// closed ends the polls that wait when the service closes.
	closed context.Context
	close  context.CancelFunc
}

// New returns the service for cfg.
func New(cfg Config) *Service {
	if cfg.Commands == nil {
		cfg.Commands = Idle{}
	}
	if cfg.PollWait <= 0 {
		cfg.PollWait = DefaultPollWait
	}
	if cfg.UpdateWait <= 0 {
		cfg.UpdateWait = DefaultUpdateWait
	}
	if cfg.Identify == nil {
		cfg.Identify = func(_ context.Context, id string, c wire.Caller) (Host, error) {
			return Host{Identifier: id, AccessKeyID: c.AccessKeyID}, nil
		}
	}
	closed, cancel := context.WithCancel(context.Background())
	return &Service{cfg: cfg, closed: closed, close: cancel}
}

// Close ends every PollHostCommand that waits, which answers {} at once, as
// do those that come later, and every PostHostCommandUpdate that holds its
// answer, which answers it at once: a server shutting down is not held up
// by the long polls of its hosts. It is safe to call more than once.
func (s *Service) Close() { s.close() }

// Wire returns the service as the wire layer serves it.
func (s *Service) Wire() *wire.Service {
	return &wire.Service{TargetPrefix: TargetPrefix, SigningName: SigningName, Known: OperationNames,
		Ops: map[string]wire.Op{
			"PollHostCommand":               op(s.PollHostCommand),
			"PutHostCommandAcknowledgement": op(s.PutHostCommandAcknowledgement),
			"GetDeploymentSpecification":    op(s.GetDeploymentSpecification),
			"PutHostCommandComplete":        op(s.PutHostCommandComplete),
			"PostHostCommandUpdate":         op(s.PostHostCommandUpdate),
		}}
}

// validator is an input that checks the model's constraints.
type validator interface{ validate() error }

// op adapts a typed operation to a wire.Op: decode, validate, run.
func op[In any, PIn interface {
	*In
	validator
}, Out any](f func(context.Context, PIn) (Out, error)) wire.Op {
	return func(ctx context.Context, body []byte) (any, error) {
		in := PIn(new(In))
		if err := wire.DecodeJSON(body, in); err != nil {
			return nil, err
		}
		if err := in.validate(); err != nil {
			return nil, err
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, answer(err)
		}
		return out, nil
	}
}

// host identifies the request's host from its HostIdentifier.
func (s *Service) host(ctx context.Context, id string) (Host, error) {
	return s.cfg.Identify(ctx, id, wire.CallerFrom(ctx))
}

// tokenHost is the Host of an operation that names a command, not a host.
func tokenHost(ctx context.Context) Host {
	return Host{AccessKeyID: wire.CallerFrom(ctx).AccessKeyID}
}

// PollHostCommand waits up to PollWait for the host's next command.
func (s *Service) PollHostCommand(ctx context.Context, in *PollHostCommandInput) (*PollHostCommandOutput, error) {
	h, err := s.host(ctx, *in.HostIdentifier)
	if err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, s.cfg.PollWait)
	defer cancel()
	defer context.AfterFunc(s.closed, cancel)()
	c, err := s.cfg.Commands.Poll(wait, h)
	if err != nil || c == nil {
		return &PollHostCommandOutput{}, err
	}
	return &PollHostCommandOutput{HostCommand: &HostCommandInstance{
		HostCommandIdentifier: &c.Token, HostIdentifier: in.HostIdentifier,
		DeploymentExecutionId: &c.ExecutionID, CommandName: &c.Name, Nonce: &c.Nonce,
	}}, nil
}

// PutHostCommandAcknowledgement says whether the command is to run.
func (s *Service) PutHostCommandAcknowledgement(ctx context.Context, in *PutHostCommandAcknowledgementInput) (*PutHostCommandAcknowledgementOutput, error) {
	st, err := s.cfg.Commands.Acknowledge(ctx, tokenHost(ctx), *in.HostCommandIdentifier, in.Diagnostics)
	if err != nil {
		return nil, err
	}
	return &PutHostCommandAcknowledgementOutput{CommandStatus: status(st)}, nil
}

// GetDeploymentSpecification answers the execution's specification in a
// PKCS7/JSON envelope.
func (s *Service) GetDeploymentSpecification(ctx context.Context, in *GetDeploymentSpecificationInput) (*GetDeploymentSpecificationOutput, error) {
	h, err := s.host(ctx, *in.HostIdentifier)
	if err != nil {
		return nil, err
	}
	doc, err := s.cfg.Commands.Specification(ctx, h, *in.DeploymentExecutionId)
	if err != nil {
		return nil, err
	}
	env, err := s.cfg.Signer.Seal(doc)
	if err != nil {
		return nil, err
	}
	system := DeploymentSystem
	return &GetDeploymentSpecificationOutput{DeploymentSystem: &system, DeploymentSpecification: &DeploymentSpecification{
		GenericEnvelope: &Envelope{Format: &env.Format, Payload: &env.Payload},
	}}, nil
}

// PutHostCommandComplete records the command's end.
func (s *Service) PutHostCommandComplete(ctx context.Context, in *PutHostCommandCompleteInput) (*struct{}, error) {
	err := s.cfg.Commands.Complete(ctx, tokenHost(ctx), *in.HostCommandIdentifier, *in.CommandStatus, in.Diagnostics)
	if err != nil {
		return nil, err
	}
	return &struct{}{}, nil
}

// PostHostCommandUpdate records progress and says whether to go on: an
// InProgress answer is held up to UpdateWait (less once the service
// closes) in case it changes, any other is given at once.
func (s *Service) PostHostCommandUpdate(ctx context.Context, in *PostHostCommandUpdateInput) (*PostHostCommandUpdateOutput, error) {
	var est time.Time
	if in.EstimatedCompletionTime != nil {
		est = in.EstimatedCompletionTime.Time()
	}
	wait, cancel := context.WithTimeout(ctx, s.cfg.UpdateWait)
	defer cancel()
	defer context.AfterFunc(s.closed, cancel)()
	st, err := s.cfg.Commands.Update(wait, tokenHost(ctx), *in.HostCommandIdentifier, est, in.Diagnostics)
	if err != nil {
		return nil, err
	}
	return &PostHostCommandUpdateOutput{CommandStatus: status(st)}, nil
}

// status is st as an optional member: absent when empty.
func status(st string) *string {
	if st == "" {
		return nil
	}
	return &st
}
