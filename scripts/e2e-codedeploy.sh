# CodeDeploy part of scripts/e2e-cli.sh, sourced by it once the server runs
# and S3 is done: it uses that script's helpers (ok, bad, run, call,
# expect, expect_error, label), its clients (CLIENTS, deb, py), $TMP and
# $EP (and AWS_ENDPOINT_URL, which the server's export line set).
#
# With each client: aws s3 mb, aws deploy create-application, aws deploy
# push (a source directory zipped, uploaded through S3 and registered as a
# revision), get-application-revision of what push registered,
# register-on-premises-instance (and again: IamUserArnAlreadyRegistered),
# add-tags-to-on-premises-instances, list-on-premises-instances by
# registration status and tag filter, create-deployment-group over those
# tags, and a deployment to that instance (whose host never polls):
# create-deployment, get-deployment, list-deployments,
# list-deployment-instances, a second one (DeploymentLimitExceeded),
# stop-deployment --auto-rollback-enabled (Succeeded at once, nothing to
# roll back), get-deployment-instance, and a second stop
# (DeploymentAlreadyCompleted). Then pipewright's agent runs on that
# instance: a deployment, and a stop with rollback while a hook runs.
#
# `aws deploy push` makes its S3 client without --endpoint-url. The current
# aws CLI gives it AWS_ENDPOINT_URL; Debian's aws CLI 2.9 predates
# AWS_ENDPOINT_URL (2.13), so for it a sitecustomize shim on PYTHONPATH
# gives the endpoint to S3 clients made without one: the real push code
# runs against pipewright either way.

cd_shim="$TMP/cd-shim"
mkdir -p "$cd_shim"
cat >"$cd_shim/sitecustomize.py" <<'PY'
import os

_ep = os.environ.get("PIPEWRIGHT_E2E_S3_ENDPOINT")
if _ep:
    import awscli  # its import finder makes "botocore" the CLI's own copy

    from botocore import session as _session

    _create = _session.Session.create_client

    def _create_client(self, service_name, *args, **kwargs):
        if service_name == "s3" and not kwargs.get("endpoint_url") and len(args) < 5:
            kwargs["endpoint_url"] = _ep
        return _create(self, service_name, *args, **kwargs)

    _session.Session.create_client = _create_client
PY
# cd_push CLIENT ARGS...: aws deploy push with the client, its S3 uploads
# going to pipewright.
cd_push() {
  local c=$1
  shift
  if [ "$c" = deb ]; then
    PYTHONPATH="$cd_shim" PIPEWRIGHT_E2E_S3_ENDPOINT="$EP" deb deploy push "$@"
  else
    py deploy push "$@"
  fi
}

