#!/usr/bin/env bash
# Creates the example application repository `hello-app` (branch main, one
# commit) that examples/pipeline.json builds.
#
#   examples/setup-repo.sh DIR
#
# DIR is either the server's --data directory (the repository then goes to
# DIR/git/hello-app, the default --git-root) or the --git-root directory
# itself. A directory that holds pipewright.db or credentials.json, or that
# does not exist yet and ends in .pipewright, is taken as --data.
#
# Running it again on an existing hello-app adds a commit that bumps the
# app's VERSION, so that the next execution has a new revision to build.
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  echo "usage: $0 DATA_DIR_OR_GIT_ROOT" >&2
  exit 2
fi
dir=$1
case "$dir" in
  */) dir=${dir%/} ;;
esac
if [ -e "$dir/pipewright.db" ] || [ -e "$dir/credentials.json" ] || { [ ! -e "$dir" ] && [ "${dir##*/}" = .pipewright ]; }; then
  root="$dir/git"
else
  root="$dir"
fi
repo="$root/hello-app"
command -v git >/dev/null || { echo "setup-repo: git is not installed" >&2; exit 1; }

# Commit as a fixed example author, whatever the user's git configuration.
gitc() {
  git -C "$repo" -c user.name="pipewright example" -c user.email="example@pipewright.invalid" \
    -c commit.gpgsign=false -c core.hooksPath=/dev/null "$@"
}

if [ -d "$repo/.git" ]; then
  old=$(cat "$repo/VERSION")
  new="${old%.*}.$(( ${old##*.} + 1 ))"
  echo "$new" > "$repo/VERSION"
  gitc add VERSION
  gitc commit -q -m "Release $new"
  echo "setup-repo: $repo: committed version $new on main ($(gitc rev-parse --short HEAD))"
  exit 0
fi

mkdir -p "$repo"
git init -q "$repo"
gitc symbolic-ref HEAD refs/heads/main

echo "1.0.0" > "$repo/VERSION"

cat > "$repo/hello.sh" <<'APP'
#!/usr/bin/env bash
# The example application: greets whoever is named (default: world).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
echo "Hello, ${1:-world}! (hello-app $(cat "$here/VERSION"))"
APP

cat > "$repo/test.sh" <<'TEST'
#!/usr/bin/env bash
# The example application's tests.
set -euo pipefail
cd "$(dirname "$0")"
fail=0
check() {
  local got=$1 want=$2
  if [ "$got" = "$want" ]; then echo "ok   - $want"; else echo "FAIL - want '$want', got '$got'"; fail=1; fi
}
v=$(cat VERSION)
check "$(./hello.sh)" "Hello, world! (hello-app $v)"
check "$(./hello.sh pipewright)" "Hello, pipewright! (hello-app $v)"
exit $fail
TEST

cat > "$repo/README.md" <<'DOC'
# hello-app

The example application of pipewright's quickstart: `./hello.sh [NAME]`
greets, `./test.sh` tests it.
DOC

chmod +x "$repo/hello.sh" "$repo/test.sh"
gitc add -A
gitc commit -q -m "hello-app 1.0.0"
echo "setup-repo: created $repo (branch main, commit $(gitc rev-parse --short HEAD))"
