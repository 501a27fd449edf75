#!/usr/bin/env python3
"""End-to-end test of pipewright with boto3, every answer checked against
botocore's service model.

Builds the server into a temporary directory, starts it on a free
127.0.0.1 port with a temporary --data, creates a git repository under its
git root, and drives every CodePipeline operation pipewright implements
with boto3 (good requests and the errors they can get): pipelines, their
versions and tags, executions with a source, a Commands action and a
manual approval, stops, retries, transitions, and an operation of the
model that pipewright does not implement. Then every CodeBuild operation it
implements (NO_SOURCE and CODECOMMIT projects, builds that succeed, fail and
are stopped, retries, lists, deletes) and every CloudWatch Logs one (a
build's stream; groups and streams made and written through the API), each
with its errors, and an unimplemented operation of each. Then S3
(scripts/e2e_boto3_s3.py): its operations, errors and the transfer
manager's upload_file/download_file of 100 MB. Then CodeDeploy
(scripts/e2e_boto3_codedeploy.py): applications, deployment configs,
on-premises instances, deployment groups, tags and S3 revisions, and
deployments carried out by a `pipewright agent` subprocess (a success, a
second active one refused, a stop with rollback while a hook runs, a group
without instances), each with its errors, and an unimplemented operation.

Every answer is checked on the raw JSON the server sent, not on what
botocore made of it (botocore drops members it does not know): each member
is one of the output shape's, of the model's type (string, integer,
boolean, timestamp as epoch seconds, list, map, structure), enum values are
the model's, required members are present, nothing is null, and errors are
{"__type", "message"} with a type modelled for the operation. Behaviour is
checked too (status codes, error types, the values a user relies on).

Run with pyenv's python3 (current boto3/botocore). Prints
"e2e-boto3: N passed, M failed" and exits 1 when anything failed.
E2E_BOTO3_LIMIT is the time limit in seconds after the build (default 120).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

try:
    import boto3
    import botocore
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from e2e_boto3_codedeploy import run_codedeploy
    from e2e_boto3_s3 import run_s3
except ImportError as e:
    print("e2e-boto3: %s: run it with a python3 that has boto3 (pyenv's)" % e, file=sys.stderr)
    print("e2e-boto3: 0 passed, 1 failed")
    sys.exit(1)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY, SECRET, REGION, ACCOUNT = "AKIAPIPEWRIGHTE2EB01", "e2e-boto3-secret-key-0123456789", "us-east-1", "000000000000"
ROLE = "arn:aws:iam::000000000000:role/pipewright"

PASSED = 0
FAILED = 0


def ok(what, quiet=False):
    global PASSED
    PASSED += 1
    if not quiet:
        print("  ok   " + what, flush=True)


def bad(what):
    global FAILED
    FAILED += 1
    print("  FAIL " + what, file=sys.stderr, flush=True)


def check(what, cond, detail="", quiet=False):
    if cond:
        ok(what, quiet)
    else:
        bad(what + (": " + detail if detail else ""))
    return cond


def say(what):
    print("== " + what, flush=True)


def summary():
    print("e2e-boto3: %d passed, %d failed" % (PASSED, FAILED), flush=True)


# ------------------------------------------------------------ shape checks

MODEL = botocore.session.get_session().get_service_model("codepipeline")
# Errors any operation can answer, whatever the model lists for it.
COMMON_ERRORS = {"UnknownOperationException", "SerializationException", "InternalFailure",
                 "ThrottlingException", "ConflictException"}


def shape_problems(value, shape, path):
    """Lists how a decoded JSON value breaks the botocore shape."""
    if value is None:
        return ["%s is null" % path]
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            return ["%s is %s, want a structure" % (path, type(value).__name__)]
        out = []
        names = {m.serialization.get("name", n): (n, m) for n, m in shape.members.items()}
        for k, v in value.items():
            if k not in names:
                out.append("%s.%s is not a member of %s" % (path, k, shape.name))
                continue
            out += shape_problems(v, names[k][1], path + "." + k)
        for r in shape.required_members:
            if r not in value:
                out.append("%s lacks the required member %s" % (path, r))
        return out
    if t == "list":
        if not isinstance(value, list):
            return ["%s is %s, want a list" % (path, type(value).__name__)]
        out = []
        for i, v in enumerate(value):
            out += shape_problems(v, shape.member, "%s[%d]" % (path, i))
        return out
    if t == "map":
        if not isinstance(value, dict):
            return ["%s is %s, want a map" % (path, type(value).__name__)]
        out = []
        for k, v in value.items():
            out += shape_problems(k, shape.key, "%s key %r" % (path, k))
            out += shape_problems(v, shape.value, "%s[%r]" % (path, k))
        return out
    if t == "string":
        if not isinstance(value, str):
            return ["%s is %s, want a string" % (path, type(value).__name__)]
        if shape.enum and value not in shape.enum:
            return ["%s = %r is not one of %s" % (path, value, shape.enum)]
        return []
    if t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return ["%s = %r, want an integer" % (path, value)]
        return []
    if t == "boolean":
        return [] if isinstance(value, bool) else ["%s = %r, want a boolean" % (path, value)]
    if t in ("timestamp", "double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return ["%s = %r, want a number (timestamps are epoch seconds)" % (path, value)]
        return []
    if t == "blob":
        return [] if isinstance(value, str) else ["%s = %r, want base64 text" % (path, value)]
    return ["%s has type %s, which this check does not know" % (path, t)]


def answer_problems(op, http):
    """Lists how one raw answer of operation op breaks the model."""
    out = []
    if http.headers.get("Content-Type") != "application/x-amz-json-1.1":
        out.append("Content-Type %r" % http.headers.get("Content-Type"))
    if not re.fullmatch(r"[0-9a-f-]{36}", http.headers.get("x-amzn-RequestId", "")):
        out.append("x-amzn-RequestId %r" % http.headers.get("x-amzn-RequestId"))
    try:
        body = json.loads(http.content or b"null")
    except ValueError as e:
        return out + ["body is not JSON: %s" % e]
    if not isinstance(body, dict):
        return out + ["body %r is not a JSON object" % body]
    if http.status_code < 300:
        if op.output_shape is None:
            return out + ([] if body == {} else ["body %r of an operation without output" % body])
        return out + shape_problems(body, op.output_shape, op.name)
    code = body.get("__type")
    modelled = [e.name for e in op.error_shapes]
    if code not in modelled and code not in COMMON_ERRORS:
        out.append("error type %r is not modelled for %s (%s)" % (code, op.name, modelled))
    want = 409 if code == "ConflictException" else 400
    if http.status_code != want:
        out.append("HTTP %d for %s, want %d" % (http.status_code, code, want))
    if http.headers.get("X-Amzn-ErrorType") != code:
        out.append("X-Amzn-ErrorType %r, want %r" % (http.headers.get("X-Amzn-ErrorType"), code))
    if not isinstance(body.get("message"), str):
        out.append("error without a message: %r" % body)
    allowed = {"__type", "message"}
    if code in modelled:
        allowed |= set(op.service_model.shape_for(code).members)
    extra = set(body) - allowed
    if extra:
        out.append("error members %s are not modelled" % sorted(extra))
    return out


def self_test():
    """The shape check finds what it must: answers that break the model."""
    op = MODEL.operation_model("ListActionExecutions").output_shape
    detail = {"pipelineExecutionId": "e", "status": "InProgress", "startTime": 1.5,
              "input": {"inputArtifacts": [], "configuration": {}}, "output": {"outputVariables": {}}}
    for what, body, want in [
        ("a valid answer", {"actionExecutionDetails": [detail]}, ""),
        ("an unknown member", {"actionExecutionDetails": [], "extra": 1}, "not a member"),
        ("a null", {"actionExecutionDetails": None}, "is null"),
        ("a map where a list belongs", {"actionExecutionDetails": {}}, "want a list"),
        ("an enum value out of range", {"actionExecutionDetails": [dict(detail, status="Running")]}, "is not one of"),
        ("a timestamp as text", {"actionExecutionDetails": [dict(detail, startTime="2026-01-01")]}, "want a number"),
        ("a boolean as a number", {"actionExecutionDetails": [dict(detail, pipelineVersion=True)]}, "want an integer"),
        ("a list where a map belongs", {"actionExecutionDetails": [dict(detail, output={"outputVariables": []})]}, "want a map"),
    ]:
        found = "; ".join(shape_problems(body, op, "out"))
        check("shape check: " + what, (want in found) if want else not found, found or "nothing found")
    missing = shape_problems({"status": "Succeeded"}, MODEL.shape_for("StageExecution"), "s")
    check("shape check: a required member missing", any("required member pipelineExecutionId" in p for p in missing), repr(missing))


# ------------------------------------------------------------ calls


class Caller:
    """Calls operations of one service with boto3 and checks each raw answer
    against that service's model."""

    def __init__(self, client):
        self.client = client
        self.model = client.meta.service_model
        self.last = None
        client.meta.events.register("after-call." + self.model.service_id.hyphenize(), self._keep)

    def _keep(self, http_response=None, **_):
        self.last = http_response

    def __call__(self, op, error=None, quiet=False, waive=(), **params):
        """Calls op; checks the answer's shape and that it is a success, or
        the error type `error`, or one of a tuple of them (None: success)
        (quiet: counted, printed only if it fails). waive lists problems
        that AWS's own answer has (say why where it is given). Returns the
        parsed answer (or the error's)."""
        self.last = None
        model = self.model.operation_model(op)
        wanted = error if isinstance(error, tuple) else (error,)
        want = " or ".join(e or "success" for e in wanted)
        what = op + (" -> " + want if wanted != (None,) else "")
        try:
            resp = getattr(self.client, botocore.xform_name(op))(**params)
            code = None
        except ClientError as e:
            resp, code = e.response, e.response["Error"]["Code"]
        if self.last is None:
            bad(what + ": no answer was seen")
            return resp
        problems = [p for p in answer_problems(model, self.last) if p not in waive]
        if code not in wanted:
            problems.insert(0, "answered %s, want %s: %s" % (code or "success", want,
                                                             resp.get("Error", {}).get("Message", "")))
        check(what, not problems, "; ".join(problems[:5]), quiet)
        return resp


