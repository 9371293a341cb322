#!/usr/bin/env bash
# Everything the demo and the tests need from the machine. Safe to run again: each step checks first.
#   setup.sh core   node modules, a running Docker engine, the base images the examples and tests name
#   setup.sh all    core, plus code-server (a real VS Code) and Debian's Chromium for the UI tests
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-core}

[ -d node_modules/dockerode ] || npm ci --no-audit --no-fund
bash scripts/engine.sh
bash scripts/base-images.sh

if [ "$what" = all ]; then
  if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup: the UI tests need Debian's chromium (apt-get install chromium) and this is not root." >&2
      exit 1
    fi
    echo "setup: installing Debian's chromium"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >.cache/apt-chromium.log 2>&1 \
      || { echo "setup: apt-get install chromium failed; see .cache/apt-chromium.log" >&2; exit 1; }
  fi
  echo "code-server: $(bash scripts/code-server.sh)"
fi
