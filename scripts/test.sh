#!/usr/bin/env bash
# `npm test`: every suite, against the real engine and a real VS Code (code-server in Chromium).
# Brings up whatever is missing first (scripts/setup.sh all). One node:test run over all the files, so
# the output ends on node's summary, followed by a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh all || { echo "setup failed: see the lines above"; echo "0 passed, 1 failed"; exit 1; }
{ npm run --silent build && npm run --silent package >/dev/null && npm run --silent compile-tests; } \
  || { echo "build failed: see the lines above"; echo "0 passed, 1 failed"; exit 1; }

mkdir -p test-artifacts
# The tests' build records (what makes a rebuild "up to date") stay with the run, not in the user's cache.
export DOCKERCEPTION_STATE_DIR="$PWD/test-artifacts/build-records"
# The CLI's code cache (src/cli/code-cache.ts) too: the tests' runs leave nothing in the user's cache folder.
export DOCKERCEPTION_CODE_CACHE_DIR="$PWD/test-artifacts/code-cache"
before=$(docker ps -aq | wc -l)
# Images already dangling are not this run's; one that becomes dangling during it lost a dc-* tag to a rebuild.
dangling_before=" $(docker images --filter dangling=true -q --no-trunc | tr '\n' ' ')"
started=$(date +%s)
node --test --test-concurrency=1 \
  out/test/unit/*.test.js \
  out/test/faults/faults.test.js \
  out/test/engines/*.test.js \
  out/test/vscode/extension-host.test.js \
  out/test/vscode/native-problems.test.js \
  out/test/e2e/ui.test.js \
  out/test/e2e/build-all-ui.test.js \
  out/test/e2e/ship-ui.test.js \
  out/test/e2e/ship-tags-ui.test.js \
  out/test/e2e/native-ui.test.js \
  out/test/e2e/quickfix-ui.test.js \
  out/test/e2e/bridge-ui.test.js \
  out/test/e2e/choose-ui.test.js \
  out/test/e2e/view-ui.test.js \
  out/test/e2e/prelaunch-ui.test.js 2>&1 | tee test-artifacts/test.log
status=${PIPESTATUS[0]}
after=$(docker ps -aq | wc -l)
[ "$after" -gt "$before" ] && echo "warning: $((after - before)) container(s) more on the engine than before the tests"

# The suites tag their images dc-* (their namespace: every such tag is removed, whenever it was made; a
# cached build can re-tag an image older than this run). Rebuilding a tag leaves the image it pointed to
# dangling: those are removed when they were not dangling before this run. Repeated runs then do not fill the engine's disk.
made=$(
  docker images --filter 'reference=dc-*' --format '{{.Repository}}:{{.Tag}}'
  # By set, not by date: a cached build can remake an image with its old creation time.
  docker images --filter dangling=true -q --no-trunc | sort -u |
    while read -r id; do
      case "$dangling_before" in *" $id "*) ;; *) echo "$id" ;; esac
    done
)
[ -n "$made" ] && docker rmi $made >/dev/null 2>&1; echo "removed $(echo "$made" | grep -c .) image(s) the tests made"
node scripts/prune-build-cache.cjs "$started"

pass=$(grep -E '^# pass [0-9]+' test-artifacts/test.log | tail -n 1 | awk '{print $3}')
fail=$(grep -E '^# fail [0-9]+' test-artifacts/test.log | tail -n 1 | awk '{print $3}')
# A suite whose set-up failed cancels its tests: node counts them apart from the failures; here they are failures.
cancelled=$(grep -E '^# cancelled [0-9]+' test-artifacts/test.log | tail -n 1 | awk '{print $3}')
echo "${pass:-0} passed, $(( ${fail:-1} + ${cancelled:-0} )) failed"
exit "$status"