def wait_for(what, seconds, fn):
    deadline = time.time() + seconds
    while True:
        v = fn()
        if v:
            ok(what)
            return v
        if time.time() > deadline:
            bad("%s: not reached in %ds" % (what, seconds))
            return None
        time.sleep(0.1)


# ------------------------------------------------------------ server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp):
    say("build")
    binary = os.path.join(tmp, "pipewright")
    subprocess.run(["go", "build", "-o", binary, "./cmd/pipewright"], cwd=REPO, check=True)
    ok("go build ./cmd/pipewright")
    say("serve")
    data = os.path.join(tmp, "data")
    port = free_port()
    env = dict(os.environ, PIPEWRIGHT_ACCESS_KEY_ID=KEY, PIPEWRIGHT_SECRET_ACCESS_KEY=SECRET)
    log = open(os.path.join(tmp, "server.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--addr", "127.0.0.1:%d" % port, "--data", data, "--stop-grace", "1s",
                             "--region", REGION, "--account-id", ACCOUNT],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 20
    while time.time() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            ok("server listens on 127.0.0.1:%d" % port)
            return proc, data, "http://127.0.0.1:%d" % port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start; see its log")


def git_repo(data):
    repo = os.path.join(data, "git", "app")
    os.makedirs(repo)
    env = dict(os.environ, GIT_AUTHOR_NAME="e2e", GIT_AUTHOR_EMAIL="e2e@example.com",
               GIT_COMMITTER_NAME="e2e", GIT_COMMITTER_EMAIL="e2e@example.com")
    with open(os.path.join(repo, "hello.sh"), "w") as f:
        f.write("echo hello\n")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "first commit"]):
        subprocess.run(["git", "-C", repo] + args, env=env, check=True)
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


