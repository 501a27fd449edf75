package codedeploy

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/pipewright/pipewright/wire"
)

// The CodeDeploy exceptions pipewright answers with, as the model names
// them. This is the one place where the service's failures get their AWS
// names.
const (
	excApplicationAlreadyExists     = "ApplicationAlreadyExistsException"
	excApplicationDoesNotExist      = "ApplicationDoesNotExistException"
	excApplicationNameRequired      = "ApplicationNameRequiredException"
	excArnNotSupported              = "ArnNotSupportedException"
	excBatchLimitExceeded           = "BatchLimitExceededException"
	excBucketNameFilterRequired     = "BucketNameFilterRequiredException"
	excConfigAlreadyExists          = "DeploymentConfigAlreadyExistsException"
	excConfigDoesNotExist           = "DeploymentConfigDoesNotExistException"
	excConfigInUse                  = "DeploymentConfigInUseException"
	excConfigNameRequired           = "DeploymentConfigNameRequiredException"
	excDescriptionTooLong           = "DescriptionTooLongException"
	excGroupAlreadyExists           = "DeploymentGroupAlreadyExistsException"
	excGroupDoesNotExist            = "DeploymentGroupDoesNotExistException"
	excGroupNameRequired            = "DeploymentGroupNameRequiredException"
	excIamArnRequired               = "IamArnRequiredException"
	excIamSessionArnRegistered      = "IamSessionArnAlreadyRegisteredException"
	excIamUserArnRegistered         = "IamUserArnAlreadyRegisteredException"
	excInstanceLimitExceeded        = "InstanceLimitExceededException"
	excMultipleIamArnsProvided      = "MultipleIamArnsProvidedException"
	excInstanceNameRegistered       = "InstanceNameAlreadyRegisteredException"
	excInstanceNameRequired         = "InstanceNameRequiredException"
	excInstanceNotRegistered        = "InstanceNotRegisteredException"
	excInvalidAlarmConfig           = "InvalidAlarmConfigException"
	excInvalidApplicationName       = "InvalidApplicationNameException"
	excInvalidArn                   = "InvalidArnException"
	excInvalidAutoRollbackConfig    = "InvalidAutoRollbackConfigException"
	excInvalidAutoScalingGroup      = "InvalidAutoScalingGroupException"
	excInvalidBlueGreenConfig       = "InvalidBlueGreenDeploymentConfigurationException"
	excInvalidComputePlatform       = "InvalidComputePlatformException"
	excInvalidConfigName            = "InvalidDeploymentConfigNameException"
	excInvalidDeployedStateFilter   = "InvalidDeployedStateFilterException"
	excInvalidDeploymentStyle       = "InvalidDeploymentStyleException"
	excInvalidEC2Tag                = "InvalidEC2TagException"
	excInvalidECSService            = "InvalidECSServiceException"
	excInvalidGroupName             = "InvalidDeploymentGroupNameException"
	excInvalidIamSessionArn         = "InvalidIamSessionArnException"
	excInvalidIamUserArn            = "InvalidIamUserArnException"
	excInvalidInstanceName          = "InvalidInstanceNameException"
	excInvalidLoadBalancerInfo      = "InvalidLoadBalancerInfoException"
	excInvalidMinimumHealthyHosts   = "InvalidMinimumHealthyHostValueException"
	excInvalidNextToken             = "InvalidNextTokenException"
	excInvalidOnPremisesTagCombo    = "InvalidOnPremisesTagCombinationException"
	excInvalidRegistrationStatus    = "InvalidRegistrationStatusException"
	excInvalidRevision              = "InvalidRevisionException"
	excInvalidRole                  = "InvalidRoleException"
	excInvalidSortBy                = "InvalidSortByException"
	excInvalidSortOrder             = "InvalidSortOrderException"
	excInvalidTag                   = "InvalidTagException"
	excInvalidTagFilter             = "InvalidTagFilterException"
	excInvalidTagsToAdd             = "InvalidTagsToAddException"
	excInvalidTrafficRouting        = "InvalidTrafficRoutingConfigurationException"
	excInvalidTriggerConfig         = "InvalidTriggerConfigException"
	excInvalidZonalConfig           = "InvalidZonalDeploymentConfigurationException"
	excResourceArnRequired          = "ResourceArnRequiredException"
	excRevisionDoesNotExist         = "RevisionDoesNotExistException"
	excRevisionRequired             = "RevisionRequiredException"
	excRoleRequired                 = "RoleRequiredException"
	excTagLimitExceeded             = "TagLimitExceededException"
	excTagRequired                  = "TagRequiredException"
	excTagSetListLimitExceeded      = "TagSetListLimitExceededException"
	excInvalidKeyPrefixFilter       = "InvalidKeyPrefixFilterException"
	excInvalidBucketNameFilter      = "InvalidBucketNameFilterException"
	excInvalidOperation             = "InvalidOperationException"
	excDeploymentGroupLimitExceeded = "DeploymentGroupLimitExceededException"
	excDeploymentIDRequired         = "DeploymentIdRequiredException"
	excInvalidDeploymentID          = "InvalidDeploymentIdException"
	excDeploymentDoesNotExist       = "DeploymentDoesNotExistException"
	excDeploymentLimitExceeded      = "DeploymentLimitExceededException"
	excDeploymentAlreadyCompleted   = "DeploymentAlreadyCompletedException"
	excInvalidFileExistsBehavior    = "InvalidFileExistsBehaviorException"
	excInvalidTargetInstances       = "InvalidTargetInstancesException"
	excInvalidDeploymentStatus      = "InvalidDeploymentStatusException"
	excInvalidTimeRange             = "InvalidTimeRangeException"
	excInstanceIDRequired           = "InstanceIdRequiredException"
	excInstanceDoesNotExist         = "InstanceDoesNotExistException"
	excInvalidInstanceStatus        = "InvalidInstanceStatusException"
	excInvalidInstanceType          = "InvalidInstanceTypeException"
	excTargetIDRequired             = "DeploymentTargetIdRequiredException"
	excTargetDoesNotExist           = "DeploymentTargetDoesNotExistException"
	excTargetListSizeExceeded       = "DeploymentTargetListSizeExceededException"
	excInvalidTargetFilterName      = "InvalidTargetFilterNameException"
)

func apiError(typ, format string, args ...any) *wire.Error {
	return &wire.Error{Code: typ, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func applicationNotFound(name string) *wire.Error {
	return apiError(excApplicationDoesNotExist, "No application found for name: %s", name)
}

func groupNotFound(app, name string) *wire.Error {
	return apiError(excGroupDoesNotExist, "No Deployment Group found for name: %s in application %s", name, app)
}

func configNotFound(name string) *wire.Error {
	return apiError(excConfigDoesNotExist, "No deployment configuration found for name: %s", name)
}

func instanceNotRegistered(name string) *wire.Error {
	return apiError(excInstanceNotRegistered, "The on-premises instance %s is not registered", name)
}

// isCode reports whether err is the service's exception typ.
func isCode(err error, typ string) bool {
	var we *wire.Error
	return errors.As(err, &we) && we.Code == typ
}
