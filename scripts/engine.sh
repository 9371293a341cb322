#!/usr/bin/env bash
# Make sure a Docker engine answers. If `docker info` already works we use that engine as it is.
# Otherwise, on a Debian machine where we are root, install Debian's docker.io when dockerd is
# missing and start dockerd in the background, logging to .cache/dockerd.log, then wait for it.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/.cache"
log="$cache/dockerd.log"
mkdir -p "$cache"

if docker info >/dev/null 2>&1; then
  echo "engine: already running ($(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null))"
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ]; then
  echo "engine: DOCKER_HOST=$DOCKER_HOST does not answer and is not ours to start." >&2
  echo "        Start that engine, or unset DOCKER_HOST to let this script start a local one." >&2
  exit 3
fi

if [ "$(id -u)" != 0 ]; then
  echo "engine: no Docker engine answers on /var/run/docker.sock, and starting one needs root." >&2
  echo "        Start Docker yourself (e.g. 'sudo systemctl start docker') or run this script as root." >&2
  exit 3
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "engine: installing Debian's docker.io (apt-get)"
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io; } >"$cache/apt-docker.log" 2>&1; then
    echo "engine: apt-get install docker.io failed; see $cache/apt-docker.log" >&2
    tail -n 20 "$cache/apt-docker.log" >&2
    exit 3
  fi
fi

# A dockerd that was killed leaves its pid file behind, and a new one refuses to start over it.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
  rm -f /var/run/docker.pid
fi
for _ in $(seq 1 100); do pgrep -x dockerd >/dev/null || break; sleep 0.1; done

echo "engine: starting dockerd in the background (log: $log)"
# setsid so that the engine outlives this script's process group and is not hit by a test's Ctrl-C.
setsid nohup dockerd >>"$log" 2>&1 </dev/null &
echo $! >"$cache/dockerd.pid"

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "engine: ready ($(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'))"
    exit 0
  fi
  if ! kill -0 "$(cat "$cache/dockerd.pid")" 2>/dev/null; then break; fi
  sleep 0.5
done

echo "engine: dockerd did not answer within 30 s. Last lines of $log:" >&2
tail -n 30 "$log" >&2
exit 3
