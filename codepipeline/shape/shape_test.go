package shape

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pipewright/pipewright/wire"
)

func ptr[T any](v T) *T { return &v }

// validationMessage runs Validate and returns the ValidationException
// message, or "" when the input is valid.
func validationMessage(t *testing.T, in interface{ Validate() error }) string {
	t.Helper()
	err := in.Validate()
	if err == nil {
		return ""
	}
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeValidation || we.Status != http.StatusBadRequest {
		t.Fatalf("Validate() = %#v, want a 400 ValidationException", err)
	}
	return we.Message
}

// validPipeline is a CreatePipeline request that satisfies every constraint.
const validPipeline = `{
  "pipeline": {
    "name": "my-pipeline",
    "roleArn": "arn:aws:iam::123456789012:role/pipeline",
    "artifactStore": {"type": "S3", "location": "my-bucket"},
    "stages": [
      {"name": "Source", "actions": [{
        "name": "Checkout",
        "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
        "configuration": {"S3Bucket": "my-bucket", "S3ObjectKey": "src.zip"},
        "outputArtifacts": [{"name": "src"}]
      }]},
      {"name": "Build", "actions": [{
        "name": "Compile",
        "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
        "inputArtifacts": [{"name": "src"}],
        "runOrder": 1
      }]}
    ]
  },
  "tags": [{"key": "team", "value": "ci"}]
}`

func decodePipeline(t *testing.T, edit func(*CreatePipelineInput)) *CreatePipelineInput {
	t.Helper()
	var in CreatePipelineInput
	if err := wire.DecodeJSON([]byte(validPipeline), &in); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&in)
	}
	return &in
}

func TestValidInputsPass(t *testing.T) {
	if msg := validationMessage(t, decodePipeline(t, nil)); msg != "" {
		t.Fatalf("valid pipeline rejected: %s", msg)
	}
	// An input with nothing to check still validates (and to an untyped nil).
	if err := (&ListPipelinesInput{}).Validate(); err != nil {
		t.Fatalf("empty ListPipelinesInput: %v", err)
	}
}

