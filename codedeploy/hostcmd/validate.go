package hostcmd

import (
	"regexp"
	"unicode/utf8"

	"github.com/pipewright/pipewright/wire"
)

// executionIDPattern is the model's pattern of a DeploymentExecutionId.
var executionIDPattern = regexp.MustCompile(`^[^/]+/[^/]+/[^/]+/.+$`)

// The checks below are the model's constraints; a breach is a
// ClientException, the one client error the model declares.

func required(member string, v *string) error {
	if v == nil {
		return wire.Errorf(CodeClient, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(member))
	}
	return nil
}

func validateEnvelope(member string, e *Envelope) error {
	if e == nil {
		return nil
	}
	if e.Format != nil && (utf8.RuneCountInString(*e.Format) < 1 || utf8.RuneCountInString(*e.Format) > 64) {
		return wire.Errorf(CodeClient, "1 validation error detected: Value at '%s.format' failed to satisfy constraint: Member must have length between 1 and 64", lowerFirst(member))
	}
	if e.Payload != nil && utf8.RuneCountInString(*e.Payload) > 8192 {
		return wire.Errorf(CodeClient, "1 validation error detected: Value at '%s.payload' failed to satisfy constraint: Member must have length less than or equal to 8192", lowerFirst(member))
	}
	return nil
}

func validateStatus(v *string) error {
	switch *v {
	case StatusPending, StatusInProgress, StatusSucceeded, StatusFailed:
		return nil
	}
	return wire.Errorf(CodeClient, "1 validation error detected: Value '%s' at 'commandStatus' failed to satisfy constraint: Member must satisfy enum value set: [Pending, InProgress, Succeeded, Failed]", *v)
}

func validateExecutionID(v *string) error {
	if n := utf8.RuneCountInString(*v); n < 1 || n > 129 {
		return wire.Errorf(CodeClient, "1 validation error detected: Value '%s' at 'deploymentExecutionId' failed to satisfy constraint: Member must have length between 1 and 129", *v)
	}
	if !executionIDPattern.MatchString(*v) {
		return wire.Errorf(CodeClient, "1 validation error detected: Value '%s' at 'deploymentExecutionId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[^/]+/[^/]+/[^/]+/.+$", *v)
	}
	return nil
}

func (in *PollHostCommandInput) validate() error {
	return required("HostIdentifier", in.HostIdentifier)
}

func (in *PutHostCommandAcknowledgementInput) validate() error {
	if err := required("HostCommandIdentifier", in.HostCommandIdentifier); err != nil {
		return err
	}
	return validateEnvelope("Diagnostics", in.Diagnostics)
}

func (in *GetDeploymentSpecificationInput) validate() error {
	if err := required("DeploymentExecutionId", in.DeploymentExecutionId); err != nil {
		return err
	}
	if err := required("HostIdentifier", in.HostIdentifier); err != nil {
		return err
	}
	return validateExecutionID(in.DeploymentExecutionId)
}

func (in *PutHostCommandCompleteInput) validate() error {
	if err := required("HostCommandIdentifier", in.HostCommandIdentifier); err != nil {
		return err
	}
	if err := required("CommandStatus", in.CommandStatus); err != nil {
		return err
	}
	if err := validateStatus(in.CommandStatus); err != nil {
		return err
	}
	return validateEnvelope("Diagnostics", in.Diagnostics)
}

func (in *PostHostCommandUpdateInput) validate() error {
	if err := required("HostCommandIdentifier", in.HostCommandIdentifier); err != nil {
		return err
	}
	return validateEnvelope("Diagnostics", in.Diagnostics)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}
