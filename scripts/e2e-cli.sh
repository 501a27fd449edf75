#!/usr/bin/env bash
# End-to-end test of pipewright with real aws CLIs.
#
# Builds the server into a temporary directory, starts it on a free
# 127.0.0.1 port with a temporary --data and --stop-grace 1s, creates the
# example repository (examples/setup-repo.sh) and the example pipeline
# (examples/pipeline.json), then drives executions with the aws CLI and
# checks every answer: reads, start, stop-and-wait, stop-and-abandon, the
# stop errors, retry-stage-execution, manual approval, the run succeeding,
# the pipewright:abandon-cancels-jobs tag, and request signing errors.
#
# Then CodeBuild and CloudWatch Logs, with each client: NO_SOURCE projects
# (inline buildspecs) and a CODECOMMIT one on a repository under the git
# root; builds that succeed and fail (phases checked), stop-build of a build
# that sleeps (its `sleep` processes must be gone), retry-build, the list,
# batch-get, update and delete operations and their errors; the builds'
# logs through get-log-events, filter-log-events, describe-log-groups and
# describe-log-streams, and `aws logs tail --follow` (aws CLI v2 only: v1
# has no `logs tail`) while a build prints.
#
# Then S3 (scripts/e2e-s3.sh, sourced): the aws s3 commands and s3api
# errors with each client, and a pipeline artifact fetched with aws s3 cp.
#
# Then CodeDeploy (scripts/e2e-codedeploy.sh, sourced): applications,
# `aws deploy push` through the S3 endpoint, revisions, on-premises
# instances and a deployment group, with each client.
#
# Clients: Debian's aws CLI v2 (/usr/bin/aws, 2023 models, given
# --endpoint-url) and a current aws CLI (pyenv's, the first non-Debian `aws`
# on PATH or ~/.pyenv/shims/aws). A missing client is a failure. The
# stop/start/retry/approval scenario runs once with each client, the second
# run on the pipeline tagged pipewright:abandon-cancels-jobs;
# create-pipeline needs the current one (Debian's rejects `commands`).
#
# The test pipeline is a copy of examples/pipeline.json whose Build loop
# polls every 0.2s instead of sleeping 1s and also ends as soon as the
# script creates RELEASE_DIR/<pipeline execution id>, so that the test
# decides when a build finishes instead of racing it.
#
# Ends with "e2e-cli: N passed, M failed"; exits 1 when anything failed.
# E2E_NO_DEBIAN=1 / E2E_NO_CURRENT=1 leave one client out on purpose, saying
# so (without the current CLI create-pipeline goes through curl's
# --aws-sigv4; with one client the tagged scenario does not run);
# scripts/test never sets them. E2E_LIMIT is the time limit in seconds after
# the build (default: what is left of 330s since the start, at least 240s).
set -uo pipefail

export LC_ALL=C
cd "$(dirname "$0")/.."
REPO=$(pwd)
T0=$(date +%s)

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "  ok   $*"; }
bad() { FAIL=$((FAIL + 1)); echo "  FAIL $*" >&2; }
say() { echo "== $*"; }
summary() { echo "e2e-cli: $PASS passed, $FAIL failed"; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pipewright-e2e.XXXXXX")
# A root server runs the builds as nobody: they must pass through $TMP to
# $RELEASE.
chmod 711 "$TMP"
SERVER_PID=""
WATCHDOG_PID=""
CD_AGENTS=""
cleanup() {
  # shellcheck disable=SC2086
  [ -z "$CD_AGENTS" ] || { kill -TERM $CD_AGENTS 2>/dev/null; wait $CD_AGENTS 2>/dev/null; }
  if [ -n "$WATCHDOG_PID" ]; then kill "$WATCHDOG_PID" 2>/dev/null; wait "$WATCHDOG_PID" 2>/dev/null; fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "e2e-cli: server did not stop in 10s; killing it" >&2
      kill -KILL "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$TMP"
}
on_exit() {
  local rc=$?
  if [ "$FAIL" -gt 0 ] && [ -s "$TMP/server.log" ]; then
    echo "-- last lines of the server log:" >&2
    tail -n 20 "$TMP/server.log" >&2
  fi
  cleanup
  exit "$rc"
}
trap on_exit EXIT
trap 'bad "interrupted (timeout or signal)"; summary; exit 1' TERM INT HUP

die() { bad "$*"; summary; exit 1; }

# ---------------------------------------------------------------- clients

DEB=""
[ -x /usr/bin/aws ] && [ -z "${E2E_NO_DEBIAN:-}" ] && DEB=/usr/bin/aws
PYAWS=""
if [ -z "${E2E_NO_CURRENT:-}" ]; then
  IFS=: read -r -a path_dirs <<<"$PATH"
  for d in "${path_dirs[@]}" "${PYENV_ROOT:-$HOME/.pyenv}/shims"; do
    c="$d/aws"
    [ -x "$c" ] || continue
    case "$(readlink -f "$c")" in /usr/bin/aws | /bin/aws) continue ;; esac
    if "$c" --version >/dev/null 2>&1; then PYAWS=$c; break; fi
  done
fi

# Nothing from the user's aws configuration may leak in.
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_CA_BUNDLE AWS_ENDPOINT_URL_CODEPIPELINE
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true

EP="" # the server's endpoint, set once it runs
deb() { "$DEB" --endpoint-url "$EP" --cli-connect-timeout 5 --cli-read-timeout 30 "$@"; }
py() { "$PYAWS" --endpoint-url "$EP" --cli-connect-timeout 5 --cli-read-timeout 30 "$@"; }

# run CMD...: runs a command, keeping its stdout in OUT, stderr in ERR and
# exit status in RC.
run() {
  OUT=$("$@" 2>"$TMP/stderr")
  RC=$?
  ERR=$(cat "$TMP/stderr")
}

# call DESC CMD...: run, and count a failure when the command failed.
call() {
  local desc=$1
  shift
  run "$@"
  if [ "$RC" -ne 0 ]; then
    bad "$desc: exit status $RC: $(echo "$ERR" | head -n 3)"
    return 1
  fi
  return 0
}

