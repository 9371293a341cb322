#!/usr/bin/env bash
# Base images the examples and tests name in FROM. On a machine that can reach a registry they are
# pulled as usual. Where a pull is impossible (no registry here), we make local stand-ins from
# Debian's own packages and tag them with the same public names, labelled so they can be told apart:
#   busybox:1.36  from busybox-static            (tests' builders; a few MB, seconds)
#   golang:1.19   from debootstrap + golang-go   (examples/hello-go; Debian bookworm ships Go 1.19)
#   gcc:12        the same rootfs, which has gcc (examples/hello-c; Debian bookworm ships gcc 12)
# Made once; images stay in the engine, so a second run only checks they are there.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache="$here/.cache"
mkdir -p "$cache"
label="org.dockerception.standin"

have() { docker image inspect "$1" >/dev/null 2>&1; }
try_pull() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "base-images: need Debian packages '$*' and root to install them; install them and run again." >&2
    exit 1
  fi
  { [ -n "${APT_UPDATED:-}" ] || apt-get update -q; } >>"$cache/apt-base.log" 2>&1 && APT_UPDATED=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$cache/apt-base.log" 2>&1
}

make_busybox() {
  command -v busybox >/dev/null 2>&1 && busybox --list >/dev/null 2>&1 && [ -x /bin/busybox ] || apt_install busybox-static
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/root"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/bin' --change 'CMD ["sh"]' --change "LABEL $label=busybox-static" \
    - busybox:1.36 >/dev/null
  rm -rf "$root"
}

make_toolchain() {
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local root mirror
  root=$(mktemp -d)
  # Use the same mirror apt uses on this machine.
  mirror=$(grep -rhE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -n 1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "base-images: debootstrap bookworm with golang-go and gcc from $mirror (a few minutes, once)"
  if ! debootstrap --variant=minbase --include=golang-go,gcc,libc6-dev,ca-certificates \
      bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
    echo "base-images: debootstrap failed; see $cache/debootstrap.log" >&2
    tail -n 20 "$cache/debootstrap.log" >&2
    rm -rf "$root"
    exit 1
  fi
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV HOME=/root' --change 'CMD ["bash"]' \
    --change "LABEL $label=debian-bookworm-golang-1.19-gcc-12" \
    - golang:1.19 >/dev/null
  docker tag golang:1.19 gcc:12
  rm -rf "$root"
}

ensure() {
  local name=$1 maker=$2
  if have "$name"; then echo "base-images: $name present"; return; fi
  if try_pull "$name"; then echo "base-images: pulled $name"; return; fi
  echo "base-images: cannot pull $name; making a local stand-in"
  "$maker"
  echo "base-images: $name made locally ($(docker image inspect -f '{{.Size}}' "$name") bytes)"
}

ensure busybox:1.36 make_busybox
want=${1:-all}
if [ "$want" = all ]; then
  ensure golang:1.19 make_toolchain
  # gcc:12 comes from the same stand-in when golang:1.19 had to be made; otherwise pull it.
  have gcc:12 || ensure gcc:12 make_toolchain
fi
