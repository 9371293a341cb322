#!/usr/bin/env bash
# Everything the demo and the tests need from the machine. Safe to run again: each step checks first.
#   setup.sh core   node modules, a running Docker engine, the base images the examples and tests name (the demo)
#   setup.sh all    core, plus what only the tests use: sshd, openssl, the registry, Podman and Go for the
#                   engine and oracle tests, code-server (a real VS Code) and Debian's Chromium for the UI tests
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-core}

[ -d node_modules/dockerode ] || npm ci --no-audit --no-fund
bash scripts/engine.sh
bash scripts/base-images.sh

# What the engine tests (npm run test:engines) start on loopback: sshd, a TLS dockerd (openssl certs), the
# registry with htpasswd, Podman's service (with runc); and Go, whose archive/tar (the engine's tar reader)
# is the tar gate's oracle in the unit tests.
if [ "$what" = all ]; then
  missing=()
  for tool in sshd:openssh-server ssh:openssh-client openssl:openssl docker-registry:docker-registry htpasswd:apache2-utils podman:podman runc:runc go:golang-go; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${tool%%:*}" ] || missing+=("${tool#*:}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup: the engine tests need ${missing[*]} (apt-get install them as root); they are skipped without root." >&2
    else
      echo "setup: installing ${missing[*]} for the engine tests"
      { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >.cache/apt-engines.log 2>&1 \
        || { echo "setup: apt-get install ${missing[*]} failed; see .cache/apt-engines.log" >&2; exit 1; }
    fi
  fi
fi

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