# expect DESC WANT CMD...: the command succeeds and prints exactly WANT.
expect() {
  local desc=$1 want=$2
  shift 2
  call "$desc" "$@" || return 1
  if [ "$OUT" = "$want" ]; then
    ok "$desc"
  else
    bad "$desc: got '$OUT', want '$want'"
    return 1
  fi
}

# expect_error DESC TYPE CMD...: the command fails with the error type TYPE.
expect_error() {
  local desc=$1 typ=$2
  shift 2
  run "$@"
  if [ "$RC" -eq 0 ]; then
    bad "$desc: succeeded, want $typ (output: $OUT)"
  elif [[ "$ERR" == *"($typ)"* ]]; then
    ok "$desc"
  else
    bad "$desc: want $typ, got: $(echo "$ERR" | grep -v '^$' | head -n 2)"
  fi
}

# wait_for DESC SECONDS WANT CMD...: polls the command until it prints WANT.
wait_for() {
  local desc=$1 secs=$2 want=$3
  shift 3
  local deadline=$(($(date +%s) + secs))
  while :; do
    run "$@"
    if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ]; then
      ok "$desc"
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      bad "$desc: not reached in ${secs}s; last answer: '$OUT' $(echo "$ERR" | grep -v '^$' | head -n 1)"
      return 1
    fi
    sleep 0.3
  done
}

# tree_alive JOB: whether a process of the job's tree is alive (the runner
# marks every process with PIPEWRIGHT_TREE_ID=<job id>).
tree_alive() {
  grep -qsxzF "PIPEWRIGHT_TREE_ID=$1" /proc/[0-9]*/environ 2>/dev/null
}

# ---------------------------------------------------------------- server

if [ -n "${E2E_NO_DEBIAN:-}" ]; then
  echo "e2e-cli: E2E_NO_DEBIAN is set: Debian's aws CLI v2 is left out on purpose"
elif [ -z "$DEB" ]; then
  bad "Debian's aws CLI v2 (/usr/bin/aws) is not installed: apt-get install awscli (scripts/test does, as root)"
fi
if [ -n "${E2E_NO_CURRENT:-}" ]; then
  echo "e2e-cli: E2E_NO_CURRENT is set: the current aws CLI is left out on purpose; create-pipeline goes through curl --aws-sigv4"
elif [ -z "$PYAWS" ]; then
  bad "no current aws CLI (pyenv's aws CLI v1, an \`aws\` on PATH or in ${PYENV_ROOT:-$HOME/.pyenv}/shims other than /usr/bin/aws) runs"
fi
if [ -z "$DEB" ] && [ -z "$PYAWS" ]; then
  die "no aws CLI to test with"
fi
if [ -z "$DEB" ] || [ -z "$PYAWS" ]; then
  echo "e2e-cli: with one client, the pipewright:abandon-cancels-jobs scenario does not run"
fi
command -v git >/dev/null || die "git is not installed"

say "build"
go build -o "$TMP/pipewright" ./cmd/pipewright || die "go build failed"
ok "go build ./cmd/pipewright ($(($(date +%s) - T0))s)"

T1=$(date +%s)
# The whole run (about 3 minutes) stays under 5 minutes and a half, but
# the checks get at least 240s after a slow (cold cache) build.
LIMIT=${E2E_LIMIT:-$((330 - (T1 - T0)))}
[ -n "${E2E_LIMIT:-}" ] || [ "$LIMIT" -ge 240 ] || LIMIT=240
(
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  sleep "$LIMIT" &
  sleeper=$!
  wait "$sleeper"
  echo "e2e-cli: still running after ${LIMIT}s; giving up" >&2
  kill -TERM $$
) &
WATCHDOG_PID=$!

say "serve"
DATA="$TMP/data"
"$TMP/pipewright" serve --addr 127.0.0.1:0 --data "$DATA" --stop-grace 1s >"$TMP/server.out" 2>"$TMP/server.log" &
SERVER_PID=$!
deadline=$(($(date +%s) + 20))
until grep -q '^export AWS_ACCESS_KEY_ID=' "$TMP/server.out" 2>/dev/null; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited at start: $(tail -n 5 "$TMP/server.log")"
  [ "$(date +%s)" -lt "$deadline" ] || die "the server printed no export line in 20s"
  sleep 0.1
done
EXPORT_LINE=$(grep '^export AWS_ACCESS_KEY_ID=' "$TMP/server.out")
eval "$EXPORT_LINE"
EP=$AWS_ENDPOINT_URL
case "$EP" in
  http://127.0.0.1:[0-9]*) ok "server listening at $EP ($(grep -o 'containment=[^ ]*' "$TMP/server.log"))" ;;
  *) die "unexpected AWS_ENDPOINT_URL '$EP' in: $EXPORT_LINE" ;;
esac
[ "$AWS_DEFAULT_REGION" = us-east-1 ] && [ "$AWS_REGION" = us-east-1 ] && ok "export line sets AWS_REGION and AWS_DEFAULT_REGION" ||
  bad "export line regions: $EXPORT_LINE"
perm=$(stat -c %a "$DATA/credentials.json" 2>/dev/null)
[ "$perm" = 600 ] && ok "credentials.json has mode 0600" || bad "credentials.json mode is '$perm', want 600"
env_line=$("$TMP/pipewright" env --data "$DATA" --addr "${EP#http://}")
[ "$env_line" = "$EXPORT_LINE" ] && ok "pipewright env prints the same export line" || bad "pipewright env printed '$env_line', want '$EXPORT_LINE'"

say "example repository"
"$REPO/examples/setup-repo.sh" "$DATA" >"$TMP/setup.out" 2>&1 || die "examples/setup-repo.sh failed: $(cat "$TMP/setup.out")"
[ "$(git -C "$DATA/git/hello-app" rev-parse --abbrev-ref HEAD 2>/dev/null)" = main ] && ok "setup-repo.sh created hello-app on branch main" ||
  bad "setup-repo.sh: no hello-app repository with branch main under $DATA/git"
COMMIT=$(git -C "$DATA/git/hello-app" rev-parse HEAD)

