#!/usr/bin/env bash
# Prints the path of a promtool, fetching one if needed:
#   1. $PROMTOOL or a promtool on PATH;
#   2. a copy cached in cargo's target directory (target/tools/promtool);
#   3. otherwise promtool is taken out of Debian's `prometheus` package
#      (`apt-get download`, ~19 MB, nothing installed or started; runs
#      `apt-get update` first when the package lists are empty, as root).
# Exits non-zero, saying why, when none can be had (e.g. no apt).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
if [ -n "${PROMTOOL:-}" ]; then echo "$PROMTOOL"; exit 0; fi
if command -v promtool >/dev/null; then command -v promtool; exit 0; fi
CACHED="$TARGET/tools/promtool"
if [ -x "$CACHED" ] && "$CACHED" --version >/dev/null 2>&1; then echo "$CACHED"; exit 0; fi
command -v apt-get >/dev/null || { echo "promtool.sh: no promtool on PATH and no apt-get to fetch one" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/litepool-promtool.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 0777 "$WORK" # apt's _apt user downloads into it
if ! apt-cache show prometheus >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null
fi
(cd "$WORK" && apt-get download -qq prometheus >/dev/null) || { echo "promtool.sh: apt-get download prometheus failed" >&2; exit 1; }
dpkg-deb --fsys-tarfile "$WORK"/prometheus_*.deb | tar -x -C "$WORK" ./usr/bin/promtool
mkdir -p "$TARGET/tools"
install -m 0755 "$WORK/usr/bin/promtool" "$CACHED"
echo "$CACHED"