# ------------------------------------------------------------ scenario


def action_type(category, provider):
    return {"category": category, "owner": "AWS", "provider": provider, "version": "1"}


def declaration(name, mode="SUPERSEDED"):
    return {
        "name": name, "roleArn": ROLE, "pipelineType": "V2", "executionMode": mode,
        "artifactStore": {"type": "S3", "location": "e2e-artifacts"},
        "variables": [{"name": "GREETING", "defaultValue": "hello", "description": "what Build says"}],
        "stages": [
            {"name": "Source", "actions": [{
                "name": "Source", "actionTypeId": action_type("Source", "CodeCommit"), "namespace": "SourceVariables",
                "configuration": {"RepositoryName": "app", "BranchName": "main"},
                "outputArtifacts": [{"name": "code"}]}]},
            {"name": "Build", "actions": [{
                "name": "Build", "actionTypeId": action_type("Compute", "Commands"), "namespace": "BuildVariables",
                "commands": ["bash hello.sh", "mkdir -p dist && cp hello.sh dist/", "export SAID=#{variables.GREETING}",
                             'test "$PLAIN" = p && test "$SECRET" = s'],
                "environmentVariables": [{"name": "PLAIN", "value": "p", "type": "PLAINTEXT"},
                                         {"name": "SECRET", "value": "s", "type": "SECRETS_MANAGER"}],
                "outputVariables": ["SAID"], "inputArtifacts": [{"name": "code"}],
                "outputArtifacts": [{"name": "dist", "files": ["dist/**"]}]}]},
            {"name": "Approve", "actions": [{"name": "Ok", "actionTypeId": action_type("Approval", "Manual")}]},
        ],
    }