# The test copy of the example pipeline: see the header.
RELEASE="$TMP/release"
mkdir -p "$RELEASE"
PIPE="$TMP/pipeline.json"
sed -e 's|"defaultValue": "30"|"defaultValue": "600"|' \
  -e "s|sleep 1; done|[ -e $RELEASE/\$CODEPIPELINE_EXECUTION_ID ] \&\& break; sleep 0.2; done|" \
  "$REPO/examples/pipeline.json" >"$PIPE"
if grep -q '"defaultValue": "600"' "$PIPE" && grep -q "$RELEASE/" "$PIPE"; then
  ok "test copy of examples/pipeline.json"
else
  die "examples/pipeline.json changed: its Build loop or BUILD_SECONDS default was not found; update this script"
fi
release() { touch "$RELEASE/$1"; }

ARN="arn:aws:codepipeline:us-east-1:000000000000:hello"

# ---------------------------------------------------------------- create

say "create-pipeline"
if [ -n "$PYAWS" ]; then
  expect "create-pipeline (current aws CLI)" $'hello\tV2\tSUPERSEDED\t1\t4' \
    py codepipeline create-pipeline --cli-input-json "file://$PIPE" \
    --query 'pipeline.[name,pipelineType,executionMode,version,length(stages)]' --output text
  expect_error "create-pipeline again: name in use" PipelineNameInUseException \
    py codepipeline create-pipeline --cli-input-json "file://$PIPE"
else
  run curl -sS --max-time 30 --aws-sigv4 "aws:amz:us-east-1:codepipeline" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H 'X-Amz-Target: CodePipeline_20150709.CreatePipeline' -H 'Content-Type: application/x-amz-json-1.1' \
    --data-binary "@$PIPE" "$EP/"
  if [ "$RC" -eq 0 ] && [[ "$OUT" == *'"name":"hello"'* ]] && [[ "$OUT" != *'__type'* ]]; then
    ok "create-pipeline (curl --aws-sigv4)"
  else
    die "create-pipeline (curl --aws-sigv4): $OUT $ERR"
  fi
fi

# ---------------------------------------------------------------- reads

CLIENTS=()
[ -n "$DEB" ] && CLIENTS+=(deb)
[ -n "$PYAWS" ] && CLIENTS+=(py)
label() { if [ "$1" = deb ]; then echo "Debian aws 2.9"; else echo "current aws"; fi; }

E1=""
for c in "${CLIENTS[@]}"; do
  say "reads with $(label "$c")"
  L=$(label "$c")
  expect "[$L] get-pipeline" $'hello\t1\t'"$ARN"$'\tSource Build Approve Deploy' \
    $c codepipeline get-pipeline --name hello \
    --query '[pipeline.name,pipeline.version,metadata.pipelineArn,join(`" "`,pipeline.stages[].name)]' --output text
  expect "[$L] get-pipeline: Build is a Commands action in namespace BuildVariables" $'Compute\tCommands\tBuildVariables\tSourceOutput' \
    $c codepipeline get-pipeline --name hello \
    --query 'pipeline.stages[1].actions[0].[actionTypeId.category,actionTypeId.provider,namespace,inputArtifacts[0].name]' --output text
  if [ "$c" = py ]; then
    expect "[$L] get-pipeline keeps commands, files, outputVariables and variables" $'6\tdist/**\tAPP_VERSION\tBUILD_SECONDS' \
      $c codepipeline get-pipeline --name hello \
      --query '[length(pipeline.stages[1].actions[0].commands),pipeline.stages[1].actions[0].outputArtifacts[0].files[0],pipeline.stages[1].actions[0].outputVariables[0],pipeline.variables[0].name]' --output text
  fi
  expect "[$L] list-pipelines" "hello" \
    $c codepipeline list-pipelines --query 'pipelines[].name' --output text
  expect_error "[$L] get-pipeline of a missing pipeline" PipelineNotFoundException \
    $c codepipeline get-pipeline --name no-such-pipeline
  expect "[$L] get-pipeline-state: stages" "Source Build Approve Deploy" \
    $c codepipeline get-pipeline-state --name hello --query 'join(`" "`,stageStates[].stageName)' --output text
  if [ -z "$E1" ]; then
    call "[$L] list-pipeline-executions" $c codepipeline list-pipeline-executions --pipeline-name hello \
      --query 'pipelineExecutionSummaries[0].[pipelineExecutionId,trigger.triggerType,length(@)]' --output text
    E1=$(echo "$OUT" | cut -f1)
  fi
  expect "[$L] list-pipeline-executions: CreatePipeline started the first execution" $'1\tCreatePipeline' \
    $c codepipeline list-pipeline-executions --pipeline-name hello \
    --query '[length(pipelineExecutionSummaries),pipelineExecutionSummaries[0].trigger.triggerType]' --output text
  expect "[$L] get-pipeline-execution" "$E1"$'\thello\t1' \
    $c codepipeline get-pipeline-execution --pipeline-name hello --pipeline-execution-id "$E1" \
    --query 'pipelineExecution.[pipelineExecutionId,pipelineName,pipelineVersion]' --output text
  expect_error "[$L] get-pipeline-execution of a missing execution" PipelineExecutionNotFoundException \
    $c codepipeline get-pipeline-execution --pipeline-name hello --pipeline-execution-id 00000000-0000-0000-0000-000000000000
done
[[ "$E1" =~ ^[0-9a-f-]{36}$ ]] || die "no first execution id (got '$E1')"

# ---------------------------------------------------------------- scenario

build_state() { # CLIENT: "<execution id> <stage status> <action status> <action execution id> <job id>" of Build
  $1 codepipeline get-pipeline-state --name hello \
    --query "stageStates[?stageName=='Build'] | [0].[latestExecution.pipelineExecutionId,latestExecution.status,actionStates[0].latestExecution.status,actionStates[0].latestExecution.actionExecutionId,actionStates[0].latestExecution.externalExecutionId]" \
    --output text
}
exec_status() { # CLIENT EXECUTION
  $1 codepipeline get-pipeline-execution --pipeline-name hello --pipeline-execution-id "$2" \
    --query 'pipelineExecution.status' --output text
}
# wait_build_running CLIENT EXECUTION DESC: waits until the execution's
# Build runs and sets BUILD_ID to its action execution id and BUILD_JOB to
# its job (externalExecutionId: the marker of its process tree).
wait_build_running() {
  local deadline=$(($(date +%s) + 30))
  BUILD_ID=""
  while :; do
    run build_state "$1"
    local e st ast id job
    read -r e st ast id job <<<"$OUT"
    if [ "$RC" -eq 0 ] && [ "$e" = "$2" ] && [ "$st" = InProgress ] && [ "$ast" = InProgress ] && [ -n "$job" ] && [ "$job" != None ]; then
      BUILD_ID=$id BUILD_JOB=$job
      ok "$3"
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      bad "$3: not reached in 30s; Build state: '$OUT' $ERR"
      return 1
    fi
    sleep 0.3
  done
}