cd_suite() {
  local c=$1 L
  L=$(label "$c")
  local app="e2e-cd-$c" b="e2e-cd-$c" src="$TMP/cd-src-$c" host="e2e-host-$c"
  local user="arn:aws:iam::000000000000:user/e2e-host-$c"
  mkdir -p "$src/scripts"
  printf 'version: 0.0\nos: linux\nfiles:\n  - source: index.html\n    destination: /srv/web\nhooks:\n  ApplicationStart:\n    - location: scripts/start.sh\n      timeout: 30\n' >"$src/appspec.yml"
  printf '<p>hello</p>\n' >"$src/index.html"
  printf '#!/bin/sh\necho started\n' >"$src/scripts/start.sh"
  chmod +x "$src/scripts/start.sh"

  call "[$L] s3 mb for the revisions" $c s3 mb "s3://$b" && ok "[$L] s3 mb s3://$b"
  call "[$L] deploy create-application" $c deploy create-application --application-name "$app" --query applicationId --output text &&
    { [[ "$OUT" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] && ok "[$L] create-application answers a UUID" || bad "[$L] create-application: '$OUT'"; }
  expect_error "[$L] deploy create-application for Lambda" InvalidComputePlatformException \
    $c deploy create-application --application-name "$app-fn" --compute-platform Lambda

  call "[$L] deploy push" cd_push "$c" --application-name "$app" --s3-location "s3://$b/app.zip" --source "$src" --description "e2e $c"
  local etag
  etag=$(echo "$OUT" | grep -o 'eTag=[0-9a-f]*' | head -n 1)
  etag=${etag#eTag=}
  if [ -n "$etag" ]; then ok "[$L] deploy push uploads and registers the revision (eTag $etag)"; else bad "[$L] deploy push: '$OUT' $ERR"; fi
  call "[$L] the pushed bundle is a zip with the appspec" $c s3 cp "s3://$b/app.zip" "$TMP/cd-$c.zip" &&
    { python3 -m zipfile -l "$TMP/cd-$c.zip" 2>/dev/null | grep -q appspec.yml && ok "[$L] the pushed bundle holds appspec.yml" || bad "[$L] the pushed bundle has no appspec.yml"; }
  expect "[$L] deploy get-application-revision of the pushed revision" $'S3\tapp.zip\tzip\te2e '"$c" \
    $c deploy get-application-revision --application-name "$app" --s3-location "bucket=$b,key=app.zip,bundleType=zip,eTag=$etag" \
    --query '[revision.revisionType,revision.s3Location.key,revision.s3Location.bundleType,revisionInfo.description]' --output text
  expect "[$L] deploy list-application-revisions" "app.zip" \
    $c deploy list-application-revisions --application-name "$app" --query 'revisions[].s3Location.key' --output text
  expect_error "[$L] deploy register-application-revision of a missing object" InvalidRevisionException \
    $c deploy register-application-revision --application-name "$app" --s3-location "bucket=$b,key=nope.zip,bundleType=zip"

  call "[$L] deploy register-on-premises-instance" $c deploy register-on-premises-instance --instance-name "$host" --iam-user-arn "$user" &&
    ok "[$L] deploy register-on-premises-instance"
  expect_error "[$L] the same IAM user again" IamUserArnAlreadyRegisteredException \
    $c deploy register-on-premises-instance --instance-name "$host-2" --iam-user-arn "$user"
  call "[$L] deploy add-tags-to-on-premises-instances" $c deploy add-tags-to-on-premises-instances --instance-names "$host" --tags "Key=role,Value=web-$c" &&
    ok "[$L] deploy add-tags-to-on-premises-instances"
  expect "[$L] deploy list-on-premises-instances by tag" "$host" \
    $c deploy list-on-premises-instances --registration-status Registered --tag-filters "Key=role,Value=web-$c,Type=KEY_AND_VALUE" --output text --query 'instanceNames'
  expect "[$L] deploy get-on-premises-instance" "$user"$'\t'"web-$c" \
    $c deploy get-on-premises-instance --instance-name "$host" --query '[instanceInfo.iamUserArn,instanceInfo.tags[0].Value]' --output text
  expect "[$L] deploy create-deployment-group over the instance's tags" "OneAtATime" \
    $c deploy create-deployment-group --application-name "$app" --deployment-group-name prod \
    --service-role-arn arn:aws:iam::000000000000:role/CodeDeploy --on-premises-instance-tag-filters "Key=role,Value=web-$c,Type=KEY_AND_VALUE" \
    --query 'length(deploymentGroupId) == `36` && `"OneAtATime"`' --output text
  expect_error "[$L] deploy create-deployment-group with EC2 tags" InvalidEC2TagException \
    $c deploy create-deployment-group --application-name "$app" --deployment-group-name ec2 \
    --service-role-arn arn:aws:iam::000000000000:role/CodeDeploy --ec2-tag-filters "Key=role,Value=web,Type=KEY_AND_VALUE"

  # A deployment to the instance, whose host never polls: it waits Created
  # until stop-deployment ends it.
  local id
  call "[$L] deploy create-deployment" $c deploy create-deployment --application-name "$app" --deployment-group-name prod \
    --s3-location "bucket=$b,key=app.zip,bundleType=zip,eTag=$etag" --description "e2e $c" --query deploymentId --output text &&
    { [[ "$OUT" =~ ^d-[A-Z0-9]{9}$ ]] && ok "[$L] create-deployment answers a deployment id" || bad "[$L] create-deployment: '$OUT'"; }
  id=$OUT
  expect "[$L] deploy get-deployment: Created, its instance Pending" $'Created\t1\te2e '"$c" \
    $c deploy get-deployment --deployment-id "$id" --query '[deploymentInfo.status,deploymentInfo.deploymentOverview.Pending,deploymentInfo.description]' --output text
  expect_error "[$L] a second active deployment in the group" DeploymentLimitExceededException \
    $c deploy create-deployment --application-name "$app" --deployment-group-name prod --s3-location "bucket=$b,key=app.zip,bundleType=zip"
  expect_error "[$L] deploy create-deployment of a missing object" InvalidRevisionException \
    $c deploy create-deployment --application-name "$app" --deployment-group-name prod --s3-location "bucket=$b,key=nope.zip,bundleType=zip"
  expect "[$L] deploy list-deployments of the group" "$id" \
    $c deploy list-deployments --application-name "$app" --deployment-group-name prod --query deployments --output text
  expect "[$L] deploy list-deployment-instances" "$host" \
    $c deploy list-deployment-instances --deployment-id "$id" --query instancesList --output text
  expect "[$L] deploy stop-deployment --auto-rollback-enabled before anything ran" "Succeeded" \
    $c deploy stop-deployment --deployment-id "$id" --auto-rollback-enabled --query status --output text
  expect "[$L] the deployment is Stopped" $'Stopped\tMANUAL_STOP' \
    $c deploy get-deployment --deployment-id "$id" --query '[deploymentInfo.status,deploymentInfo.errorInformation.code]' --output text
  expect "[$L] nothing to roll back" "Automatic rollback was not performed: no instance received this deployment's revision" \
    $c deploy get-deployment --deployment-id "$id" --query deploymentInfo.rollbackInfo.rollbackMessage --output text
  expect "[$L] its instance and events are Skipped" $'Skipped\tSkipped' \
    $c deploy get-deployment-instance --deployment-id "$id" --instance-id "$host" --query 'instanceSummary.[status,lifecycleEvents[0].status]' --output text
  expect_error "[$L] deploy stop-deployment of a stopped deployment" DeploymentAlreadyCompletedException \
    $c deploy stop-deployment --deployment-id "$id"
  cd_agent_suite "$c"
  rm -rf "$src" "$TMP/cd-$c.zip"
}

# cd_agent_suite CLIENT: pipewright's own agent (`pipewright agent`, the
# credentials of the export line) carries out a deployment of the pushed
# revision on the instance; then a deployment whose BeforeInstall hook
# sleeps is stopped with --auto-rollback-enabled while the hook runs:
# Pending, then Stopped, and the rollback puts the first revision back.
cd_agent_suite() {
  local c=$1 L root="$TMP/cd-root-$c"
  L=$(label "$c")
  mkdir -p "$root"
  "$TMP/pipewright" agent --endpoint "$EP" --instance-name "$host" --root "$root" --stop-grace 1s 2>"$TMP/cd-agent-$c.log" &
  CD_AGENTS="$CD_AGENTS $!"
  local id
  call "[$L] deploy create-deployment for pipewright's agent" $c deploy create-deployment --application-name "$app" --deployment-group-name prod \
    --s3-location "bucket=$b,key=app.zip,bundleType=zip,eTag=$etag" --query deploymentId --output text
  id=$OUT
  wait_for "[$L] pipewright's agent carries the deployment out" 60 Succeeded \
    $c deploy get-deployment --deployment-id "$id" --query deploymentInfo.status --output text
  [ "$(cat "$root/srv/web/index.html" 2>/dev/null)" = "<p>hello</p>" ] && ok "[$L] the agent installed /srv/web/index.html under its root" ||
    bad "[$L] $root/srv/web/index.html: '$(cat "$root/srv/web/index.html" 2>&1)'"
  expect "[$L] the ApplicationStart hook's output is in its log tail" "True" \
    $c deploy get-deployment-instance --deployment-id "$id" --instance-id "$host" \
    --query "contains(instanceSummary.lifecycleEvents[?lifecycleEventName=='ApplicationStart'].diagnostics.logTail | [0], '[stdout]started')" --output text

  printf '<p>v2</p>\n' >"$src/index.html"
  printf '#!/bin/sh\nsleep 6\n' >"$src/scripts/slow.sh"
  chmod +x "$src/scripts/slow.sh"
  printf '  BeforeInstall:\n    - location: scripts/slow.sh\n      timeout: 30\n' >>"$src/appspec.yml"
  call "[$L] deploy push of a second revision" cd_push "$c" --application-name "$app" --s3-location "s3://$b/app2.zip" --source "$src"
  call "[$L] deploy create-deployment of it" $c deploy create-deployment --application-name "$app" --deployment-group-name prod \
    --s3-location "bucket=$b,key=app2.zip,bundleType=zip" --query deploymentId --output text
  id=$OUT
  wait_for "[$L] its BeforeInstall hook runs" 30 InProgress \
    $c deploy get-deployment-instance --deployment-id "$id" --instance-id "$host" \
    --query "instanceSummary.lifecycleEvents[?lifecycleEventName=='BeforeInstall'].status | [0]" --output text
  expect "[$L] deploy stop-deployment --auto-rollback-enabled while the hook runs" "Pending" \
    $c deploy stop-deployment --deployment-id "$id" --auto-rollback-enabled --query status --output text
  wait_for "[$L] the deployment ends Stopped once the hook has finished" 30 Stopped \
    $c deploy get-deployment --deployment-id "$id" --query deploymentInfo.status --output text
  call "[$L] its rollbackInfo names the rollback" $c deploy get-deployment --deployment-id "$id" --query deploymentInfo.rollbackInfo.rollbackDeploymentId --output text
  local rb=$OUT
  wait_for "[$L] the rollback deployment succeeds" 60 $'Succeeded\tcodeDeployRollback' \
    $c deploy get-deployment --deployment-id "$rb" --query '[deploymentInfo.status,deploymentInfo.creator]' --output text
  [ "$(cat "$root/srv/web/index.html" 2>/dev/null)" = "<p>hello</p>" ] && ok "[$L] the rollback put the first revision back" ||
    bad "[$L] after the rollback $root/srv/web/index.html: '$(cat "$root/srv/web/index.html" 2>&1)'"
}

say "CodeDeploy"
T_CD=$(date +%s)
for c in "${CLIENTS[@]}"; do
  cd_suite "$c"
done
echo "e2e-cli: CodeDeploy took $(($(date +%s) - T_CD))s"