def run(call):
    arn = "arn:aws:codepipeline:%s:%s:e2e" % (REGION, ACCOUNT)

    say("pipelines")
    out = call("ListPipelines")
    check("no pipelines is []", out.get("pipelines") == [], repr(out))
    types = call("ListActionTypes")
    check("ListActionTypes lists Commands", any(t["id"]["provider"] == "Commands" for t in types["actionTypes"]))
    call("ListActionTypes", actionOwnerFilter="AWS")
    call("ListActionTypes", "InvalidNextTokenException", nextToken="bogus")

    created = call("CreatePipeline", pipeline=declaration("e2e"), tags=[{"key": "team", "value": "ci"}])
    env = created["pipeline"]["stages"][1]["actions"][0]["environmentVariables"]
    check("environmentVariables[].type is echoed", [e.get("type") for e in env] == ["PLAINTEXT", "SECRETS_MANAGER"], repr(env))
    check("an action without artifacts has inputArtifacts []",
          created["pipeline"]["stages"][2]["actions"][0].get("inputArtifacts") == [])
    call("CreatePipeline", "PipelineNameInUseException", pipeline=declaration("e2e"))
    one_stage = declaration("short")
    one_stage["stages"] = one_stage["stages"][:1]
    call("CreatePipeline", "InvalidStructureException", pipeline=one_stage)
    long_value = declaration("long")
    long_value["stages"][0]["actions"][0]["configuration"]["BranchName"] = "b" * 1001
    err = call("CreatePipeline", "ValidationException", pipeline=long_value)
    check("map value constraint in AWS's wording", err["Error"]["Message"] ==
          "1 validation error detected: Value at 'pipeline.stages.1.member.actions.1.member.configuration' failed to satisfy "
          "constraint: Map value must satisfy constraint: [Member must have length less than or equal to 1000, "
          "Member must have length greater than or equal to 1]", err["Error"]["Message"])
    call("CreatePipeline", "ValidationException", pipeline=dict(declaration("bad name"), name="bad name"))

    got = call("GetPipeline", name="e2e")
    check("GetPipeline has the metadata ARN", got["metadata"]["pipelineArn"] == arn)
    call("GetPipeline", name="e2e", version=1)
    call("GetPipeline", "PipelineVersionNotFoundException", name="e2e", version=9)
    call("GetPipeline", "PipelineNotFoundException", name="nope")
    out = call("ListPipelines", maxResults=1)
    check("ListPipelines lists e2e", [p["name"] for p in out["pipelines"]] == ["e2e"])
    call("ListPipelines", "InvalidNextTokenException", nextToken="bogus")

    say("tags")
    call("TagResource", resourceArn=arn, tags=[{"key": "env", "value": "test"}, {"key": "empty", "value": ""}])
    page = call("ListTagsForResource", resourceArn=arn, maxResults=2)
    rest = call("ListTagsForResource", resourceArn=arn, nextToken=page.get("nextToken", "missing"))
    keys = [t["key"] for t in page["tags"] + rest["tags"]]
    check("ListTagsForResource pages", keys == ["team", "env", "empty"] and "nextToken" not in rest, repr(keys))
    call("ListTagsForResource", "InvalidNextTokenException", resourceArn=arn, nextToken="bogus")
    call("UntagResource", resourceArn=arn, tagKeys=["env", "empty"])
    call("TagResource", "InvalidTagsException", resourceArn=arn, tags=[{"key": "aws:reserved", "value": "x"}])
    call("ListTagsForResource", "InvalidArnException", resourceArn="arn:aws:codepipeline:us-east-1:nope:000000000000:e2e")
    call("ListTagsForResource", "ResourceNotFoundException", resourceArn=arn + "-missing")

    say("the first execution")
    first = call("ListPipelineExecutions", pipelineName="e2e")["pipelineExecutionSummaries"][0]["pipelineExecutionId"]
    token = wait_for("the approval waits", 30, lambda: approval_token(call, "e2e", first))
    state = call("GetPipelineState", name="e2e")
    check("GetPipelineState shows the token", state["stageStates"][2]["actionStates"][0]["latestExecution"].get("token") == token)
    ex = call("GetPipelineExecution", pipelineName="e2e", pipelineExecutionId=first)["pipelineExecution"]
    revs = ex.get("artifactRevisions", [])
    check("artifactRevisions has revisionChangeIdentifier", len(revs) == 1 and revs[0].get("revisionChangeIdentifier") == COMMIT, repr(revs))
    check("execution variables", ex.get("variables") == [{"name": "GREETING", "resolvedValue": "hello"}], repr(ex.get("variables")))
    acts = call("ListActionExecutions", pipelineName="e2e", filter={"pipelineExecutionId": first})["actionExecutionDetails"]
    build = next(a for a in acts if a["actionName"] == "Build")
    check("Build's output variable", build["output"]["outputVariables"] == {"SAID": "hello"}, repr(build["output"]))
    check("input.region is the pipeline's", all(a["input"].get("region") == REGION for a in acts))
    call("ListActionExecutions", pipelineName="e2e", maxResults=1,
         filter={"latestInPipelineExecution": {"pipelineExecutionId": first, "startTimeRange": "Latest"}})
    call("ListActionExecutions", "InvalidNextTokenException", pipelineName="e2e", nextToken="bogus")
    call("ListActionExecutions", "PipelineExecutionNotFoundException", pipelineName="e2e",
         filter={"pipelineExecutionId": "00000000-0000-0000-0000-000000000000"})
    call("GetPipelineExecution", "PipelineExecutionNotFoundException", pipelineName="e2e",
         pipelineExecutionId="00000000-0000-0000-0000-000000000000")
    approve = dict(pipelineName="e2e", stageName="Approve", actionName="Ok", result={"summary": "ship it", "status": "Approved"})
    call("PutApprovalResult", "InvalidApprovalTokenException", **dict(approve, token="00000000-0000-0000-0000-000000000000"))
    call("PutApprovalResult", "ActionNotFoundException", **dict(approve, token=token, actionName="Nope"))
    call("PutApprovalResult", "StageNotFoundException", **dict(approve, token=token, stageName="Nope"))
    call("PutApprovalResult", **dict(approve, token=token))
    call("PutApprovalResult", "ApprovalAlreadyCompletedException", **dict(approve, token=token))
    wait_for("the first execution succeeds", 20, lambda: status(call, "e2e", first) == "Succeeded")

    say("stop, retry, transitions")
    second = call("StartPipelineExecution", name="e2e", variables=[{"name": "GREETING", "value": "hi"}],
                  clientRequestToken="e2e-second")["pipelineExecutionId"]
    again = call("StartPipelineExecution", name="e2e", clientRequestToken="e2e-second")["pipelineExecutionId"]
    check("clientRequestToken is idempotent", again == second)
    call("StartPipelineExecution", "ValidationException", name="e2e", variables=[{"name": "UNDECLARED", "value": "x"}])
    call("StartPipelineExecution", "PipelineNotFoundException", name="nope")
    wait_for("the second execution waits for approval", 30, lambda: approval_token(call, "e2e", second))
    call("StopPipelineExecution", pipelineExecutionId=second, pipelineName="e2e", abandon=True)
    wait_for("the stopped execution is Stopped", 10, lambda: status(call, "e2e", second) == "Stopped")
    call("StopPipelineExecution", "PipelineExecutionNotStoppableException", pipelineExecutionId=second, pipelineName="e2e")
    summaries = call("ListPipelineExecutions", pipelineName="e2e", maxResults=1)
    stop_trigger = summaries["pipelineExecutionSummaries"][0].get("stopTrigger")
    check("a stop without a reason has stopTrigger {}", stop_trigger == {}, repr(stop_trigger))
    call("ListPipelineExecutions", pipelineName="e2e", nextToken=summaries["nextToken"])
    call("ListPipelineExecutions", "InvalidNextTokenException", pipelineName="e2e", nextToken="bogus")
    retry = dict(pipelineName="e2e", pipelineExecutionId=second, retryMode="FAILED_ACTIONS")
    call("RetryStageExecution", "StageNotFoundException", **dict(retry, stageName="Nope"))
    call("RetryStageExecution", "NotLatestPipelineExecutionException", **dict(retry, stageName="Approve", pipelineExecutionId=first))
    call("RetryStageExecution", stageName="Approve", **retry)
    state = call("GetPipelineState", name="e2e")
    meta = state["stageStates"][2].get("retryStageMetadata")
    check("retryStageMetadata after a retry", meta == {"manualStageRetryAttempt": 1, "latestRetryTrigger": "ManualStageRetry"}, repr(meta))
    call("RetryStageExecution", "StageNotRetryableException", stageName="Approve", **retry)
    token = wait_for("the retried approval waits", 30, lambda: approval_token(call, "e2e", second))
    call("PutApprovalResult", **dict(approve, token=token, result={"summary": "no", "status": "Rejected"}))
    wait_for("a rejected approval fails the execution", 20, lambda: status(call, "e2e", second) == "Failed")

    call("DisableStageTransition", pipelineName="e2e", stageName="Build", transitionType="Inbound", reason="hold it")
    state = call("GetPipelineState", name="e2e")
    check("the disabled transition shows its reason", state["stageStates"][1]["inboundTransitionState"] ==
          dict(state["stageStates"][1]["inboundTransitionState"], enabled=False, disabledReason="hold it"))
    call("EnableStageTransition", pipelineName="e2e", stageName="Build", transitionType="Inbound")
    call("EnableStageTransition", "StageNotFoundException", pipelineName="e2e", stageName="Nope", transitionType="Inbound")
    call("DisableStageTransition", "PipelineNotFoundException", pipelineName="nope", stageName="Build", transitionType="Inbound", reason="x")

    say("update, unknown operations, delete")
    decl = got["pipeline"]
    decl["stages"][1]["actions"][0]["commands"].append("echo updated")
    updated = call("UpdatePipeline", pipeline=decl)
    check("UpdatePipeline makes version 2", updated["pipeline"]["version"] == 2)
    call("UpdatePipeline", "InvalidStructureException", pipeline=dict(decl, stages=decl["stages"][:1]))
    err = call("ListDeployActionExecutionTargets", "UnknownOperationException", actionExecutionId="x")
    check("an unimplemented operation names itself", err["Error"]["Message"] ==
          "pipewright does not implement CodePipeline_20150709.ListDeployActionExecutionTargets yet", err["Error"]["Message"])
    call("DeletePipeline", name="e2e")
    call("DeletePipeline", name="e2e")
    call("GetPipelineState", "PipelineNotFoundException", name="e2e")
    check("no pipelines again", call("ListPipelines").get("pipelines") == [])