# scenario CLIENT FIRST_EXECUTION TAGGED
scenario() {
  local c=$1 e=$2 tagged=$3
  local L
  L=$(label "$c")
  say "stop, abandon, retry and approve with $L"

  if [ -z "$e" ]; then
    call "[$L] start-pipeline-execution" $c codepipeline start-pipeline-execution --name hello \
      --query pipelineExecutionId --output text || return 1
    e=$OUT
    [[ "$e" =~ ^[0-9a-f-]{36}$ ]] && ok "[$L] start-pipeline-execution returned an id" || { bad "[$L] start-pipeline-execution: id '$e'"; return 1; }
  fi

  # stop and wait: the running Build finishes, nothing new starts.
  wait_build_running "$c" "$e" "[$L] Build is running" || return 1
  local wait_build=$BUILD_ID wait_job=$BUILD_JOB
  expect "[$L] stop-pipeline-execution (stop and wait)" "$e" \
    $c codepipeline stop-pipeline-execution --pipeline-name hello --pipeline-execution-id "$e" \
    --reason "e2e: stop and wait" --query pipelineExecutionId --output text
  expect "[$L] stopping execution is Stopping" "Stopping" exec_status "$c" "$e"
  expect "[$L] its Build stage is Stopping, the action still runs" $'Stopping\tInProgress' \
    $c codepipeline get-pipeline-state --name hello \
    --query "stageStates[?stageName=='Build'] | [0].[latestExecution.status,actionStates[0].latestExecution.status]" --output text
  expect_error "[$L] second stop and wait" DuplicatedStopRequestException \
    $c codepipeline stop-pipeline-execution --pipeline-name hello --pipeline-execution-id "$e"
  tree_alive "$wait_job" && ok "[$L] the Build's process tree runs on while Stopping" || bad "[$L] the Build's process tree is gone while Stopping"
  release "$e"
  wait_for "[$L] execution Stopped once the Build ended" 30 "Stopped" exec_status "$c" "$e"
  expect "[$L] Build Succeeded, stage Stopped" "$e"$'\tStopped\tSucceeded\t'"$wait_build"$'\t'"$wait_job" build_state "$c"
  expect "[$L] Approve did not start for the stopped execution" "False" \
    $c codepipeline get-pipeline-state --name hello \
    --query "stageStates[?stageName=='Approve'] | [0].latestExecution.pipelineExecutionId == '$e'" --output text
  expect_error "[$L] stop of a Stopped execution" PipelineExecutionNotStoppableException \
    $c codepipeline stop-pipeline-execution --pipeline-name hello --pipeline-execution-id "$e" --abandon

  # start again, then stop and abandon.
  call "[$L] start-pipeline-execution" $c codepipeline start-pipeline-execution --name hello \
    --query pipelineExecutionId --output text || return 1
  local e2=$OUT
  [[ "$e2" =~ ^[0-9a-f-]{36}$ ]] && [ "$e2" != "$e" ] && ok "[$L] start-pipeline-execution returned a new id" || { bad "[$L] start-pipeline-execution: id '$e2'"; return 1; }
  wait_build_running "$c" "$e2" "[$L] Build of the new execution is running" || return 1
  local abandoned=$BUILD_ID abandoned_job=$BUILD_JOB
  local reason="e2e: abandoned by $L"
  expect "[$L] stop-pipeline-execution --abandon --reason" "$e2" \
    $c codepipeline stop-pipeline-execution --pipeline-name hello --pipeline-execution-id "$e2" \
    --abandon --reason "$reason" --query pipelineExecutionId --output text
  wait_for "[$L] abandoned execution is Stopped at once" 10 "Stopped" exec_status "$c" "$e2"
  expect "[$L] Build action Abandoned, stage Stopped" "$e2"$'\tStopped\tAbandoned\t'"$abandoned"$'\t'"$abandoned_job" build_state "$c"
  expect "[$L] list-pipeline-executions shows the stop reason" $'Stopped\t'"$reason" \
    $c codepipeline list-pipeline-executions --pipeline-name hello \
    --query "pipelineExecutionSummaries[?pipelineExecutionId=='$e2'] | [0].[status,stopTrigger.reason]" --output text
  expect "[$L] list-action-executions: the Build run is Abandoned" "Abandoned" \
    $c codepipeline list-action-executions --pipeline-name hello --filter "pipelineExecutionId=$e2" \
    --query "actionExecutionDetails[?actionExecutionId=='$abandoned'] | [0].status" --output text
  if [ "$tagged" = yes ]; then
    local deadline=$(($(date +%s) + 10))
    while tree_alive "$abandoned_job" && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
    tree_alive "$abandoned_job" && bad "[$L] pipewright:abandon-cancels-jobs: the abandoned Build still runs after 10s" ||
      ok "[$L] pipewright:abandon-cancels-jobs: the abandoned Build's process tree was terminated"
  else
    sleep 1
    tree_alive "$abandoned_job" && ok "[$L] without the tag the abandoned Build keeps running, as on AWS" ||
      bad "[$L] the abandoned Build's process tree is gone although the pipeline has no pipewright:abandon-cancels-jobs tag"
  fi
  expect_error "[$L] stop of the abandoned execution" PipelineExecutionNotStoppableException \
    $c codepipeline stop-pipeline-execution --pipeline-name hello --pipeline-execution-id "$e2" --reason again
  expect_error "[$L] retry of a stage whose latest execution is another" NotLatestPipelineExecutionException \
    $c codepipeline retry-stage-execution --pipeline-name hello --stage-name Build --pipeline-execution-id "$e" --retry-mode FAILED_ACTIONS
  expect_error "[$L] retry of a succeeded stage" StageNotRetryableException \
    $c codepipeline retry-stage-execution --pipeline-name hello --stage-name Source --pipeline-execution-id "$e2" --retry-mode FAILED_ACTIONS

  # retry the stopped stage: the Build runs again and the run goes on.
  release "$e2"
  expect "[$L] retry-stage-execution FAILED_ACTIONS" "$e2" \
    $c codepipeline retry-stage-execution --pipeline-name hello --stage-name Build --pipeline-execution-id "$e2" \
    --retry-mode FAILED_ACTIONS --query pipelineExecutionId --output text
  local approve_q="stageStates[?stageName=='Approve'] | [0].[latestExecution.pipelineExecutionId,actionStates[0].latestExecution.status]"
  wait_for "[$L] retried Build succeeded, Approve waits" 40 "$e2"$'\tInProgress' \
    $c codepipeline get-pipeline-state --name hello --query "$approve_q" --output text
  run build_state "$c"
  local e_ st_ ast_ rebuilt
  read -r e_ st_ ast_ rebuilt <<<"$OUT"
  [ "$st_ $ast_" = "Succeeded Succeeded" ] && [ "$rebuilt" != "$abandoned" ] && ok "[$L] the retry ran the Build anew" ||
    bad "[$L] after the retry, Build state is '$OUT' (abandoned run $abandoned)"
  expect "[$L] execution is InProgress again" "InProgress" exec_status "$c" "$e2"

  # approve with the token from get-pipeline-state.
  call "[$L] approval token" $c codepipeline get-pipeline-state --name hello \
    --query "stageStates[?stageName=='Approve'] | [0].actionStates[0].latestExecution.token" --output text || return 1
  local token=$OUT
  [[ "$token" =~ ^[0-9a-f-]{36}$ ]] && ok "[$L] get-pipeline-state shows the approval token" || bad "[$L] approval token '$token'"
  expect_error "[$L] put-approval-result with a wrong token" InvalidApprovalTokenException \
    $c codepipeline put-approval-result --pipeline-name hello --stage-name Approve --action-name Approve \
    --result "summary=nope,status=Approved" --token 11111111-1111-1111-1111-111111111111
  call "[$L] put-approval-result" $c codepipeline put-approval-result --pipeline-name hello --stage-name Approve --action-name Approve \
    --result "summary=Ship it ($L),status=Approved" --token "$token" --query approvedAt --output text &&
    { [ -n "$OUT" ] && [ "$OUT" != None ] && ok "[$L] put-approval-result returns approvedAt" || bad "[$L] put-approval-result: approvedAt '$OUT'"; }
  expect_error "[$L] second approval" ApprovalAlreadyCompletedException \
    $c codepipeline put-approval-result --pipeline-name hello --stage-name Approve --action-name Approve \
    --result "summary=again,status=Approved" --token "$token"
  wait_for "[$L] execution Succeeded" 30 "Succeeded" exec_status "$c" "$e2"
  expect "[$L] every stage Succeeded for this execution" "Succeeded Succeeded Succeeded Succeeded" \
    $c codepipeline get-pipeline-state --name hello \
    --query "join(\`\" \"\`,stageStates[?latestExecution.pipelineExecutionId=='$e2'].latestExecution.status)" --output text
  expect "[$L] approval summary recorded" "Ship it ($L)" \
    $c codepipeline get-pipeline-state --name hello \
    --query "stageStates[?stageName=='Approve'] | [0].actionStates[0].latestExecution.summary" --output text
  call "[$L] list-action-executions" $c codepipeline list-action-executions --pipeline-name hello \
    --filter "pipelineExecutionId=$e2" \
    --query "actionExecutionDetails[?actionName=='Deploy'] | [0].[status,output.executionResult.externalExecutionId]" --output text
  local dstatus did
  read -r dstatus did <<<"$OUT"
  [ "$dstatus" = Succeeded ] && ok "[$L] Deploy Succeeded" || bad "[$L] Deploy: '$OUT'"
  local log="$DATA/logs/$did.log"
  if grep -q "Deploying hello-app 1.0.0" "$log" 2>/dev/null && grep -q "commit=$COMMIT execution=$e2" "$log" &&
    grep -q "Hello, pipewright! (hello-app 1.0.0)" "$log"; then
    ok "[$L] Deploy log shows the build's variables and artifact"
  else
    bad "[$L] Deploy log $log: $(head -c 400 "$log" 2>/dev/null)"
  fi
}