func TestValidationMessages(t *testing.T) {
	tests := []struct {
		name string
		in   interface{ Validate() error }
		want string
	}{
		{
			name: "missing pipelineName",
			in:   &StopPipelineExecutionInput{PipelineExecutionId: ptr("0f5b9a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b")},
			want: "1 validation error detected: Value null at 'pipelineName' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "nested pattern",
			in:   decodePipeline(t, func(in *CreatePipelineInput) { in.Pipeline.Name = ptr("abc d") }),
			want: `1 validation error detected: Value 'abc d' at 'pipeline.name' failed to satisfy constraint: ` +
				`Member must satisfy regular expression pattern: [A-Za-z0-9.@\-_]+`,
		},
		{
			name: "maxResults below range",
			in:   &ListPipelineExecutionsInput{PipelineName: ptr("p"), MaxResults: ptr(int32(0))},
			want: "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: " +
				"Member must have value greater than or equal to 1",
		},
		{
			name: "maxResults above range",
			in:   &ListPipelineExecutionsInput{PipelineName: ptr("p"), MaxResults: ptr(int32(101))},
			want: "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: " +
				"Member must have value less than or equal to 100",
		},
		{
			name: "enum value not in set",
			in: decodePipeline(t, func(in *CreatePipelineInput) {
				in.Pipeline.Stages[1].Actions[0].ActionTypeId.Category = ptr(ActionCategory("Bogus"))
			}),
			want: "1 validation error detected: Value 'Bogus' at 'pipeline.stages.2.member.actions.1.member.actionTypeId.category' " +
				"failed to satisfy constraint: Member must satisfy enum value set: [Source, Build, Deploy, Test, Invoke, Approval, Compute]",
		},
		{
			name: "map keys and values",
			in: decodePipeline(t, func(in *CreatePipelineInput) {
				cfg := in.Pipeline.Stages[0].Actions[0].Configuration
				cfg[strings.Repeat("k", 51)] = "v"
				cfg["S3ObjectKey"] = ""
			}),
			// One violation per aspect, listing every constraint of the
			// keys or values, as AWS words it.
			want: "2 validation errors detected: " +
				"Value at 'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy constraint: " +
				"Map keys must satisfy constraint: [Member must have length less than or equal to 50, Member must have length greater than or equal to 1]; " +
				"Value at 'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy constraint: " +
				"Map value must satisfy constraint: [Member must have length less than or equal to 1000, Member must have length greater than or equal to 1]",
		},
		{
			name: "map value too long",
			in: decodePipeline(t, func(in *CreatePipelineInput) {
				in.Pipeline.Stages[1].Actions[0].Configuration = map[string]string{"ProjectName": strings.Repeat("v", 1001)}
			}),
			want: "1 validation error detected: " +
				"Value at 'pipeline.stages.2.member.actions.1.member.configuration' failed to satisfy constraint: " +
				"Map value must satisfy constraint: [Member must have length less than or equal to 1000, Member must have length greater than or equal to 1]",
		},
		{
			name: "environment variable type",
			in: decodePipeline(t, func(in *CreatePipelineInput) {
				in.Pipeline.Stages[1].Actions[0].EnvironmentVariables = []EnvironmentVariable{
					{Name: ptr("A"), Value: ptr("a"), Type: ptr(EnvironmentVariableTypeSecretsManager)},
					{Name: ptr("B"), Value: ptr("b"), Type: ptr(EnvironmentVariableType("PLAIN"))},
				}
			}),
			want: "1 validation error detected: Value 'PLAIN' at 'pipeline.stages.2.member.actions.1.member.environmentVariables.2.member.type' " +
				"failed to satisfy constraint: Member must satisfy enum value set: [PLAINTEXT, SECRETS_MANAGER]",
		},
		{
			name: "several violations in model order, depth first",
			in: decodePipeline(t, func(in *CreatePipelineInput) {
				p := in.Pipeline
				p.Name = ptr("")
				p.RoleArn = nil
				p.Stages[0].Actions[0].RunOrder = ptr(int32(1000))
				p.Stages[0].Actions[0].ActionTypeId.Owner = nil
				p.Stages[1].Actions = []ActionDeclaration{}
				p.Stages[1].Name = ptr("bad name")
				p.PipelineType = ptr(PipelineType("V3"))
				in.Tags[0].Key = nil
			}),
			want: "8 validation errors detected: " +
				"Value '' at 'pipeline.name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				`Value '' at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\-_]+; ` +
				"Value null at 'pipeline.roleArn' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'pipeline.stages.1.member.actions.1.member.actionTypeId.owner' failed to satisfy constraint: Member must not be null; " +
				"Value '1000' at 'pipeline.stages.1.member.actions.1.member.runOrder' failed to satisfy constraint: Member must have value less than or equal to 999; " +
				`Value 'bad name' at 'pipeline.stages.2.member.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\-_]+; ` +
				"Value 'V3' at 'pipeline.pipelineType' failed to satisfy constraint: Member must satisfy enum value set: [V1, V2]; " +
				"Value null at 'tags.1.member.key' failed to satisfy constraint: Member must not be null",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validationMessage(t, tt.in); got != tt.want {
				t.Errorf("message:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestGetPipelineStateOutputJSON(t *testing.T) {
	created := time.Date(2016, 9, 2, 20, 39, 48, 525_000_000, time.UTC)
	out := GetPipelineStateOutput{
		PipelineName:    ptr("my-pipeline"),
		PipelineVersion: ptr(int32(3)),
		Created:         wire.NewTimestamp(created),
		StageStates: []StageState{{
			StageName:              ptr("Source"),
			InboundTransitionState: &TransitionState{Enabled: ptr(false)},
			ActionStates: []ActionState{{
				ActionName:      ptr("Checkout"),
				LatestExecution: &ActionExecution{Status: ptr(ActionExecutionStatusSucceeded), LastStatusChange: wire.NewTimestamp(created.Add(time.Second))},
			}},
		}},
	}
	b, err := json.Marshal(&out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pipelineName":"my-pipeline","pipelineVersion":3,"stageStates":[{"stageName":"Source",` +
		`"inboundTransitionState":{"enabled":false},"actionStates":[{"actionName":"Checkout",` +
		`"latestExecution":{"status":"Succeeded","lastStatusChange":1472848789.525}}]}],"created":1472848788.525}`
	if string(b) != want {
		t.Fatalf("Marshal:\n got %s\nwant %s", b, want)
	}
	var back GetPipelineStateOutput
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.GetCreated().Equal(created) || back.Updated != nil || !back.GetUpdated().IsZero() {
		t.Errorf("timestamps after round trip: created %v updated %v", back.GetCreated(), back.Updated)
	}
	st := back.StageStates[0]
	if st.GetInboundTransitionState().GetEnabled() || st.ActionStates[0].GetLatestExecution().GetStatus() != ActionExecutionStatusSucceeded {
		t.Errorf("nested values after round trip: %+v", st)
	}
	// Getters are nil-safe all the way down.
	var none *GetPipelineStateOutput
	if none.GetPipelineName() != "" || none.GetPipelineVersion() != 0 || !none.GetCreated().IsZero() {
		t.Error("getters on a nil struct must return zero values")
	}
	if (&StageState{}).GetLatestExecution().GetStatus() != "" {
		t.Error("chained getters through a nil struct must return zero values")
	}
}

func TestEnums(t *testing.T) {
	if got := ActionCategory("").Values(); !slices.Equal(got, []ActionCategory{
		ActionCategorySource, ActionCategoryBuild, ActionCategoryDeploy, ActionCategoryTest,
		ActionCategoryInvoke, ActionCategoryApproval, ActionCategoryCompute}) {
		t.Errorf("ActionCategory values = %v", got)
	}
	if !StageRetryModeAllActions.IsValid() || StageRetryMode("ALL").IsValid() || string(StageRetryModeAllActions) != "ALL_ACTIONS" {
		t.Error("StageRetryMode.IsValid")
	}
}

// fakeService implements two CodePipeline operations.
type fakeService struct {
	stopped []string
	nilOut  bool
}

func (f *fakeService) StopPipelineExecution(ctx context.Context, in *StopPipelineExecutionInput) (*StopPipelineExecutionOutput, error) {
	f.stopped = append(f.stopped, in.GetPipelineName()+"/"+in.GetReason())
	return &StopPipelineExecutionOutput{PipelineExecutionId: in.PipelineExecutionId}, nil
}

func (f *fakeService) DeletePipeline(ctx context.Context, in *DeletePipelineInput) (*DeletePipelineOutput, error) {
	if f.nilOut {
		return nil, nil
	}
	return &DeletePipelineOutput{}, nil
}

func TestOperations(t *testing.T) {
	f := &fakeService{}
	ops := Operations(f)
	if len(ops) != 2 || ops["StopPipelineExecution"] == nil || ops["DeletePipeline"] == nil {
		t.Fatalf("Operations mapped %d ops, want exactly StopPipelineExecution and DeletePipeline", len(ops))
	}
	for name := range ops {
		if !slices.Contains(OperationNames, name) {
			t.Errorf("%s is not in OperationNames", name)
		}
	}
	// The model's 43 and ListDeployActionExecutionTargets from overlay.json.
	if len(OperationNames) != 44 || !slices.IsSorted(OperationNames) || !slices.Contains(OperationNames, "ListDeployActionExecutionTargets") {
		t.Errorf("OperationNames: %d names, sorted %v", len(OperationNames), slices.IsSorted(OperationNames))
	}
	if TargetPrefix != "CodePipeline_20150709" || SigningName != "codepipeline" {
		t.Errorf("TargetPrefix %q SigningName %q", TargetPrefix, SigningName)
	}

	ctx := context.Background()
	stop := ops["StopPipelineExecution"]
	out, err := stop(ctx, []byte(`{"pipelineName":"p1","pipelineExecutionId":"0f5b9a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b","reason":"why"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := out.(*StopPipelineExecutionOutput); !ok || o.GetPipelineExecutionId() != "0f5b9a3c-1b2d-4e5f-8a9b-0c1d2e3f4a5b" {
		t.Errorf("output = %#v", out)
	}
	if !slices.Equal(f.stopped, []string{"p1/why"}) {
		t.Errorf("handler calls = %v", f.stopped)
	}

	// Invalid input never reaches the handler.
	_, err = stop(ctx, []byte(`{"pipelineName":"p 1"}`))
	var we *wire.Error
	if !errors.As(err, &we) || we.Code != wire.CodeValidation || !strings.HasPrefix(we.Message, "2 validation errors detected: ") {
		t.Errorf("invalid input: %v", err)
	}
	_, err = stop(ctx, []byte(`{"pipelineName":5}`))
	if !errors.As(err, &we) || we.Code != wire.CodeSerialization {
		t.Errorf("malformed input: %v", err)
	}
	if len(f.stopped) != 1 {
		t.Errorf("handler reached with bad input: %v", f.stopped)
	}

	// A nil output pointer becomes an untyped nil, not a typed nil in an interface.
	f.nilOut = true
	out, err = ops["DeletePipeline"](ctx, []byte(`{"name":"p1"}`))
	if err != nil || out != nil {
		t.Errorf("nil output: got (%#v, %v), want (nil, nil)", out, err)
	}
	if len(Operations(struct{}{})) != 0 {
		t.Error("a value implementing nothing must map no operations")
	}
}