# ------------------------------------------------------------ CodeBuild

CB_PHASES = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD",
             "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]
CB_ENV = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"}


def buildspec(phases):
    """An inline buildspec of {phase: [command, ...]}."""
    lines = ["version: 0.2", "phases:"]
    for phase, commands in phases.items():
        lines += ["  %s:" % phase, "    commands:"] + ["      - " + json.dumps(c) for c in commands]
    return "\n".join(lines) + "\n"


def project(name, source, **more):
    return {"name": name, "source": source, "artifacts": {"type": "NO_ARTIFACTS"}, "environment": CB_ENV, "serviceRole": ROLE, **more}


def no_source(name, phases, **more):
    return project(name, {"type": "NO_SOURCE", "buildspec": buildspec(phases)}, **more)


def lists_present(what, value, names):
    """Checks that the members the server sends as lists are there, as []
    when empty, rather than left out."""
    missing = [n for n in names if not isinstance(value.get(n), list)]
    check(what + ": " + ", ".join(names) + " are lists", not missing, "missing or not lists: %s" % missing)


def build_of(cb, build_id):
    return cb("BatchGetBuilds", quiet=True, ids=[build_id])["builds"][0]


def finished(cb, build_id, what):
    """Waits for a build to complete and returns it (or {})."""
    return wait_for(what, 30, lambda: (lambda b: b if b.get("buildComplete") else None)(build_of(cb, build_id))) or {}


def phases_of(build):
    return [(p["phaseType"], p.get("phaseStatus")) for p in build.get("phases", [])]


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


