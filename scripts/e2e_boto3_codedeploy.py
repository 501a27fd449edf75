"""The CodeDeploy part of scripts/e2e-boto3.py.

Drives pipewright's CodeDeploy operations with boto3's codedeploy client,
every raw answer checked against botocore's "codedeploy" model by the
caller it is given (errors included), and every list member of a structure
in an answer present, as [] when empty: applications, deployment configs
(custom and built-in), on-premises instances and their tags, deployment
groups and their tags, S3 revisions (zips put through the S3 endpoint with
boto3's s3 client), and deployments carried out by a real host: a
`pipewright agent` subprocess, killed at the end whatever happens. The
deployments: one that succeeds (its instances, targets and lifecycle
events), a second one while one is active (DeploymentLimitExceeded), one
stopped with automatic rollback while its BeforeInstall hook runs (Pending,
then Stopped, and the rollback Succeeded), stops of finished ones, one to a
group without instances (Failed NO_INSTANCES), and an operation of the
model pipewright does not implement.
"""

import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile

APP = "e2e-cd"
HOST, SPARE = "e2e-cd-host", "e2e-cd-spare"
BUCKET = "e2e-cd-revisions"
IN_PLACE_EVENTS = ["ApplicationStop", "DownloadBundle", "BeforeInstall", "Install", "AfterInstall", "ApplicationStart",
                   "ValidateService"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# AWS's API reference (MinimumHealthyHosts) says GetDeploymentConfig of
# CodeDeployDefault.OneAtATime answers the type MOST_CONCURRENCY, which
# botocore's enum does not list (botocore takes any string it is sent).
MOST_CONCURRENCY = ("GetDeploymentConfig.deploymentConfigInfo.minimumHealthyHosts.type = 'MOST_CONCURRENCY' "
                    "is not one of ['HOST_COUNT', 'FLEET_PERCENT']")


def secs(t):
    """A timestamp botocore parsed, in epoch seconds (0 when absent); the
    raw answer's are checked to be numbers by the shape check."""
    return t.timestamp() if hasattr(t, "timestamp") else 0


# Lists AWS sends only for other compute platforms than Server (a Server
# deployment group has no ECS services).
OTHER_PLATFORMS = {("DeploymentGroupInfo", "ecsServices")}


def missing_lists(value, shape, path):
    """Lists the list members of the structures in a decoded JSON answer
    that are absent where the shape has them."""
    out = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            if key not in value:
                if member.type_name == "list" and (shape.name, key) not in OTHER_PLATFORMS:
                    out.append("%s.%s" % (path, key))
                continue
            out += missing_lists(value[key], member, path + "." + key)
    elif shape.type_name == "list" and isinstance(value, list):
        for i, v in enumerate(value):
            out += missing_lists(v, shape.member, "%s[%d]" % (path, i))
    return out


def bundle(files):
    """A zip of {name: text}; scripts (.sh) are executable."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if name.endswith(".sh") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    return buf.getvalue()


def appspec(hooks):
    """An appspec.yml installing index.html to /srv/web, with hooks of
    {event: script}."""
    lines = ["version: 0.0", "os: linux", "files:", "  - source: index.html", "    destination: /srv/web", "hooks:"]
    for event, script in hooks.items():
        lines += ["  %s:" % event, "    - location: %s" % script, "      timeout: 60"]
    return "\n".join(lines) + "\n"


def s3_revision(key, **more):
    return {"revisionType": "S3", "s3Location": dict({"bucket": BUCKET, "key": key, "bundleType": "zip"}, **more)}


def run_codedeploy(call, s3, tmp, binary, endpoint, env, ok, check, wait_for):
    """Runs the CodeDeploy scenario. call is a caller of the codedeploy
    client that checks each raw answer against the model and keeps the last
    one in call.last; s3 a boto3 s3 client of the same endpoint; binary the
    pipewright built for the run; env the environment the agent runs in
    (the run's credentials and region)."""
    failed = []

    def test(what, cond, detail="", quiet=False):
        if not cond:
            failed.append(what)
        return check(what, cond, detail, quiet)

    def cd(op, error=None, quiet=False, **params):
        resp = call(op, error, quiet, **params)
        if call.last is not None and call.last.status_code < 300:
            out = call.model.operation_model(op).output_shape
            try:
                raw = json.loads(call.last.content or b"{}")
            except ValueError:
                raw = {}
            gone = missing_lists(raw, out, op) if out is not None else []
            test(op + ": every list of the shape is present", not gone, "absent: %s" % gone, quiet=True)
        if call.last is None:
            failed.append(op)
        return resp

    cd.model = call.model

    agent, agent_log = None, os.path.join(tmp, "cd-agent.log")
    try:
        _applications(cd, test)
        _configs(cd, test)
        user = _instances(cd, test)
        _groups(cd, test)
        _revisions(cd, s3, test)
        root = os.path.join(tmp, "cd-root")
        os.makedirs(root)
        print("== CodeDeploy: pipewright's agent as %s" % HOST, flush=True)
        with open(agent_log, "w") as log:
            agent = subprocess.Popen([binary, "agent", "--endpoint", endpoint, "--instance-name", HOST, "--root", root,
                                      "--stop-grace", "1s"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        ok("pipewright agent started (pid %d)" % agent.pid)
        _deployments(cd, test, wait_for, root, user)
    finally:
        if agent is not None:
            agent.terminate()
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait()
            test("the agent is gone at the end", agent.poll() is not None)
        if failed and os.path.exists(agent_log):
            print("-- last lines of the agent's log:", file=sys.stderr)
            with open(agent_log) as f:
                sys.stderr.write("".join(f.readlines()[-20:]))


def _applications(cd, test):
    print("== CodeDeploy: applications", flush=True)
    test("no applications is []", cd("ListApplications").get("applications") == [])
    got = cd("CreateApplication", applicationName=APP, computePlatform="Server", tags=[{"Key": "team", "Value": "ci"}])
    test("CreateApplication answers a UUID", bool(UUID.fullmatch(got.get("applicationId", ""))), repr(got))
    cd("CreateApplication", "ApplicationAlreadyExistsException", applicationName=APP)
    cd("CreateApplication", "InvalidComputePlatformException", applicationName=APP + "-fn", computePlatform="Lambda")
    info = cd("GetApplication", applicationName=APP).get("application", {})
    test("GetApplication: name, id, Server, createTime in epoch seconds",
         (info.get("applicationName"), info.get("applicationId"), info.get("computePlatform")) == (APP, got.get("applicationId"), "Server")
         and abs(secs(info.get("createTime")) - time.time()) < 600, repr(info))
    cd("GetApplication", "ApplicationDoesNotExistException", applicationName="missing")
    cd("CreateApplication", applicationName="e2e-cd-old")
    cd("UpdateApplication", applicationName="e2e-cd-old", newApplicationName="e2e-cd-new")
    cd("GetApplication", "ApplicationDoesNotExistException", applicationName="e2e-cd-old")
    cd("UpdateApplication", "ApplicationAlreadyExistsException", applicationName="e2e-cd-new", newApplicationName=APP)
    cd("UpdateApplication", "ApplicationDoesNotExistException", applicationName="missing", newApplicationName="x")
    got = cd("BatchGetApplications", applicationNames=[APP, "e2e-cd-new"]).get("applicationsInfo", [])
    test("BatchGetApplications", [a.get("applicationName") for a in got] == [APP, "e2e-cd-new"], repr(got))
    cd("BatchGetApplications", "ApplicationDoesNotExistException", applicationNames=[APP, "missing"])
    names = cd("ListApplications").get("applications")
    test("ListApplications follows the rename", names == [APP, "e2e-cd-new"], repr(names))
    cd("DeleteApplication", applicationName="e2e-cd-new")
    cd("GetApplication", "ApplicationDoesNotExistException", applicationName="e2e-cd-new")


def _configs(cd, test):
    print("== CodeDeploy: deployment configs", flush=True)
    got = cd("CreateDeploymentConfig", deploymentConfigName="e2e.OneHost", minimumHealthyHosts={"type": "HOST_COUNT", "value": 1})
    test("CreateDeploymentConfig answers a UUID", bool(UUID.fullmatch(got.get("deploymentConfigId", ""))), repr(got))
    cd("CreateDeploymentConfig", deploymentConfigName="e2e.Half", minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 50},
       computePlatform="Server")
    cd("CreateDeploymentConfig", "DeploymentConfigAlreadyExistsException", deploymentConfigName="e2e.Half",
       minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 50})
    cd("CreateDeploymentConfig", "InvalidMinimumHealthyHostValueException", deploymentConfigName="e2e.Over",
       minimumHealthyHosts={"type": "FLEET_PERCENT", "value": 100})
    cd("CreateDeploymentConfig", "InvalidDeploymentConfigNameException", deploymentConfigName="CodeDeployDefault.Mine",
       minimumHealthyHosts={"type": "HOST_COUNT", "value": 0})
    info = cd("GetDeploymentConfig", deploymentConfigName="e2e.OneHost").get("deploymentConfigInfo", {})
    test("GetDeploymentConfig of HOST_COUNT 1", (info.get("minimumHealthyHosts"), info.get("computePlatform"), info.get("deploymentConfigId"))
         == ({"type": "HOST_COUNT", "value": 1}, "Server", got.get("deploymentConfigId")), repr(info))
    info = cd("GetDeploymentConfig", deploymentConfigName="e2e.Half").get("deploymentConfigInfo", {})
    test("GetDeploymentConfig of FLEET_PERCENT 50", info.get("minimumHealthyHosts") == {"type": "FLEET_PERCENT", "value": 50}, repr(info))
    for name, want, waive in [("CodeDeployDefault.OneAtATime", {"type": "MOST_CONCURRENCY", "value": 1}, [MOST_CONCURRENCY]),
                              ("CodeDeployDefault.HalfAtATime", {"type": "FLEET_PERCENT", "value": 50}, []),
                              ("CodeDeployDefault.AllAtOnce", {"type": "HOST_COUNT", "value": 0}, [])]:
        info = cd("GetDeploymentConfig", deploymentConfigName=name, waive=waive).get("deploymentConfigInfo", {})
        test("the built-in %s is AWS's" % name, (info.get("deploymentConfigName"), info.get("minimumHealthyHosts"), info.get("computePlatform"))
             == (name, want, "Server"), repr(info))
    cd("GetDeploymentConfig", "DeploymentConfigDoesNotExistException", deploymentConfigName="missing")
    names = cd("ListDeploymentConfigs").get("deploymentConfigsList", [])
    test("ListDeploymentConfigs lists the built-in and custom ones", sorted(names) == sorted(
        ["CodeDeployDefault.OneAtATime", "CodeDeployDefault.HalfAtATime", "CodeDeployDefault.AllAtOnce", "e2e.OneHost", "e2e.Half"]),
         repr(names))
    cd("DeleteDeploymentConfig", "InvalidDeploymentConfigNameException", deploymentConfigName="CodeDeployDefault.AllAtOnce")
    cd("DeleteDeploymentConfig", deploymentConfigName="e2e.OneHost")
    cd("GetDeploymentConfig", "DeploymentConfigDoesNotExistException", deploymentConfigName="e2e.OneHost")


def _instances(cd, test):
    """Registers HOST (tagged role=web, for the agent) and SPARE (tagged,
    untagged and deregistered); returns HOST's IAM user ARN."""
    print("== CodeDeploy: on-premises instances", flush=True)
    user = "arn:aws:iam::000000000000:user/" + HOST
    spare_user = "arn:aws:iam::000000000000:user/" + SPARE
    test("no instances is []", cd("ListOnPremisesInstances").get("instanceNames") == [])
    cd("RegisterOnPremisesInstance", instanceName=HOST, iamUserArn=user)
    cd("RegisterOnPremisesInstance", "IamUserArnAlreadyRegisteredException", instanceName=SPARE, iamUserArn=user)
    cd("RegisterOnPremisesInstance", "InstanceNameAlreadyRegisteredException", instanceName=HOST, iamUserArn=spare_user)
    cd("RegisterOnPremisesInstance", "IamArnRequiredException", instanceName=SPARE)
    cd("RegisterOnPremisesInstance", "InvalidIamUserArnException", instanceName=SPARE, iamUserArn="arn:aws:iam::000000000000:role/x")
    cd("RegisterOnPremisesInstance", instanceName=SPARE, iamUserArn=spare_user)
    cd("AddTagsToOnPremisesInstances", instanceNames=[HOST], tags=[{"Key": "role", "Value": "web"}])
    cd("AddTagsToOnPremisesInstances", instanceNames=[SPARE], tags=[{"Key": "role", "Value": "spare"}, {"Key": "gone", "Value": "soon"}])
    cd("AddTagsToOnPremisesInstances", "InstanceNotRegisteredException", instanceNames=["missing"], tags=[{"Key": "k", "Value": "v"}])
    cd("AddTagsToOnPremisesInstances", "TagRequiredException", instanceNames=[HOST], tags=[])
    cd("RemoveTagsFromOnPremisesInstances", instanceNames=[SPARE], tags=[{"Key": "gone", "Value": "soon"}])
    info = cd("GetOnPremisesInstance", instanceName=HOST).get("instanceInfo", {})
    test("GetOnPremisesInstance", (info.get("instanceName"), info.get("iamUserArn"), info.get("tags"), info.get("instanceArn")) ==
         (HOST, user, [{"Key": "role", "Value": "web"}], "arn:aws:codedeploy:us-east-1:000000000000:instance/" + HOST)
         and abs(secs(info.get("registerTime")) - time.time()) < 600, repr(info))
    cd("GetOnPremisesInstance", "InstanceNotRegisteredException", instanceName="missing")
    got = cd("BatchGetOnPremisesInstances", instanceNames=[HOST, SPARE, "missing"]).get("instanceInfos", [])
    test("BatchGetOnPremisesInstances: the removed tag is gone, the missing one left out",
         [(i.get("instanceName"), i.get("tags")) for i in got] == [(HOST, [{"Key": "role", "Value": "web"}]),
                                                                   (SPARE, [{"Key": "role", "Value": "spare"}])], repr(got))
    names = cd("ListOnPremisesInstances", registrationStatus="Registered").get("instanceNames")
    test("ListOnPremisesInstances Registered", sorted(names or []) == [HOST, SPARE], repr(names))
    names = cd("ListOnPremisesInstances", tagFilters=[{"Key": "role", "Value": "web", "Type": "KEY_AND_VALUE"}]).get("instanceNames")
    test("ListOnPremisesInstances by KEY_AND_VALUE", names == [HOST], repr(names))
    names = cd("ListOnPremisesInstances", tagFilters=[{"Key": "role", "Type": "KEY_ONLY"}]).get("instanceNames")
    test("ListOnPremisesInstances by KEY_ONLY", sorted(names or []) == [HOST, SPARE], repr(names))
    cd("ListOnPremisesInstances", "InvalidRegistrationStatusException", registrationStatus="Sleeping")
    cd("DeregisterOnPremisesInstance", instanceName=SPARE)
    names = cd("ListOnPremisesInstances", registrationStatus="Deregistered").get("instanceNames")
    test("ListOnPremisesInstances Deregistered", names == [SPARE], repr(names))
    info = cd("GetOnPremisesInstance", instanceName=SPARE).get("instanceInfo", {})
    test("a deregistered instance has its deregisterTime", secs(info.get("deregisterTime")) > 0, repr(info))
    names = cd("ListOnPremisesInstances", registrationStatus="Registered").get("instanceNames")
    test("ListOnPremisesInstances Registered leaves it out", names == [HOST], repr(names))
    return user


def _groups(cd, test):
    print("== CodeDeploy: deployment groups and tags", flush=True)
    role = "arn:aws:iam::000000000000:role/CodeDeploy"
    web = [{"Key": "role", "Value": "web", "Type": "KEY_AND_VALUE"}]
    got = cd("CreateDeploymentGroup", applicationName=APP, deploymentGroupName="prod", serviceRoleArn=role,
             onPremisesInstanceTagFilters=web, tags=[{"Key": "stage", "Value": "prod"}])
    test("CreateDeploymentGroup answers a UUID", bool(UUID.fullmatch(got.get("deploymentGroupId", ""))), repr(got))
    prod_id = got.get("deploymentGroupId")
    cd("CreateDeploymentGroup", "DeploymentGroupAlreadyExistsException", applicationName=APP, deploymentGroupName="prod",
       serviceRoleArn=role, onPremisesInstanceTagFilters=web)
    cd("CreateDeploymentGroup", "ApplicationDoesNotExistException", applicationName="missing", deploymentGroupName="prod",
       serviceRoleArn=role)
    cd("CreateDeploymentGroup", "DeploymentConfigDoesNotExistException", applicationName=APP, deploymentGroupName="x",
       serviceRoleArn=role, deploymentConfigName="missing")
    cd("CreateDeploymentGroup", "InvalidEC2TagException", applicationName=APP, deploymentGroupName="ec2", serviceRoleArn=role,
       ec2TagFilters=[{"Key": "role", "Value": "web", "Type": "KEY_AND_VALUE"}])
    cd("CreateDeploymentGroup", applicationName=APP, deploymentGroupName="staging", serviceRoleArn=role, deploymentConfigName="e2e.Half",
       onPremisesTagSet={"onPremisesTagSetList": [[{"Key": "role", "Value": "spare", "Type": "KEY_AND_VALUE"}]]})
    cd("CreateDeploymentGroup", applicationName=APP, deploymentGroupName="nobody", serviceRoleArn=role,
       onPremisesInstanceTagFilters=[{"Key": "role", "Value": "nobody", "Type": "KEY_AND_VALUE"}])
    info = cd("GetDeploymentGroup", applicationName=APP, deploymentGroupName="prod").get("deploymentGroupInfo", {})
    test("GetDeploymentGroup", (info.get("deploymentGroupId"), info.get("deploymentConfigName"), info.get("onPremisesInstanceTagFilters"),
                                info.get("serviceRoleArn"), info.get("computePlatform"))
         == (prod_id, "CodeDeployDefault.OneAtATime", web, role, "Server"), repr(info))
    cd("GetDeploymentGroup", "DeploymentGroupDoesNotExistException", applicationName=APP, deploymentGroupName="missing")
    got = cd("BatchGetDeploymentGroups", applicationName=APP, deploymentGroupNames=["prod", "staging", "missing"])
    test("BatchGetDeploymentGroups: the missing one in errorMessage", [g.get("deploymentGroupName") for g in got.get("deploymentGroupsInfo", [])]
         == ["prod", "staging"] and "missing" in got.get("errorMessage", ""), repr(got))
    got = cd("ListDeploymentGroups", applicationName=APP)
    test("ListDeploymentGroups", got.get("applicationName") == APP and sorted(got.get("deploymentGroups", [])) == ["nobody", "prod", "staging"],
         repr(got))
    cd("ListDeploymentGroups", "ApplicationDoesNotExistException", applicationName="missing")
    got = cd("UpdateDeploymentGroup", applicationName=APP, currentDeploymentGroupName="staging", newDeploymentGroupName="staging2",
             deploymentConfigName="CodeDeployDefault.AllAtOnce")
    test("UpdateDeploymentGroup: hooksNotCleanedUp is []", got.get("hooksNotCleanedUp") == [], repr(got))
    info = cd("GetDeploymentGroup", applicationName=APP, deploymentGroupName="staging2").get("deploymentGroupInfo", {})
    test("the renamed group has the new config and keeps its tag set", info.get("deploymentConfigName") == "CodeDeployDefault.AllAtOnce"
         and info.get("onPremisesTagSet", {}).get("onPremisesTagSetList") == [[{"Key": "role", "Value": "spare", "Type": "KEY_AND_VALUE"}]],
         repr(info))
    cd("GetDeploymentGroup", "DeploymentGroupDoesNotExistException", applicationName=APP, deploymentGroupName="staging")
    cd("UpdateDeploymentGroup", "DeploymentGroupAlreadyExistsException", applicationName=APP, currentDeploymentGroupName="staging2",
       newDeploymentGroupName="prod")
    cd("UpdateDeploymentGroup", applicationName=APP, currentDeploymentGroupName="staging2", deploymentConfigName="e2e.Half")
    cd("DeleteDeploymentConfig", "DeploymentConfigInUseException", deploymentConfigName="e2e.Half")

    app_arn = "arn:aws:codedeploy:us-east-1:000000000000:application:" + APP
    group_arn = "arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:%s/prod" % APP
    tags = cd("ListTagsForResource", ResourceArn=app_arn).get("Tags")
    test("ListTagsForResource shows CreateApplication's tags", tags == [{"Key": "team", "Value": "ci"}], repr(tags))
    tags = cd("ListTagsForResource", ResourceArn=group_arn).get("Tags")
    test("ListTagsForResource shows CreateDeploymentGroup's tags", tags == [{"Key": "stage", "Value": "prod"}], repr(tags))
    cd("TagResource", ResourceArn=group_arn, Tags=[{"Key": "owner", "Value": "e2e"}, {"Key": "stage", "Value": "live"}])
    tags = cd("ListTagsForResource", ResourceArn=group_arn).get("Tags", [])
    test("TagResource adds and replaces", sorted((t["Key"], t["Value"]) for t in tags) == [("owner", "e2e"), ("stage", "live")], repr(tags))
    cd("UntagResource", ResourceArn=group_arn, TagKeys=["owner"])
    tags = cd("ListTagsForResource", ResourceArn=group_arn).get("Tags")
    test("UntagResource removes", tags == [{"Key": "stage", "Value": "live"}], repr(tags))
    cd("TagResource", "InvalidArnException", ResourceArn="arn:aws:codedeploy:eu-west-1:000000000000:application:" + APP,
       Tags=[{"Key": "k", "Value": "v"}])
    cd("TagResource", "ArnNotSupportedException", ResourceArn="arn:aws:codedeploy:us-east-1:000000000000:instance/" + HOST,
       Tags=[{"Key": "k", "Value": "v"}])
    cd("UntagResource", "TagRequiredException", ResourceArn=app_arn, TagKeys=[])
    # The model has no error for a resource that does not exist: any modelled
    # answer will do, and an answer is [] tags.
    outcomes = tuple(e.name for e in cd.model.operation_model("ListTagsForResource").error_shapes) + (None,)
    got = cd("ListTagsForResource", outcomes, ResourceArn=app_arn + "-missing")
    test("ListTagsForResource of a missing application has no tags", not got.get("Tags"), repr(got.get("Tags")))

    got = cd("DeleteDeploymentGroup", applicationName=APP, deploymentGroupName="staging2")
    test("DeleteDeploymentGroup: hooksNotCleanedUp is []", got.get("hooksNotCleanedUp") == [], repr(got))
    cd("GetDeploymentGroup", "DeploymentGroupDoesNotExistException", applicationName=APP, deploymentGroupName="staging2")
    cd("DeleteDeploymentConfig", deploymentConfigName="e2e.Half")


V1 = "<p>v1</p>\n"
V2 = "<p>v2</p>\n"


def _revisions(cd, s3, test):
    print("== CodeDeploy: revisions", flush=True)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="v1.zip", Body=bundle({
        "appspec.yml": appspec({"ApplicationStart": "scripts/start.sh"}), "index.html": V1,
        "scripts/start.sh": "#!/bin/sh\necho started v1\n"}))
    s3.put_object(Bucket=BUCKET, Key="v2.zip", Body=bundle({
        "appspec.yml": appspec({"BeforeInstall": "scripts/slow.sh"}), "index.html": V2,
        "scripts/slow.sh": "#!/bin/sh\nsleep %s\n" % SLOW}))
    cd("RegisterApplicationRevision", applicationName=APP, revision=s3_revision("v1.zip"), description="the first")
    cd("RegisterApplicationRevision", "InvalidRevisionException", applicationName=APP, revision=s3_revision("missing.zip"))
    cd("RegisterApplicationRevision", "ApplicationDoesNotExistException", applicationName="missing", revision=s3_revision("v1.zip"))
    got = cd("GetApplicationRevision", applicationName=APP, revision=s3_revision("v1.zip"))
    ri = got.get("revisionInfo", {})
    test("GetApplicationRevision: the description, registerTime, no deployment groups yet",
         (got.get("applicationName"), ri.get("description"), ri.get("deploymentGroups")) == (APP, "the first", [])
         and abs(secs(ri.get("registerTime")) - time.time()) < 600, repr(got))
    cd("GetApplicationRevision", "RevisionDoesNotExistException", applicationName=APP, revision=s3_revision("v2.zip"))
    got = cd("BatchGetApplicationRevisions", applicationName=APP, revisions=[s3_revision("v1.zip"), s3_revision("v2.zip")])
    test("BatchGetApplicationRevisions: the unregistered one in errorMessage", len(got.get("revisions", [])) == 1
         and "v2.zip" in got.get("errorMessage", ""), repr(got))
    keys = [r["s3Location"]["key"] for r in cd("ListApplicationRevisions", applicationName=APP).get("revisions", [])]
    test("ListApplicationRevisions", keys == ["v1.zip"], repr(keys))
    cd("ListApplicationRevisions", applicationName=APP, s3Bucket=BUCKET, s3KeyPrefix="v", sortBy="registerTime", sortOrder="descending",
       deployed="ignore")
    cd("ListApplicationRevisions", "BucketNameFilterRequiredException", applicationName=APP, s3KeyPrefix="v")


SLOW = "5.%04d" % (os.getpid() % 10000)  # the slow hook sleeps this long; its command line is unique to the run


def proc_running(argv):
    """Whether a process runs with exactly this command line."""
    want = "\0".join(argv) + "\0"
    for pid in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % pid) as f:
                if pid.isdigit() and f.read() == want:
                    return True
        except OSError:
            pass
    return False