n=0
for c in "${CLIENTS[@]}"; do
  n=$((n + 1))
  tagged=no
  first=""
  [ "$n" -eq 1 ] && first=$E1
  if [ "$n" -eq 2 ]; then
    say "tag the pipeline with pipewright:abandon-cancels-jobs=true ($(label "$c"))"
    call "[$(label "$c")] tag-resource" $c codepipeline tag-resource --resource-arn "$ARN" \
      --tags key=pipewright:abandon-cancels-jobs,value=true &&
      expect "[$(label "$c")] list-tags-for-resource" $'pipewright:abandon-cancels-jobs\ttrue' \
        $c codepipeline list-tags-for-resource --resource-arn "$ARN" --query 'tags[].[key,value]' --output text
    tagged=yes
  fi
  scenario "$c" "$first" "$tagged"
done

# ---------------------------------------------------------------- CodeBuild

say "CodeBuild: a git repository for CODECOMMIT projects"
T_CB=$(date +%s)
CB_REPO="$DATA/git/cb-app"
mkdir -p "$CB_REPO"
printf '%s\n' 'version: 0.2' 'phases:' '  build:' '    commands:' '      - cat msg.txt' \
  '      - echo "resolved=$CODEBUILD_RESOLVED_SOURCE_VERSION"' >"$CB_REPO/buildspec.yml"
echo "cb-app says hello from its repository" >"$CB_REPO/msg.txt"
cbgit() { git -C "$CB_REPO" -c user.name=e2e -c user.email=e2e@pipewright.invalid -c commit.gpgsign=false -c core.hooksPath=/dev/null "$@"; }
CB_COMMIT=""
if cbgit init -q -b main && cbgit add -A && cbgit commit -q -m "cb-app" && CB_COMMIT=$(cbgit rev-parse HEAD); then
  ok "git repository cb-app under the git root ($CB_COMMIT)"
