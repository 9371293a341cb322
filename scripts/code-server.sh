#!/usr/bin/env bash
# Installs code-server 4.100.3 (= VS Code 1.100.3, the last line that runs on Node 20) into
# .cache/code-server, outside package.json: its postinstall builds native modules and would break
# `npm ci`. This machine cannot download a VS Code build, so the extension's tests run inside this one.
# Prints the path of entry.js. Reuses an existing install.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
version=4.100.3
dir="$here/.cache/code-server-$version"
entry="$dir/node_modules/code-server/out/node/entry.js"
log="$here/.cache/code-server-install.log"

if [ -f "$entry" ] && [ -f "$dir/.complete" ]; then
  echo "$entry"
  exit 0
fi

need=()
for pkg in build-essential python3 pkg-config libkrb5-dev ripgrep; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "code-server: needs Debian packages ${need[*]} (to build its native modules); install them and run again." >&2
    exit 1
  fi
  echo "code-server: installing ${need[*]}" >&2
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"; } >>"$log" 2>&1
fi

# Its postinstall downloads ripgrep from GitHub, which is out of reach: seed that download's cache
# with Debian's rg, packed the way the downloader expects.
tmp=${TMPDIR:-/tmp}
rgcache="$tmp/vscode-ripgrep-cache-1.15.11"
mkdir -p "$rgcache"
rgtar="$rgcache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$rgtar" ]; then
  stage=$(mktemp -d)
  cp "$(command -v rg)" "$stage/rg"
  tar -C "$stage" -czf "$rgtar" rg
  rm -rf "$stage"
fi

echo "code-server: installing $version into $dir (about a minute, once)" >&2
rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
echo '{"name":"code-server-cache","private":true}' >package.json
# unsafe_perm: as root its install scripts insist on it; yes: the machine's npmrc says yes=false,
# which aborts node-pty's `npx node-gyp`; nodedir: build against the local Node headers.
if ! npm_config_unsafe_perm=true npm_config_yes=true npm_config_nodedir=/usr \
    npm install --no-audit --no-fund --foreground-scripts "code-server@$version" >>"$log" 2>&1; then
  echo "code-server: npm install failed; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  exit 1
fi
[ -f "$entry" ] || { echo "code-server: installed, but $entry is missing; see $log" >&2; exit 1; }
touch "$dir/.complete"
echo "$entry"