def _deployments(cd, test, wait_for, root, user):
    def deployment(did):
        return cd("GetDeployment", quiet=True, deploymentId=did).get("deploymentInfo", {})

    def ended(did):
        d = deployment(did)
        return d if d.get("status") in ("Succeeded", "Failed", "Stopped") else None

    def index():
        try:
            with open(os.path.join(root, "srv", "web", "index.html")) as f:
                return f.read()
        except OSError as e:
            return str(e)

    print("== CodeDeploy: a deployment", flush=True)
    t0 = time.time() - 1
    first = cd("CreateDeployment", applicationName=APP, deploymentGroupName="prod", revision=s3_revision("v1.zip"),
               description="first").get("deploymentId", "")
    test("CreateDeployment answers d- and nine characters", bool(re.fullmatch(r"d-[A-Z0-9]{9}", first)), repr(first))
    d = wait_for("the agent carries it out", 60, lambda: ended(first)) or {}
    test("it Succeeded, by user, one instance Succeeded", (d.get("status"), d.get("creator"), d.get("deploymentOverview", {}).get("Succeeded"))
         == ("Succeeded", "user", 1), repr(d)[:400])
    times = [secs(d.get(k)) for k in ("createTime", "startTime", "completeTime")]
    test("its create, start and complete times are now, in order", t0 <= times[0] <= times[1] <= times[2] <= time.time() + 1, repr(times))
    test("the agent installed index.html under its root", index() == V1, repr(index()))
    cd("GetDeployment", deploymentId=first)
    cd("GetDeployment", "DeploymentDoesNotExistException", deploymentId="d-NOPE00000")
    cd("GetDeployment", "InvalidDeploymentIdException", deploymentId="nope")
    got = cd("BatchGetDeployments", deploymentIds=[first, "d-NOPE00000"]).get("deploymentsInfo", [])
    test("BatchGetDeployments leaves the unknown one out", [x.get("deploymentId") for x in got] == [first], repr(got)[:300])
    got = cd("ListDeploymentInstances", deploymentId=first).get("instancesList")
    test("ListDeploymentInstances", got == [HOST], repr(got))
    got = cd("ListDeploymentInstances", deploymentId=first, instanceStatusFilter=["Failed"]).get("instancesList")
    test("ListDeploymentInstances by status: none Failed is []", got == [], repr(got))
    s = cd("GetDeploymentInstance", deploymentId=first, instanceId=HOST).get("instanceSummary", {})
    events = s.get("lifecycleEvents", [])
    test("GetDeploymentInstance: Succeeded, AWS's events in order, all Succeeded",
         s.get("status") == "Succeeded" and [(e.get("lifecycleEventName"), e.get("status")) for e in events] ==
         [(n, "Succeeded") for n in IN_PLACE_EVENTS], repr(s)[:500])
    tail = next((e.get("diagnostics", {}).get("logTail", "") for e in events if e.get("lifecycleEventName") == "ApplicationStart"), "")
    test("ApplicationStart's log tail has the hook's output", "started v1" in tail, repr(tail))
    cd("GetDeploymentInstance", "InstanceDoesNotExistException", deploymentId=first, instanceId="missing")
    got = cd("BatchGetDeploymentInstances", deploymentId=first, instanceIds=[HOST, "missing"])
    test("BatchGetDeploymentInstances names the missing one", [x.get("instanceId") for x in got.get("instancesSummary", [])] == [HOST]
         and "missing" in got.get("errorMessage", ""), repr(got)[:300])
    got = cd("ListDeploymentTargets", deploymentId=first, targetFilters={"TargetStatus": ["Succeeded"], "ServerInstanceLabel": ["Blue"]})
    test("ListDeploymentTargets", got.get("targetIds") == [HOST], repr(got))
    cd("ListDeploymentTargets", "InvalidTargetFilterNameException", deploymentId=first, targetFilters={"Colour": ["Blue"]})
    t = cd("GetDeploymentTarget", deploymentId=first, targetId=HOST).get("deploymentTarget", {})
    it = t.get("instanceTarget", {})
    test("GetDeploymentTarget: an InstanceTarget, Succeeded, its ARN", (t.get("deploymentTargetType"), it.get("status"), it.get("targetArn"))
         == ("InstanceTarget", "Succeeded", "arn:aws:codedeploy:us-east-1:000000000000:instance/" + HOST)
         and len(it.get("lifecycleEvents", [])) == len(IN_PLACE_EVENTS), repr(t)[:400])
    cd("GetDeploymentTarget", "DeploymentTargetDoesNotExistException", deploymentId=first, targetId="missing")
    got = cd("BatchGetDeploymentTargets", deploymentId=first, targetIds=[HOST]).get("deploymentTargets", [])
    test("BatchGetDeploymentTargets", [x.get("instanceTarget", {}).get("targetId") for x in got] == [HOST], repr(got)[:300])
    cd("BatchGetDeploymentTargets", "DeploymentTargetDoesNotExistException", deploymentId=first, targetIds=[HOST, "missing"])
    cd("StopDeployment", "DeploymentAlreadyCompletedException", deploymentId=first)
    ri = cd("GetApplicationRevision", applicationName=APP, revision=s3_revision("v1.zip")).get("revisionInfo", {})
    test("the deployed revision names its group and first use", ri.get("deploymentGroups") == ["prod"]
         and secs(ri.get("firstUsedTime")) > 0, repr(ri))

    print("== CodeDeploy: a stop with rollback while a hook runs", flush=True)
    slow = cd("CreateDeployment", applicationName=APP, deploymentGroupName="prod", revision=s3_revision("v2.zip")).get("deploymentId", "")
    wait_for("its BeforeInstall hook runs", 30, lambda: proc_running(["sleep", SLOW]))
    cd("CreateDeployment", "DeploymentLimitExceededException", applicationName=APP, deploymentGroupName="prod",
       revision=s3_revision("v1.zip"))
    s = cd("GetDeploymentInstance", deploymentId=slow, instanceId=HOST).get("instanceSummary", {})
    running = {e.get("lifecycleEventName"): e.get("status") for e in s.get("lifecycleEvents", [])}
    test("the instance is InProgress, BeforeInstall InProgress", (s.get("status"), running.get("BeforeInstall")) == ("InProgress", "InProgress"),
         repr(s)[:400])
    got = cd("StopDeployment", deploymentId=slow, autoRollbackEnabled=True)
    test("StopDeployment while the hook runs answers Pending", got.get("status") == "Pending", repr(got))
    test("the hook is let finish (it still runs)", proc_running(["sleep", SLOW]))
    d = wait_for("the deployment ends once the hook has finished", 30, lambda: ended(slow)) or {}
    test("it is Stopped", d.get("status") == "Stopped", repr(d)[:400])
    test("the hook's sleep is gone", not proc_running(["sleep", SLOW]))
    rb = d.get("rollbackInfo", {}).get("rollbackDeploymentId", "")
    test("rollbackInfo names the rollback", bool(re.fullmatch(r"d-[A-Z0-9]{9}", rb)), repr(d.get("rollbackInfo")))
    s = cd("GetDeploymentInstance", deploymentId=slow, instanceId=HOST).get("instanceSummary", {})
    after = [(e.get("lifecycleEventName"), e.get("status")) for e in s.get("lifecycleEvents", [])]
    test("the events after BeforeInstall are Skipped", after[3:] == [(n, "Skipped") for n in IN_PLACE_EVENTS[3:]], repr(after))
    if rb:
        r = wait_for("the rollback ends", 60, lambda: ended(rb)) or {}
        test("the rollback Succeeded, by codeDeployRollback, of the first revision",
             (r.get("status"), r.get("creator"), r.get("revision", {}).get("s3Location", {}).get("key")) ==
             ("Succeeded", "codeDeployRollback", "v1.zip"), repr(r)[:400])
        test("the rollback names what it rolls back", r.get("rollbackInfo", {}).get("rollbackTriggeringDeploymentId") == slow,
             repr(r.get("rollbackInfo")))
        test("index.html is the first revision's", index() == V1, repr(index()))
    cd("StopDeployment", "DeploymentAlreadyCompletedException", deploymentId=slow, autoRollbackEnabled=True)

    print("== CodeDeploy: lists of deployments, no instances, an unknown operation", flush=True)
    got = cd("ListDeployments", applicationName=APP, deploymentGroupName="prod").get("deployments", [])
    test("ListDeployments of the group, newest first", got == [x for x in [rb, slow, first] if x], repr(got))
    got = cd("ListDeployments", includeOnlyStatuses=["Stopped"]).get("deployments")
    test("ListDeployments by status", got == [slow], repr(got))
    got = cd("ListDeployments", applicationName=APP, createTimeRange={"start": t0, "end": time.time() + 60}).get("deployments", [])
    test("ListDeployments in a time range", sorted(got) == sorted(x for x in [rb, slow, first] if x), repr(got))
    got = cd("ListDeployments", createTimeRange={"start": time.time() + 3600}).get("deployments")
    test("ListDeployments of a future range is []", got == [], repr(got))
    cd("ListDeployments", "ApplicationNameRequiredException", deploymentGroupName="prod")
    cd("ListDeployments", "InvalidDeploymentStatusException", includeOnlyStatuses=["Sleeping"])

    none = cd("CreateDeployment", applicationName=APP, deploymentGroupName="nobody", revision=s3_revision("v1.zip")).get("deploymentId", "")
    d = deployment(none)
    test("a group without instances: the deployment Failed NO_INSTANCES", (d.get("status"), d.get("errorInformation", {}).get("code"))
         == ("Failed", "NO_INSTANCES"), repr(d)[:400])
    test("it has no instances", cd("ListDeploymentInstances", deploymentId=none).get("instancesList") == [])
    cd("StopDeployment", "DeploymentAlreadyCompletedException", deploymentId=none)
    cd("CreateDeployment", "DeploymentGroupDoesNotExistException", applicationName=APP, deploymentGroupName="missing",
       revision=s3_revision("v1.zip"))
    cd("CreateDeployment", "InvalidRevisionException", applicationName=APP, deploymentGroupName="prod", revision=s3_revision("missing.zip"))

    err = cd("ContinueDeployment", "UnknownOperationException", deploymentId=first)
    msg = err.get("Error", {}).get("Message", "")
    test("an unimplemented CodeDeploy operation names itself",
         msg == "pipewright does not implement CodeDeploy_20141006.ContinueDeployment yet", repr(msg))
    cd("DeleteApplication", applicationName=APP)
    cd("GetApplication", "ApplicationDoesNotExistException", applicationName=APP)
    cd("DeregisterOnPremisesInstance", instanceName=HOST)
    info = cd("GetOnPremisesInstance", instanceName=HOST).get("instanceInfo", {})
    test("the agent's instance is deregistered", info.get("iamUserArn") == user and "deregisterTime" in info, repr(info))
