#!/usr/bin/env bash
# Re-make the lock files from pyproject.toml: exact versions with their hashes, for every
# platform (Linux, Windows, macOS) and Python 3.11+. Run it after any change to the
# dependencies in pyproject.toml, then commit both files:
#
#   packaging/lock.sh                # keep what is locked, add what is new
#   packaging/lock.sh --upgrade      # also move everything to its newest allowed version
#
#   requirements-dev.lock  the console + test + research extras: scripts/setup.sh (tests, CI)
#   requirements.lock      the console + PyInstaller: packaging/build.sh (the frozen build);
#                          every version in it is the one in requirements-dev.lock.
#
# uv does the resolving (installed once into ~/.cache/holdspace/tools, pinned below).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
UV_VERSION=0.9.30
tools="${HOLDSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/holdspace}/tools"
if [ ! -x "$tools/bin/uv" ] || [ "$("$tools/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "uv==$UV_VERSION"
fi
uv="$tools/bin/uv"
fp="$(python3 packaging/deps_fingerprint.py)"
common=(--universal --python-version 3.11 --generate-hashes --quiet --no-header
        --index-url https://pypi.org/simple)
upgrade=()
[ "${1:-}" = "--upgrade" ] && upgrade=(--upgrade)

compile() {  # compile OUT [uv args…]: write OUT with a header naming the command and fingerprint
  local out="$1"; shift
  local tmp; tmp="$(mktemp)"
  # Keep what the old lock has (uv prefers the versions in -o's file) unless --upgrade.
  [ -f "$out" ] && cp "$out" "$tmp"
  "$uv" pip compile "${common[@]}" "${upgrade[@]}" "$@" -o "$tmp" >/dev/null
  {
    echo "# Locked from pyproject.toml by packaging/lock.sh (uv $UV_VERSION) — do not edit by hand."
    echo "# Update: packaging/lock.sh  (or packaging/lock.sh --upgrade), then commit this file."
    echo "$MARK$fp"
    grep -v '^# pyproject-deps: \|^# Locked from\|^# Update: packaging/lock' "$tmp" \
      | sed "s|-c ${plain:-/nonexistent}\$|-c requirements-dev.lock|"
  } >"$out"
  rm -f "$tmp"
}
MARK="# pyproject-deps: "
compile requirements-dev.lock pyproject.toml --extra test --extra research
# The build lock takes its versions from the dev lock, so the frozen program runs exactly what
# the tests ran with (only PyInstaller and its helpers are added).
plain="$(mktemp)"
grep -E '^[A-Za-z0-9_.-]+(\[[^]]*\])?==' requirements-dev.lock | sed 's/ *\\$//' >"$plain"
compile requirements.lock pyproject.toml --extra build -c "$plain"
rm -f "$plain"
echo "lock: wrote requirements-dev.lock ($(grep -c '==' requirements-dev.lock) packages) and requirements.lock ($(grep -c '==' requirements.lock) packages) for dependencies $fp"
