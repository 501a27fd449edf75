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
# the build (default: what is left of 175s since the start, at least 120s).
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
cleanup() {
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
# The whole run stays under 3 minutes, but the checks get at least 2 after
# a slow (cold cache) build.
LIMIT=${E2E_LIMIT:-$((175 - (T1 - T0)))}
[ -n "${E2E_LIMIT:-}" ] || [ "$LIMIT" -ge 120 ] || LIMIT=120
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
done

echo "e2e-cli: run took $(($(date +%s) - T0))s ($(($(date +%s) - T1))s after the build)"
summary
[ "$FAIL" -eq 0 ]
