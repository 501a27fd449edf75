# S3 part of scripts/e2e-cli.sh, sourced by it once the server runs and the
# pipeline scenarios are done: it uses that script's helpers (ok, bad, run,
# call, expect, expect_error, label), its clients (CLIENTS, deb, py), $TMP
# and $EP.
#
# With each client: aws s3 mb/ls/cp (small, unicode and multipart-sized
# files, both ways, content compared), sync up (and again: nothing to do,
# then one changed file), sync down (trees compared), presign (fetched with
# curl), rm --recursive, rb (BucketNotEmpty, then --force); s3api errors;
# and a pipeline artifact that list-action-executions names, fetched with
# aws s3 cp.

# s3_digest FILE: the file's md5, for comparisons.
s3_digest() { md5sum "$1" | cut -d' ' -f1; }

s3_suite() {
  local c=$1 L
  L=$(label "$c")
  local b="e2e-s3-${c}" dir="$TMP/s3-$c"
  mkdir -p "$dir/up/sub/deeper" "$dir/down"
  printf 'hello s3\n' >"$dir/up/hello.txt"
  printf 'é and ü\n' >"$dir/up/sub/ünïcode file.txt"
  printf 'deep\n' >"$dir/up/sub/deeper/x.txt"
  head -c $((20 * 1024 * 1024)) /dev/urandom >"$dir/big.bin"

  call "[$L] s3 mb" $c s3 mb "s3://$b" && ok "[$L] s3 mb"
  expect_error "[$L] s3api create-bucket of an existing bucket" BucketAlreadyOwnedByYou $c s3api create-bucket --bucket "$b"
  expect_error "[$L] s3api create-bucket with an invalid name" InvalidBucketName $c s3api create-bucket --bucket "Not_Valid"
  call "[$L] s3 ls" $c s3 ls && { [[ "$OUT" == *" $b"* ]] && ok "[$L] s3 ls lists the bucket" || bad "[$L] s3 ls: '$OUT'"; }

  call "[$L] s3 cp up" $c s3 cp "$dir/up/hello.txt" "s3://$b/one/hello.txt" --no-progress && ok "[$L] s3 cp up"
  call "[$L] s3 cp down to stdout" $c s3 cp "s3://$b/one/hello.txt" - &&
    { [ "$OUT" = "hello s3" ] && ok "[$L] s3 cp down gives the content" || bad "[$L] s3 cp down: '$OUT'"; }
  call "[$L] s3 cp of 20 MiB (multipart)" $c s3 cp "$dir/big.bin" "s3://$b/big.bin" --no-progress && ok "[$L] s3 cp of 20 MiB up"
  call "[$L] s3api head-object of the multipart object" $c s3api head-object --bucket "$b" --key big.bin --query '[ContentLength,ETag]' --output text &&
    { [[ "$OUT" =~ ^20971520[[:space:]]+\"[0-9a-f]{32}-[0-9]+\"$ ]] && ok "[$L] multipart object: size and ETag -N" || bad "[$L] head-object: '$OUT'"; }
  call "[$L] s3 cp of 20 MiB down" $c s3 cp "s3://$b/big.bin" "$dir/big.down" --no-progress &&
    { [ "$(s3_digest "$dir/big.bin")" = "$(s3_digest "$dir/big.down")" ] && ok "[$L] 20 MiB round trip is intact" || bad "[$L] 20 MiB round trip differs"; }

  call "[$L] s3 sync up" $c s3 sync "$dir/up" "s3://$b/tree/" --no-progress && ok "[$L] s3 sync up"
  call "[$L] s3 ls --recursive" $c s3 ls "s3://$b/tree/" --recursive &&
    { [ "$(echo "$OUT" | wc -l)" = 3 ] && [[ "$OUT" == *"tree/sub/ünïcode file.txt"* ]] && ok "[$L] s3 ls --recursive lists the three keys" || bad "[$L] s3 ls --recursive: '$OUT'"; }
  call "[$L] s3 ls with a delimiter" $c s3 ls "s3://$b/tree/" &&
    { [[ "$OUT" == *"PRE sub/"* ]] && [[ "$OUT" == *" hello.txt"* ]] && ok "[$L] s3 ls shows the common prefix and the object" || bad "[$L] s3 ls: '$OUT'"; }
  call "[$L] s3 sync up again" $c s3 sync "$dir/up" "s3://$b/tree/" --no-progress &&
    { [ -z "$OUT" ] && ok "[$L] a second sync uploads nothing" || bad "[$L] second sync: '$OUT'"; }
  printf 'changed, longer\n' >"$dir/up/hello.txt"
  call "[$L] s3 sync a change" $c s3 sync "$dir/up" "s3://$b/tree/" --no-progress &&
    { [ "$(echo "$OUT" | grep -c '^upload:')" = 1 ] && ok "[$L] sync uploads the one changed file" || bad "[$L] sync of a change: '$OUT'"; }
  call "[$L] s3 sync down" $c s3 sync "s3://$b/tree/" "$dir/down" --no-progress &&
    { diff -r "$dir/up" "$dir/down" >/dev/null && ok "[$L] sync down gives the same tree" || bad "[$L] sync down: $(diff -r "$dir/up" "$dir/down" | head -n 3)"; }

  call "[$L] s3 presign" $c s3 presign "s3://$b/one/hello.txt" --expires-in 120 &&
    { [ "$(curl -s "$OUT")" = "hello s3" ] && ok "[$L] a presigned URL fetches the object" || bad "[$L] presigned URL: $(curl -s "$OUT" | head -c 300)"; }
  local forged=${OUT/Signature=/Signature=0} # SigV4's X-Amz-Signature or SigV2's Signature
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$forged")" = 403 ] && ok "[$L] a forged presigned URL is refused (403)" || bad "[$L] forged presigned URL not refused"

  expect_error "[$L] s3api get-object of a missing key" NoSuchKey $c s3api get-object --bucket "$b" --key nope "$dir/nope"
  expect_error "[$L] s3api list-objects-v2 of a missing bucket" NoSuchBucket $c s3api list-objects-v2 --bucket "no-such-bucket-$c"
  expect_error "[$L] s3 rb of a bucket that is not empty" BucketNotEmpty $c s3api delete-bucket --bucket "$b"
  call "[$L] s3 rm --recursive" $c s3 rm "s3://$b/tree/" --recursive &&
    { [ "$(echo "$OUT" | grep -c '^delete:')" = 3 ] && ok "[$L] rm --recursive deletes the three keys" || bad "[$L] rm --recursive: '$OUT'"; }
  expect "[$L] what is left" $'big.bin\tone/hello.txt' $c s3api list-objects-v2 --bucket "$b" --query 'Contents[].Key' --output text
  call "[$L] s3 rb --force" $c s3 rb "s3://$b" --force && ok "[$L] s3 rb --force"
  expect_error "[$L] the bucket is gone" NoSuchBucket $c s3api list-objects-v2 --bucket "$b"
  rm -rf "$dir"
}

say "S3"
T_S3=$(date +%s)
for c in "${CLIENTS[@]}"; do
  s3_suite "$c"
done

# A pipeline artifact named by list-action-executions is an S3 object.
c=${CLIENTS[0]}
L=$(label "$c")
call "[$L] the Build action's output artifact location" $c codepipeline list-action-executions --pipeline-name hello \
  --query "actionExecutionDetails[?actionName=='Build' && status=='Succeeded'] | [0].output.outputArtifacts[0].s3location.[bucket,key]" --output text
read -r art_bucket art_key <<<"$OUT"
if [ -n "${art_key:-}" ] && [ "$art_key" != None ]; then
  call "[$L] aws s3 cp of the pipeline artifact" $c s3 cp "s3://$art_bucket/$art_key" "$TMP/artifact.zip" &&
    { python3 -m zipfile -t "$TMP/artifact.zip" >/dev/null 2>&1 && ok "[$L] the pipeline artifact fetched through S3 is a zip" || bad "[$L] the fetched artifact is not a zip"; }
else
  bad "[$L] no Build output artifact location: '$OUT'"
fi
echo "e2e-cli: S3 took $(($(date +%s) - T_S3))s"
