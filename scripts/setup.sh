#!/usr/bin/env bash
# Everything the demo and the tests need from the machine: node modules, a running engine, base images.
# Safe to run again: each step checks first and does nothing when its part is there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/dockerode ] || npm ci --no-audit --no-fund
bash scripts/engine.sh
bash scripts/base-images.sh "${1:-all}"