def run_codebuild(cb):
    """Every CodeBuild operation pipewright implements; returns the group and
    stream of a build's log."""
    say("CodeBuild projects")
    check("no projects is []", cb("ListProjects").get("projects") == [])
    check("no builds is []", cb("ListBuilds").get("ids") == [])
    spec = {"build": ['echo "cb says $((6 * 7))"', 'test "$GREETING" = hello']}
    created = cb("CreateProject", **no_source("ok", spec, description="e2e", tags=[{"key": "team", "value": "ci"}],
                                              environment=dict(CB_ENV, environmentVariables=[{"name": "GREETING", "value": "hello"}])))
    p = created.get("project", {})
    check("CreateProject echoes the project", p.get("name") == "ok" and p.get("arn") ==
          "arn:aws:codebuild:%s:%s:project/ok" % (REGION, ACCOUNT) and p.get("tags") == [{"key": "team", "value": "ci"}], repr(p))
    check("CreateProject fills AWS's defaults", (p.get("timeoutInMinutes"), p.get("queuedTimeoutInMinutes")) == (60, 480), repr(p))
    lists_present("CreateProject", p, ["secondarySources", "secondarySourceVersions", "secondaryArtifacts", "fileSystemLocations"])
    cb("CreateProject", "ResourceAlreadyExistsException", **no_source("ok", spec))
    cb("CreateProject", "InvalidInputException", **project("gh", {"type": "GITHUB", "location": "https://github.com/pipewright/nope.git"}))
    cb("CreateProject", "InvalidInputException", **no_source("secret", spec, environment=dict(
        CB_ENV, environmentVariables=[{"name": "S", "value": "arn:x", "type": "SECRETS_MANAGER"}])))
    cb("CreateProject", "InvalidInputException", **project("s3", {"type": "NO_SOURCE", "buildspec": buildspec(spec)},
                                                           cache={"type": "S3"}))
    cb("CreateProject", **project("cc", {"type": "CODECOMMIT", "location": "https://git-codecommit.%s.amazonaws.com/v1/repos/app" % REGION,
                                         "buildspec": buildspec({"build": ["bash hello.sh"]})}, sourceVersion=COMMIT))
    got = cb("BatchGetProjects", names=["ok", "missing", "cc"])
    check("BatchGetProjects", [x["name"] for x in got["projects"]] == ["ok", "cc"] and got["projectsNotFound"] == ["missing"], repr(got))
    got = cb("BatchGetProjects", names=["ok"])
    check("BatchGetProjects: projectsNotFound is []", got.get("projectsNotFound") == [], repr(got.get("projectsNotFound")))
    up = cb("UpdateProject", name="ok", description="updated", timeoutInMinutes=30)["project"]
    check("UpdateProject changes what it names only", (up.get("description"), up.get("timeoutInMinutes"), up.get("source", {}).get("type"))
          == ("updated", 30, "NO_SOURCE"), repr(up))
    cb("UpdateProject", "ResourceNotFoundException", name="missing", description="x")
    names = cb("ListProjects", sortBy="NAME", sortOrder="DESCENDING")["projects"]
    check("ListProjects sortBy NAME DESCENDING", names == ["ok", "cc"], repr(names))
    cb("ListProjects", "InvalidInputException", nextToken="bogus")

    say("CodeBuild builds")
    b = cb("StartBuild", projectName="ok", idempotencyToken="e2e-ok")["build"]
    ok_id = b["id"]
    check("StartBuild answers the build QUEUED or later, number 1", b.get("buildNumber") == 1 and b.get("buildComplete") is False, repr(b)[:300])
    again = cb("StartBuild", projectName="ok", idempotencyToken="e2e-ok")["build"]
    check("StartBuild: the idempotencyToken names the same build", again["id"] == ok_id)
    cb("StartBuild", "InvalidInputException", projectName="ok", idempotencyToken="e2e-ok", timeoutInMinutesOverride=5)
    cb("StartBuild", "ResourceNotFoundException", projectName="missing")
    done = finished(cb, ok_id, "the build completes")
    check("the build SUCCEEDED", done.get("buildStatus") == "SUCCEEDED", done.get("buildStatus", ""))
    check("its phases are AWS's, all SUCCEEDED", phases_of(done) == [(t, "SUCCEEDED") for t in CB_PHASES[:-1]] + [("COMPLETED", None)],
          repr(phases_of(done)))
    lists_present("BatchGetBuilds", done, ["secondarySources", "secondarySourceVersions", "secondaryArtifacts", "reportArns",
                                          "fileSystemLocations", "exportedEnvironmentVariables"])
    group, stream = done.get("logs", {}).get("groupName"), done.get("logs", {}).get("streamName")
    check("logs: group /aws/codebuild/ok, stream the build's UUID", (group, stream) == ("/aws/codebuild/ok", ok_id.split(":", 1)[1]),
          repr(done.get("logs")))
    got = cb("BatchGetBuilds", ids=[ok_id, "ok:00000000-0000-0000-0000-000000000000"])
    check("BatchGetBuilds: buildsNotFound", got["buildsNotFound"] == ["ok:00000000-0000-0000-0000-000000000000"], repr(got["buildsNotFound"]))
    check("BatchGetBuilds: buildsNotFound is []", cb("BatchGetBuilds", ids=[ok_id]).get("buildsNotFound") == [])

    cb("CreateProject", **no_source("fail", {"build": ["echo failing", "false", "echo never"],
                                             "post_build": ['echo "post_build ran, succeeding=$CODEBUILD_BUILD_SUCCEEDING"']}))
    fail_id = cb("StartBuild", projectName="fail")["build"]["id"]
    done = finished(cb, fail_id, "the failing build completes")
    got = dict(phases_of(done))
    check("the failing build FAILED: BUILD FAILED, POST_BUILD SUCCEEDED", (done.get("buildStatus"), got.get("BUILD"), got.get("POST_BUILD"))
          == ("FAILED", "FAILED", "SUCCEEDED"), repr(phases_of(done)))
    ctx = next((p.get("contexts") for p in done.get("phases", []) if p["phaseType"] == "BUILD"), None)
    check("the failed phase's context says why", bool(ctx) and ctx[0].get("statusCode") == "COMMAND_EXECUTION_ERROR", repr(ctx))

    cc_id = cb("StartBuild", projectName="cc")["build"]["id"]
    done = finished(cb, cc_id, "the CODECOMMIT build completes")
    check("the CODECOMMIT build SUCCEEDED at the commit", (done.get("buildStatus"), done.get("resolvedSourceVersion")) == ("SUCCEEDED", COMMIT),
          "%s %s" % (done.get("buildStatus"), done.get("resolvedSourceVersion")))

    tag = "1000.%d3" % os.getpid()  # unique to this run
    cb("CreateProject", **no_source("sleep", {"build": ["sleep " + tag], "post_build": ["echo after the stop"]}))
    sleep_id = cb("StartBuild", projectName="sleep")["build"]["id"]
    wait_for("the sleeping build runs sleep " + tag, 20, lambda: proc_running(["sleep", tag]))
    got = cb("BatchDeleteBuilds", ids=[sleep_id])
    check("BatchDeleteBuilds of a running build: BUILD_IN_PROGRESS", got["buildsNotDeleted"] == [{"id": sleep_id, "statusCode": "BUILD_IN_PROGRESS"}]
          and got["buildsDeleted"] == [], repr(got))
    stopped = cb("StopBuild", id=sleep_id)["build"]
    got = dict(phases_of(stopped))
    check("StopBuild answers STOPPED, complete, BUILD STOPPED", (stopped.get("buildStatus"), stopped.get("buildComplete"), got.get("BUILD"))
          == ("STOPPED", True, "STOPPED"), repr(phases_of(stopped)))
    wait_for("the stopped build's sleep is gone", 10, lambda: not proc_running(["sleep", tag]))
    check("StopBuild of a stopped build answers it as it is", cb("StopBuild", id=sleep_id)["build"].get("buildStatus") == "STOPPED")
    cb("StopBuild", "ResourceNotFoundException", id="sleep:00000000-0000-0000-0000-000000000000")

    ids = cb("ListBuilds", sortOrder="ASCENDING")["ids"]
    check("ListBuilds ASCENDING", ids == [ok_id, fail_id, cc_id, sleep_id], repr(ids))
    check("ListBuilds is newest first by default", cb("ListBuilds")["ids"] == ids[::-1])
    cb("ListBuilds", "InvalidInputException", nextToken="bogus")
    check("ListBuildsForProject", cb("ListBuildsForProject", projectName="fail")["ids"] == [fail_id])
    cb("ListBuildsForProject", "ResourceNotFoundException", projectName="missing")
    cb("ListBuildsForProject", "InvalidInputException", projectName="ok", nextToken="bogus")

    retry = cb("RetryBuild", id=ok_id)["build"]
    check("RetryBuild starts build number 2 of the project", retry["id"] != ok_id and retry.get("buildNumber") == 2, repr(retry)[:300])
    check("the retried build SUCCEEDED", finished(cb, retry["id"], "the retried build completes").get("buildStatus") == "SUCCEEDED")
    cb("RetryBuild", "ResourceNotFoundException", id="ok:00000000-0000-0000-0000-000000000000")
    got = cb("BatchDeleteBuilds", ids=[retry["id"], "ok:nope"])
    check("BatchDeleteBuilds", got["buildsDeleted"] == [retry["id"]] and got["buildsNotDeleted"] == [{"id": "ok:nope", "statusCode": "BUILD_NOT_FOUND"}],
          repr(got))
    check("BatchDeleteBuilds: buildsNotDeleted is []", cb("BatchDeleteBuilds", ids=[cc_id]).get("buildsNotDeleted") == [])
    cb("DeleteProject", name="fail")
    check("a deleted project is not found", cb("BatchGetProjects", names=["fail"])["projectsNotFound"] == ["fail"])
    check("a deleted project's builds are kept", build_of(cb, fail_id).get("buildStatus") == "FAILED")
    err = cb("ListFleets", "UnknownOperationException")
    check("an unimplemented CodeBuild operation names itself", err["Error"]["Message"] ==
          "pipewright does not implement CodeBuild_20161006.ListFleets yet", err["Error"]["Message"])
    return group, stream


