package hostcmd

import "github.com/pipewright/pipewright/wire"

// The shapes of the codedeploy-commands model (the agent's
// vendor/gems/codedeploy-commands-1.0.0/apis/CodeDeployCommand.api.json),
// written by hand: member names exactly as the model spells them.

// Envelope is a formatted payload: a deployment specification
// ("PKCS7/JSON") or a host command's diagnostics (the agent sends "JSON").
type Envelope struct {
	Format  *string `json:"Format,omitempty"`
	Payload *string `json:"Payload,omitempty"`
}

// HostCommandInstance is one lifecycle event handed to a host.
type HostCommandInstance struct {
	HostCommandIdentifier *string `json:"HostCommandIdentifier,omitempty"`
	HostIdentifier        *string `json:"HostIdentifier,omitempty"`
	DeploymentExecutionId *string `json:"DeploymentExecutionId,omitempty"`
	CommandName           *string `json:"CommandName,omitempty"`
	Nonce                 *int64  `json:"Nonce,omitempty"`
}

// DeploymentSpecification holds the envelope of the generic specification
// and, when there is one, a variant's.
type DeploymentSpecification struct {
	GenericEnvelope *Envelope `json:"GenericEnvelope,omitempty"`
	VariantId       *string   `json:"VariantId,omitempty"`
	VariantEnvelope *Envelope `json:"VariantEnvelope,omitempty"`
}

// PollHostCommandInput asks for the host's next command.
type PollHostCommandInput struct {
	HostIdentifier *string `json:"HostIdentifier,omitempty"`
}

// PollHostCommandOutput carries the command, absent when none is ready.
type PollHostCommandOutput struct {
	HostCommand *HostCommandInstance `json:"HostCommand,omitempty"`
}

// PutHostCommandAcknowledgementInput says a host has received a command.
type PutHostCommandAcknowledgementInput struct {
	HostCommandIdentifier *string   `json:"HostCommandIdentifier,omitempty"`
	Diagnostics           *Envelope `json:"Diagnostics,omitempty"`
}

// PutHostCommandAcknowledgementOutput says whether to run the command.
type PutHostCommandAcknowledgementOutput struct {
	CommandStatus *string `json:"CommandStatus,omitempty"`
}

// GetDeploymentSpecificationInput asks for a deployment's specification.
type GetDeploymentSpecificationInput struct {
	DeploymentExecutionId *string `json:"DeploymentExecutionId,omitempty"`
	HostIdentifier        *string `json:"HostIdentifier,omitempty"`
}

// GetDeploymentSpecificationOutput carries the specification.
type GetDeploymentSpecificationOutput struct {
	DeploymentSystem        *string                  `json:"DeploymentSystem,omitempty"`
	DeploymentSpecification *DeploymentSpecification `json:"DeploymentSpecification,omitempty"`
}

// PutHostCommandCompleteInput reports a command's end.
type PutHostCommandCompleteInput struct {
	HostCommandIdentifier *string   `json:"HostCommandIdentifier,omitempty"`
	CommandStatus         *string   `json:"CommandStatus,omitempty"`
	Diagnostics           *Envelope `json:"Diagnostics,omitempty"`
}

// PostHostCommandUpdateInput reports a running command's progress.
type PostHostCommandUpdateInput struct {
	HostCommandIdentifier   *string         `json:"HostCommandIdentifier,omitempty"`
	EstimatedCompletionTime *wire.Timestamp `json:"EstimatedCompletionTime,omitempty"`
	Diagnostics             *Envelope       `json:"Diagnostics,omitempty"`
}

// PostHostCommandUpdateOutput says whether the command is still wanted.
type PostHostCommandUpdateOutput struct {
	CommandStatus *string `json:"CommandStatus,omitempty"`
}

// DeploymentCommandStatus values.
const (
	StatusPending    = "Pending"
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
)

// DeploymentSystem is the only deployment system the agent accepts.
const DeploymentSystem = "CodeDeploy"
