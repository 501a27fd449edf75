package server_test

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// Declarations used by the tests.

func sourceAction(repo string) types.ActionDeclaration {
	return types.ActionDeclaration{
		Name:            aws.String("Source"),
		ActionTypeId:    &types.ActionTypeId{Category: types.ActionCategorySource, Owner: types.ActionOwnerAws, Provider: aws.String("CodeCommit"), Version: aws.String("1")},
		Configuration:   map[string]string{"RepositoryName": repo, "BranchName": "main"},
		OutputArtifacts: []types.OutputArtifact{{Name: aws.String("code")}},
		Namespace:       aws.String("SourceVariables"),
	}
}

func commandsAction(name string, runOrder int32, commands ...string) types.ActionDeclaration {
	return types.ActionDeclaration{
		Name:           aws.String(name),
		ActionTypeId:   &types.ActionTypeId{Category: types.ActionCategoryCompute, Owner: types.ActionOwnerAws, Provider: aws.String("Commands"), Version: aws.String("1")},
		RunOrder:       aws.Int32(runOrder),
		Commands:       commands,
		InputArtifacts: []types.InputArtifact{{Name: aws.String("code")}},
	}
}

func approvalAction(name string) types.ActionDeclaration {
	return types.ActionDeclaration{
		Name:         aws.String(name),
		ActionTypeId: &types.ActionTypeId{Category: types.ActionCategoryApproval, Owner: types.ActionOwnerAws, Provider: aws.String("Manual"), Version: aws.String("1")},
	}
}

func stage(name string, actions ...types.ActionDeclaration) types.StageDeclaration {
	return types.StageDeclaration{Name: aws.String(name), Actions: actions}
}

// declaration returns a V2 pipeline with a CodeCommit source stage followed
// by the given stages.
func declaration(name, repo string, mode types.ExecutionMode, stages ...types.StageDeclaration) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name:          aws.String(name),
		RoleArn:       aws.String("arn:aws:iam::000000000000:role/pipewright"),
		ArtifactStore: &types.ArtifactStore{Type: types.ArtifactStoreTypeS3, Location: aws.String("pipewright-artifacts")},
		PipelineType:  types.PipelineTypeV2,
		ExecutionMode: mode,
		Stages:        append([]types.StageDeclaration{stage("Source", sourceAction(repo))}, stages...),
	}
}