# ------------------------------------------------------------ CloudWatch Logs


def run_logs(logs, group, stream):
    say("CloudWatch Logs: a build's stream")
    groups = logs("DescribeLogGroups", logGroupNamePrefix="/aws/codebuild/")["logGroups"]
    check("DescribeLogGroups lists the projects' groups", [g["logGroupName"] for g in groups] ==
          ["/aws/codebuild/%s" % p for p in ("cc", "fail", "ok", "sleep")], repr([g["logGroupName"] for g in groups]))
    check("DescribeLogGroups: nothing is []", logs("DescribeLogGroups", logGroupNamePrefix="nope").get("logGroups") == [])
    streams = logs("DescribeLogStreams", logGroupName=group)["logStreams"]
    check("DescribeLogStreams lists the build's streams", stream in [s["logStreamName"] for s in streams], repr(streams))
    logs("DescribeLogStreams", logGroupName=group, orderBy="LastEventTime", descending=True, limit=1)
    logs("DescribeLogStreams", "ResourceNotFoundException", logGroupName="/aws/codebuild/missing")
    page = logs("GetLogEvents", logGroupName=group, logStreamName=stream, startFromHead=True)
    check("GetLogEvents shows the build's echo line", [e["message"] for e in page["events"]].count("cb says 42") == 1,
          repr([e["message"] for e in page["events"]])[:300])
    rest = logs("GetLogEvents", logGroupName=group, logStreamName=stream, startFromHead=True, nextToken=page["nextForwardToken"])
    check("GetLogEvents at the end: no events, the same token", rest["events"] == [] and rest["nextForwardToken"] == page["nextForwardToken"],
          repr(rest))
    logs("GetLogEvents", logGroupIdentifier="arn:aws:logs:%s:%s:log-group:%s" % (REGION, ACCOUNT, group), logStreamName=stream, limit=2)
    logs("GetLogEvents", "ResourceNotFoundException", logGroupName=group, logStreamName="missing")
    logs("GetLogEvents", "InvalidParameterException", logGroupName=group, logStreamName=stream, nextToken="bogus")
    found = logs("FilterLogEvents", logGroupName=group, filterPattern='"cb says 42"')
    check("FilterLogEvents finds the line by phrase", [(e["logStreamName"], e["message"]) for e in found["events"]] == [(stream, "cb says 42")],
          repr(found["events"]))
    logs("FilterLogEvents", logGroupName=group, logStreamNames=[stream], filterPattern="?says ?nothing", startTime=0, limit=5)
    logs("FilterLogEvents", "InvalidParameterException", logGroupName=group, filterPattern="%cb.*says%")
    logs("FilterLogEvents", "ResourceNotFoundException", logGroupName="/aws/codebuild/missing")

    say("CloudWatch Logs: streams of the API")
    logs("CreateLogGroup", logGroupName="e2e/api")
    logs("CreateLogGroup", "ResourceAlreadyExistsException", logGroupName="e2e/api")
    logs("CreateLogStream", logGroupName="e2e/api", logStreamName="s1")
    logs("CreateLogStream", "ResourceAlreadyExistsException", logGroupName="e2e/api", logStreamName="s1")
    logs("CreateLogStream", "ResourceNotFoundException", logGroupName="e2e/missing", logStreamName="s1")
    now = int(time.time() * 1000)
    logs("PutLogEvents", logGroupName="e2e/api", logStreamName="s1",
         logEvents=[{"timestamp": now, "message": "first"}, {"timestamp": now + 1, "message": "second"}])
    logs("PutLogEvents", "ResourceNotFoundException", logGroupName="e2e/api", logStreamName="missing",
         logEvents=[{"timestamp": now, "message": "x"}])
    got = logs("GetLogEvents", logGroupName="e2e/api", logStreamName="s1", startFromHead=True)["events"]
    check("GetLogEvents reads what PutLogEvents put", [(e["timestamp"], e["message"]) for e in got] == [(now, "first"), (now + 1, "second")],
          repr(got))
    got = logs("FilterLogEvents", logGroupName="e2e/api", filterPattern="second")
    check("FilterLogEvents over an API stream", [e["message"] for e in got["events"]] == ["second"], repr(got))
    logs("DeleteLogStream", logGroupName="e2e/api", logStreamName="s1")
    logs("DeleteLogStream", "ResourceNotFoundException", logGroupName="e2e/api", logStreamName="s1")
    logs("DeleteLogGroup", logGroupName="e2e/api")
    logs("DeleteLogGroup", "ResourceNotFoundException", logGroupName="e2e/api")
    logs("DescribeDestinations", "UnknownOperationException")


