package codepipeline

// actionType describes one action type pipewright knows: what a declaration
// of it may hold and whether pipewright runs it.
type actionType struct {
	id               ActionTypeID
	kind             actionKind
	minIn, maxIn     int
	minOut, maxOut   int
	config           []configProperty
	anyConfiguration bool // the type takes no fixed configuration keys
}

type configProperty struct {
	name          string
	required, key bool
	secret        bool
	queryable     bool
}

// actionTypes lists the AWS-owned action types pipewright accepts in a
// pipeline, in ListActionTypes order. Those of kind kindUnsupported are
// accepted (so real pipelines can be created and inspected) but their
// executions fail with a message that says pipewright does not run them yet.
var actionTypes = []actionType{
	{id: ActionTypeID{"Source", "AWS", "CodeCommit", "1"}, kind: kindSource, minOut: 1, maxOut: 1, config: []configProperty{
		{name: "RepositoryName", required: true, key: true, queryable: true},
		{name: "BranchName", required: true, key: true},
		{name: "PollForSourceChanges"},
		{name: "OutputArtifactFormat"},
	}},
	{id: ActionTypeID{"Compute", "AWS", "Commands", "1"}, kind: kindCommands, minIn: 1, maxIn: 10, maxOut: 1, anyConfiguration: true},
	{id: ActionTypeID{"Approval", "AWS", "Manual", "1"}, kind: kindApproval, config: []configProperty{
		{name: "NotificationArn"}, {name: "CustomData"}, {name: "ExternalEntityLink"},
	}},
	{id: ActionTypeID{"Source", "AWS", "S3", "1"}, kind: kindSource, minOut: 1, maxOut: 1, config: []configProperty{
		{name: "S3Bucket", required: true, key: true}, {name: "S3ObjectKey", required: true, key: true}, {name: "PollForSourceChanges"}, {name: "AllowOverrideForS3ObjectKey"},
	}},
	{id: ActionTypeID{"Source", "AWS", "CodeStarSourceConnection", "1"}, minOut: 1, maxOut: 1, anyConfiguration: true},
	{id: ActionTypeID{"Build", "AWS", "CodeBuild", "1"}, kind: kindBuild, minIn: 1, maxIn: 5, maxOut: 5, config: []configProperty{
		{name: "ProjectName", required: true, key: true, queryable: true}, {name: "PrimarySource"}, {name: "EnvironmentVariables"}, {name: "BatchEnabled"}, {name: "CombineArtifacts"},
	}},
	{id: ActionTypeID{"Test", "AWS", "CodeBuild", "1"}, kind: kindBuild, minIn: 1, maxIn: 5, maxOut: 5, config: []configProperty{
		{name: "ProjectName", required: true, key: true, queryable: true}, {name: "PrimarySource"}, {name: "EnvironmentVariables"}, {name: "BatchEnabled"}, {name: "CombineArtifacts"},
	}},
	{id: ActionTypeID{"Deploy", "AWS", "CodeDeploy", "1"}, kind: kindSource, minIn: 1, maxIn: 1, config: []configProperty{
		{name: "ApplicationName", required: true, key: true}, {name: "DeploymentGroupName", required: true, key: true},
	}},
	{id: ActionTypeID{"Deploy", "AWS", "S3", "1"}, kind: kindSource, minIn: 1, maxIn: 1, config: []configProperty{
		{name: "BucketName", required: true, key: true}, {name: "Extract", required: true}, {name: "ObjectKey"}, {name: "KMSEncryptionKeyARN"}, {name: "CannedACL"}, {name: "CacheControl"},
	}},
	{id: ActionTypeID{"Invoke", "AWS", "Lambda", "1"}, maxIn: 5, maxOut: 5, config: []configProperty{
		{name: "FunctionName", required: true, key: true}, {name: "UserParameters"},
	}},
}

// findActionType returns the known action type with the given id.
func findActionType(id ActionTypeID) *actionType {
	for i := range actionTypes {
		if actionTypes[i].id == id {
			return &actionTypes[i]
		}
	}
	return nil
}

// kindOf says how pipewright carries out actions of a type.
func kindOf(id ActionTypeID) actionKind {
	if t := findActionType(id); t != nil {
		return t.kind
	}
	return kindUnsupported
}
