#!/usr/bin/env bash
# Podman's Docker-compatible API on a unix socket, with its storage in a folder of its own:
#   scripts/podman-service.sh DIR          serves unix://DIR/podman.sock in the foreground (the caller
#                                          owns the process; stop it with SIGTERM)
# On machines like this project's CI (a VM whose cgroups are hybrid v1/v2, no CAP_SYS_RESOURCE), a plain
# `podman run` fails: crun refuses hybrid cgroups, and Podman as root raises RLIMIT_NOFILE/NPROC above
# what the process may set ("error setting rlimit type 7/6: operation not permitted"). This runs it with
# runc, cgroupfs, and default ulimits no higher than this shell's own hard limits.
set -euo pipefail
dir=${1:?usage: podman-service.sh DIR}
mkdir -p "$dir"
nofile=$(ulimit -Hn)
# Podman itself runs with RLIMIT_NPROC 32768 here; a container may not be given more than its parent has.
nproc=$(ulimit -Hu)
[ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$dir/containers.conf"
exec podman --root "$dir/root" --runroot "$dir/run" system service --time=0 "unix://$dir/podman.sock"