def approval_token(call, pipeline, execution):
    acts = call("ListActionExecutions", quiet=True, pipelineName=pipeline, filter={"pipelineExecutionId": execution})
    for a in acts.get("actionExecutionDetails", []):
        if a["actionName"] == "Ok" and a["status"] == "InProgress":
            return a.get("output", {}).get("executionResult", {}).get("externalExecutionId")
    return None


def status(call, pipeline, execution):
    return call("GetPipelineExecution", quiet=True, pipelineName=pipeline, pipelineExecutionId=execution)["pipelineExecution"]["status"]


COMMIT = ""


def main():
    global COMMIT
    limit = int(os.environ.get("E2E_BOTO3_LIMIT", "120"))
    tmp = tempfile.mkdtemp(prefix="pipewright-e2e-boto3.")
    proc = None

    def give_up(*_):
        bad("still running after %ds; giving up" % limit)
        raise KeyboardInterrupt

    try:
        say("the shape check")
        self_test()
        proc, data, endpoint = start_server(tmp)
        signal.signal(signal.SIGALRM, give_up)
        signal.alarm(limit)
        COMMIT = git_repo(data)

        def caller(service):
            return Caller(boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                                       aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                                       config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)))
        run(caller("codepipeline"))
        run_logs(caller("logs"), *run_codebuild(caller("codebuild")))
        say("S3")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                          config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60,
                                        s3={"addressing_style": "path"}))
        run_s3(s3, tmp, ok, bad, check)
        say("CodeDeploy")
        run_codedeploy(caller("codedeploy"), s3, tmp, os.path.join(tmp, "pipewright"), endpoint,
                       dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION=REGION),
                       ok, check, wait_for)
    except KeyboardInterrupt:
        pass
    except Exception as e:  # a crash of the script is a failure, reported as one
        bad("the run stopped: %s: %s" % (type(e).__name__, e))
    finally:
        signal.alarm(0)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if FAILED and os.path.exists(os.path.join(tmp, "server.log")):
            print("-- last lines of the server log:", file=sys.stderr)
            with open(os.path.join(tmp, "server.log")) as f:
                sys.stderr.write("".join(f.readlines()[-20:]))
        shutil.rmtree(tmp, ignore_errors=True)
    summary()
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