else
  bad "could not create the git repository $CB_REPO"
fi

# json_string TEXT: TEXT as a JSON string.
json_string() {
  local s=$1
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=${s//$'\t'/\\t}
  s=${s//$'\n'/\\n}
  printf '"%s"' "$s"
}
CB_ENV='"environment":{"type":"LINUX_CONTAINER","image":"aws/codebuild/standard:7.0","computeType":"BUILD_GENERAL1_SMALL"}'
# cb_input NAME SOURCE_JSON [MEMBERS]: the file of a create-project
# --cli-input-json for project NAME with that source (and more members).
cb_input() {
  local f="$TMP/project-$1.json"
  printf '{"name":"%s","source":%s,"artifacts":{"type":"NO_ARTIFACTS"},%s,"serviceRole":"%s"%s}\n' \
    "$1" "$2" "$CB_ENV" "arn:aws:iam::000000000000:role/pipewright" "${3:+,$3}" >"$f"
  echo "$f"
}
# cb_create CLIENT NAME BUILDSPEC_LINE...: create-project of a NO_SOURCE
# project with the lines as its inline buildspec.
cb_create() {
  local c=$1 name=$2
  shift 2
  local spec
  spec=$(printf '%s\n' 'version: 0.2' 'phases:' "$@")
  expect "[$(label "$c")] create-project $name (NO_SOURCE, inline buildspec)" "$name"$'\tNO_SOURCE\tarn:aws:codebuild:us-east-1:000000000000:project/'"$name" \
    $c codebuild create-project --cli-input-json "file://$(cb_input "$name" "{\"type\":\"NO_SOURCE\",\"buildspec\":$(json_string "$spec")}")" \
    --query 'project.[name,source.type,arn]' --output text
}
cb_build() { # CLIENT ID QUERY: batch-get-builds of one build, the query's value as text
  $1 codebuild batch-get-builds --ids "$2" --query "builds[0].$3" --output text
}
# cb_run CLIENT PROJECT: start-build, then batch-get-builds until the build
# is complete (30 s at most); sets CB_ID, and (cb_complete) CB_STATUS,
# CB_PHASES ("TYPE:STATUS ..."), CB_GROUP and CB_STREAM (its logs member).
cb_run() {
  local c=$1 p=$2 L
  L=$(label "$c")
  CB_ID="" CB_STATUS="" CB_PHASES="" CB_GROUP="" CB_STREAM=""
  call "[$L] start-build $p" $c codebuild start-build --project-name "$p" --query build.id --output text || return 1
  CB_ID=$OUT
  [[ "$CB_ID" == "$p:"* ]] || { bad "[$L] start-build $p: build id '$CB_ID'"; return 1; }
  cb_complete "$c" "$CB_ID" "[$L] batch-get-builds until $p's build is complete"
}
# cb_complete CLIENT ID DESC: waits until the build is complete and sets
# CB_STATUS, CB_PHASES, CB_GROUP, CB_STREAM and CB_RESOLVED
# (resolvedSourceVersion).
cb_complete() {
  wait_for "$3" 30 True cb_build "$1" "$2" buildComplete || return 1
  call "$3: batch-get-builds" cb_build "$1" "$2" \
    '[buildStatus,join(`" "`,phases[].join(`":"`,[phaseType,phaseStatus||`"-"`])),logs.groupName,logs.streamName,resolvedSourceVersion]' || return 1
  IFS=$'\t' read -r CB_STATUS CB_PHASES CB_GROUP CB_STREAM CB_RESOLVED <<<"$OUT"
}
# same DESC GOT WANT: counts whether GOT is WANT.
same() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }
# The phases of a build that succeeded; others differ in a phase or two.
CB_OK="SUBMITTED:SUCCEEDED QUEUED:SUCCEEDED PROVISIONING:SUCCEEDED DOWNLOAD_SOURCE:SUCCEEDED INSTALL:SUCCEEDED PRE_BUILD:SUCCEEDED"
CB_OK+=" BUILD:SUCCEEDED POST_BUILD:SUCCEEDED UPLOAD_ARTIFACTS:SUCCEEDED FINALIZING:SUCCEEDED COMPLETED:-"
# log_counts CLIENT GROUP STREAM MESSAGE...: how many events of the stream
# (get-log-events from its head) are each MESSAGE, tab-separated.
log_counts() {
  local c=$1 g=$2 s=$3 q="" m
  shift 3
  for m in "$@"; do q+="${q:+,}length(events[?message=='$m'])"; done
  $c logs get-log-events --log-group-name "$g" --log-stream-name "$s" --start-from-head --query "[$q]" --output text
}
# sleeping TAG: the pids of the processes `sleep TAG`.
sleeping() { pgrep -f "^sleep ${1//./\\.}\$"; }
# wait_gone TAG SECONDS: waits until no process `sleep TAG` is left.
wait_gone() {
  local deadline=$(($(date +%s) + $2))
  while [ -n "$(sleeping "$1")" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
  [ -z "$(sleeping "$1")" ]
}

# codebuild CLIENT: the CodeBuild and CloudWatch Logs scenario; its
# projects are named CLIENT-*.
codebuild() {
  local c=$1 L
  L=$(label "$c")
  local ok_p="$c-ok" fail_p="$c-fail" sleep_p="$c-sleep" cc_p="$c-cc" tick_p="$c-tick"
  say "CodeBuild and CloudWatch Logs with $L"

  cb_create "$c" "$ok_p" '  build:' '    commands:' '      - echo "cb says $((6 * 7))"' '      - echo "second line"'
  expect_error "[$L] create-project again: the name is taken" ResourceAlreadyExistsException \
    $c codebuild create-project --cli-input-json "file://$TMP/project-$ok_p.json"
  expect_error "[$L] create-project with a GITHUB source" InvalidInputException \
    $c codebuild create-project --cli-input-json "file://$(cb_input "$c-gh" '{"type":"GITHUB","location":"https://github.com/pipewright/nope.git"}')"
  expect_error "[$L] start-build of a missing project" ResourceNotFoundException \
    $c codebuild start-build --project-name "$c-missing"

  # a build that succeeds, its phases and its log.
  cb_run "$c" "$ok_p" || return 1
  local ok_id=$CB_ID
  same "[$L] the build SUCCEEDED" "$CB_STATUS" SUCCEEDED
  same "[$L] its phases are AWS's, SUBMITTED to COMPLETED, all SUCCEEDED" "$CB_PHASES" "$CB_OK"
  same "[$L] logs member: group /aws/codebuild/PROJECT, stream the build's UUID" "$CB_GROUP $CB_STREAM" "/aws/codebuild/$ok_p ${ok_id#*:}"
  expect "[$L] get-log-events shows the build's echo lines" $'1\t1' log_counts "$c" "$CB_GROUP" "$CB_STREAM" "cb says 42" "second line"
  expect "[$L] filter-log-events finds a line by phrase" "$CB_STREAM"$'\tcb says 42' \
    $c logs filter-log-events --log-group-name "$CB_GROUP" --filter-pattern '"cb says 42"' \
    --query 'events[].[logStreamName,message]' --output text
  expect "[$L] describe-log-groups" "$CB_GROUP" \
    $c logs describe-log-groups --log-group-name-prefix "/aws/codebuild/$ok_p" --query 'logGroups[].logGroupName' --output text
  expect "[$L] describe-log-streams" "$CB_STREAM" \
    $c logs describe-log-streams --log-group-name "$CB_GROUP" --query 'logStreams[].logStreamName' --output text
  expect_error "[$L] get-log-events of a missing stream" ResourceNotFoundException \
    $c logs get-log-events --log-group-name "$CB_GROUP" --log-stream-name no-such-stream

  # a build that fails: BUILD FAILED, POST_BUILD runs.
  cb_create "$c" "$fail_p" '  build:' '    commands:' '      - echo failing now' '      - "false"' '      - echo "never $((2 + 3))"' \
    '  post_build:' '    commands:' '      - echo "post_build ran, succeeding=$CODEBUILD_BUILD_SUCCEEDING"'
  local fail_id=""
  if cb_run "$c" "$fail_p"; then
    fail_id=$CB_ID
    same "[$L] the failing build FAILED" "$CB_STATUS" FAILED
    same "[$L] its BUILD phase FAILED, POST_BUILD ran" "$CB_PHASES" "${CB_OK/ BUILD:SUCCEEDED/ BUILD:FAILED}"
    expect "[$L] its log: POST_BUILD ran with CODEBUILD_BUILD_SUCCEEDING=0, nothing after the failed command" $'1\t0' \
      log_counts "$c" "$CB_GROUP" "$CB_STREAM" "post_build ran, succeeding=0" "never 5"
  fi

  # a CODECOMMIT project on the repository's branch: the build resolves it
  # to the commit.
  expect "[$L] create-project $cc_p (CODECOMMIT)" $'CODECOMMIT\tmain' \
    $c codebuild create-project --cli-input-json "file://$(cb_input "$cc_p" \
      '{"type":"CODECOMMIT","location":"https://git-codecommit.us-east-1.amazonaws.com/v1/repos/cb-app"}' '"sourceVersion":"main"')" \
    --query 'project.[source.type,sourceVersion]' --output text
  if cb_run "$c" "$cc_p"; then
    same "[$L] the CODECOMMIT build SUCCEEDED" "$CB_STATUS" SUCCEEDED
    same "[$L] its resolvedSourceVersion is the commit" "$CB_RESOLVED" "$CB_COMMIT"
    expect "[$L] its log shows the repository's file and the commit" $'1\t1' \
      log_counts "$c" "$CB_GROUP" "$CB_STREAM" "cb-app says hello from its repository" "resolved=$CB_COMMIT"
  fi

  # stop-build of a build that sleeps: STOPPED at once, its processes gone.
  local tag="1000.${$}1" # unique to this run and client
  [ "$c" = deb ] || tag="1000.${$}2"
  cb_create "$c" "$sleep_p" '  build:' '    commands:' "      - sleep $tag" '  post_build:' '    commands:' '      - echo "post_build after the stop"'
  call "[$L] start-build $sleep_p" $c codebuild start-build --project-name "$sleep_p" --query build.id --output text || return 1
  local sleep_id=$OUT deadline=$(($(date +%s) + 20))
  until [ -n "$(sleeping "$tag")" ] || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.2; done
  [ -n "$(sleeping "$tag")" ] && ok "[$L] the build runs sleep $tag" || bad "[$L] no process 'sleep $tag' in 20s"
  expect "[$L] batch-delete-builds of a running build: BUILD_IN_PROGRESS" "$sleep_id"$'\tBUILD_IN_PROGRESS' \
    $c codebuild batch-delete-builds --ids "$sleep_id" --query 'buildsNotDeleted[].[id,statusCode]' --output text
  expect "[$L] stop-build answers STOPPED, complete" $'STOPPED\tTrue' \
    $c codebuild stop-build --id "$sleep_id" --query 'build.[buildStatus,buildComplete]' --output text
  wait_gone "$tag" 10 && ok "[$L] the stopped build's sleep is gone" || bad "[$L] 'sleep $tag' still runs 10s after stop-build"
  if cb_complete "$c" "$sleep_id" "[$L] the stopped build is complete"; then
    same "[$L] the stopped build: BUILD STOPPED, no POST_BUILD" "$CB_STATUS $CB_PHASES" "STOPPED ${CB_OK%% BUILD:*} BUILD:STOPPED COMPLETED:-"
  fi
  expect "[$L] stop-build of a stopped build answers it as it is" $'STOPPED\tTrue' \
    $c codebuild stop-build --id "$sleep_id" --query 'build.[buildStatus,buildComplete]' --output text
  expect_error "[$L] stop-build of a missing build" ResourceNotFoundException \
    $c codebuild stop-build --id "$sleep_p:00000000-0000-0000-0000-000000000000"

  # aws logs tail --follow (aws CLI v2 only) while a build prints a line
  # every 0.2 s for 3 s.
  local names="$cc_p $fail_p $ok_p $sleep_p"
  if [ "$c" = deb ]; then
    names+=" $tick_p"
    cb_create "$c" "$tick_p" '  build:' '    commands:' '      - for i in $(seq 1 15); do echo "tick $i of 15"; sleep 0.2; done'
    local tick_id=""
    call "[$L] start-build $tick_p" $c codebuild start-build --project-name "$tick_p" --query build.id --output text && tick_id=$OUT
    if [ -n "$tick_id" ] && wait_for "[$L] the ticking build is in BUILD" 20 BUILD cb_build "$c" "$tick_id" currentPhase; then
      timeout 40 "$DEB" --endpoint-url "$EP" logs tail "/aws/codebuild/$tick_p" --follow --format short >"$TMP/tail.out" 2>"$TMP/tail.err" &
      local tail_pid=$! n
      wait_for "[$L] the ticking build completes while logs tail follows" 30 True cb_build "$c" "$tick_id" buildComplete
      deadline=$(($(date +%s) + 20))
      until grep -q ' tick 15 of 15$' "$TMP/tail.out" || [ "$(date +%s)" -ge "$deadline" ]; do sleep 0.2; done
      kill "$tail_pid" 2>/dev/null
      wait "$tail_pid" 2>/dev/null
      n=$(grep -cE ' tick [0-9]+ of 15$' "$TMP/tail.out")
      same "[$L] logs tail --follow printed the build's lines as they came" "$n lines" "15 lines"
    fi
  fi

  # lists, reads, updates, retries and deletes.
  expect "[$L] list-builds lists the build" 1 $c codebuild list-builds --query "length(ids[?@=='$ok_id'])" --output text
  expect "[$L] list-builds-for-project" "$ok_id" $c codebuild list-builds-for-project --project-name "$ok_p" --query 'ids' --output text
  expect_error "[$L] list-builds-for-project of a missing project" ResourceNotFoundException \
    $c codebuild list-builds-for-project --project-name "$c-missing"
  expect "[$L] list-projects --sort-by NAME" "$names" \
    $c codebuild list-projects --sort-by NAME --sort-order ASCENDING --query "join(\`\" \"\`,projects[?starts_with(@,'$c-')])" --output text
  expect "[$L] batch-get-projects" "$ok_p"$'\t'"$c-missing" \
    $c codebuild batch-get-projects --names "$ok_p" "$c-missing" --query '[projects[].name,projectsNotFound][]' --output text
  expect "[$L] update-project" $'updated by e2e\t30' \
    $c codebuild update-project --name "$ok_p" --description "updated by e2e" --timeout-in-minutes 30 \
    --query 'project.[description,timeoutInMinutes]' --output text
  expect "[$L] batch-get-projects shows the update" $'updated by e2e\t30\tNO_SOURCE' \
    $c codebuild batch-get-projects --names "$ok_p" --query 'projects[0].[description,timeoutInMinutes,source.type]' --output text
  expect_error "[$L] update-project of a missing project" ResourceNotFoundException \
    $c codebuild update-project --name "$c-missing" --description x
  call "[$L] retry-build" $c codebuild retry-build --id "$ok_id" --query 'build.[id,buildNumber]' --output text
  local retry_id num
  read -r retry_id num <<<"$OUT"
  [[ "$retry_id" == "$ok_p:"* ]] && [ "$retry_id" != "$ok_id" ] && [ "$num" = 2 ] && ok "[$L] retry-build starts build number 2" ||
    bad "[$L] retry-build answered '$OUT'"
  cb_complete "$c" "$retry_id" "[$L] the retried build completes" && same "[$L] the retried build SUCCEEDED" "$CB_STATUS" SUCCEEDED
  expect_error "[$L] retry-build of a missing build" ResourceNotFoundException \
    $c codebuild retry-build --id "$ok_p:00000000-0000-0000-0000-000000000000"
  expect "[$L] batch-delete-builds" "$retry_id"$'\t'"$ok_p:nope"$'\tBUILD_NOT_FOUND' \
    $c codebuild batch-delete-builds --ids "$retry_id" "$ok_p:nope" --query '[buildsDeleted,buildsNotDeleted[].[id,statusCode]][][]' --output text
  expect "[$L] a deleted build is not found" "$retry_id" $c codebuild batch-get-builds --ids "$retry_id" --query buildsNotFound --output text
  expect "[$L] delete-project" "" $c codebuild delete-project --name "$fail_p"
  expect "[$L] the deleted project is not found" "$fail_p" $c codebuild batch-get-projects --names "$fail_p" --query projectsNotFound --output text
  expect "[$L] the deleted project's builds are kept" "$fail_id"$'\tFAILED' cb_build "$c" "$fail_id" '[id,buildStatus]'
}

for c in "${CLIENTS[@]}"; do
  codebuild "$c"
done
if [ -n "$PYAWS" ]; then
  expect_error "[current aws] an unimplemented CodeBuild operation" UnknownOperationException py codebuild list-fleets
fi
echo "e2e-cli: CodeBuild took $(($(date +%s) - T_CB))s"

# ---------------------------------------------------------------- S3

. "$REPO/scripts/e2e-s3.sh"

# ---------------------------------------------------------------- CodeDeploy

. "$REPO/scripts/e2e-codedeploy.sh"

# ---------------------------------------------------------------- signing

say "request signing"
wrong_secret() { AWS_SECRET_ACCESS_KEY=not-the-secret-key-of-this-server "$@"; }
unknown_key() { AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE "$@"; }
for c in "${CLIENTS[@]}"; do
  L=$(label "$c")
  expect_error "[$L] unsigned request" MissingAuthenticationTokenException \
    $c --no-sign-request codepipeline list-pipelines
  expect_error "[$L] request signed with a wrong secret key" InvalidSignatureException \
    wrong_secret $c codepipeline list-pipelines
  expect_error "[$L] request signed with an unknown access key" UnrecognizedClientException \
    unknown_key $c codepipeline list-pipelines
  expect_error "[$L] S3 request signed with a wrong secret key" SignatureDoesNotMatch wrong_secret $c s3api list-buckets
  expect_error "[$L] S3 request signed with an unknown access key" InvalidAccessKeyId unknown_key $c s3api list-buckets
done

echo "e2e-cli: run took $(($(date +%s) - T0))s ($(($(date +%s) - T1))s after the build)"
summary
[ "$FAIL" -eq 0 ]
