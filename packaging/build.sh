#!/usr/bin/env bash
# Build the frozen one-folder Holdspace for Linux x86-64:
#   dist/holdspace/                              the program folder (run dist/holdspace/holdspace)
#   dist/holdspace-VERSION-linux-x86_64.tar.gz   the same folder, packed
#
# Needs: Python 3.11 (python3, or $PYTHON), the system's VLC (libvlc5 + vlc-plugin-base:
# only its libvlc and the audio plugins listed in packaging/vlc_plugins.py are copied) and
# the Qt xcb libraries scripts/setup.sh installs. The build environment is made from
# requirements.lock (exact versions, hashes checked) and kept in ~/.cache/holdspace, keyed by
# the lock, so a second build only runs PyInstaller.
#
#   packaging/build.sh             build, then run the frozen self-test
#   packaging/build.sh --no-test   build only
#
# HOLDSPACE_REQUIRE_LOCK=1 refuses to build when requirements.lock is older than
# pyproject.toml's dependencies (for release builds); otherwise such a build goes ahead from
# pyproject.toml, says so, and is marked "unlocked" in dist/holdspace/BUILD-INFO.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
t0=$(date +%s)
py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "build: needs Python 3.11 (the version the lock and the tests use); found: $("$py" --version 2>&1). Set PYTHON=/path/to/python3.11." >&2
  exit 2
fi
for tool in objdump readelf strip; do
  command -v "$tool" >/dev/null || { echo "build: $tool is missing: sudo apt-get install binutils" >&2; exit 2; }
done
version="$("$py" -c 'import re,sys; print(re.search(r"__version__ = \"([^\"]+)\"", open("console/__init__.py").read())[1])')"
cache="${HOLDSPACE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/holdspace}"
lock=requirements.lock
if "$py" packaging/deps_fingerprint.py --check "$lock"; then
  locked=yes
  key="$(cat "$lock" | sha256sum | cut -c1-16)"
else
  if [ "${HOLDSPACE_REQUIRE_LOCK:-0}" = 1 ]; then
    echo "build: $lock was made from other dependencies than pyproject.toml lists now." >&2
    echo "build: run  packaging/lock.sh  and commit the lock files, then build again." >&2
    exit 2
  fi
  locked=no
  key="unlocked-$(sha256sum pyproject.toml | cut -c1-16)"
  echo "build: WARNING: $lock is stale (pyproject.toml's dependencies changed since it was made);" >&2
  echo "build: building from pyproject.toml without the lock. Run packaging/lock.sh to lock again." >&2
fi
venv="$cache/build-venv-$key"
if [ ! -f "$venv/.complete" ]; then
  echo "build: making the build environment $venv"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  log="$cache/build-venv-$key.log"
  if [ $locked = yes ]; then
    install() { "$venv/bin/python" -m pip install --require-hashes --no-deps -r "$lock"; }
  else
    install() { "$venv/bin/python" -m pip install ".[build]" && "$venv/bin/python" -m pip uninstall -y holdspace; }
  fi
  if ! install >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "build: installing the build environment failed (log: $log)" >&2
    exit 2
  fi
  touch "$venv/.complete"
  # keep only this environment and the previous one
  ls -dt "$cache"/build-venv-*/ 2>/dev/null | tail -n +3 | xargs -r rm -rf
fi
t1=$(date +%s)
echo "build: PyInstaller (Holdspace $version, locked: $locked)"
rm -rf dist/holdspace
"$venv/bin/python" -m PyInstaller --noconfirm --log-level WARN --distpath dist \
  --workpath "$cache/pyinstaller-work" packaging/holdspace.spec
t2=$(date +%s)
out=dist/holdspace
internal="$out/_internal"
# Debug information and local symbols that nobody reads on a workstation: Python's own
# library and modules in some builds (pyenv, ~25 MB), sqlcipher3's module (13 MB of its
# 21 MB), cryptography's (3 MB), fontTools' compiled modules (~6 MB). The dynamic symbols
# stay (`--strip-unneeded`, as Debian strips its libraries). Left alone: the libraries that
# auditwheel grafted into the wheels (`*.libs/`) and every file it or a wheel's build
# patched with an RPATH/RUNPATH: strip corrupts patchelf'd files ("ELF load command
# address/offset not page-aligned", numpy's OpenBLAS).
find "$internal" -type f \( -name '*.so' -o -name '*.so.*' \) -not -path '*.libs/*' -print0 \
  | while IFS= read -r -d '' so; do
      readelf -d "$so" 2>/dev/null | grep -qE '\((RPATH|RUNPATH)\)' || printf '%s\0' "$so"
    done | xargs -0 -r strip --strip-unneeded 2>/dev/null || true
# Python's own library and modules: their RPATH (pyenv) was set by the linker, not patchelf.
strip --strip-debug "$internal"/libpython3*.so* "$internal"/python3*/lib-dynload/*.so 2>/dev/null || true
# What was shipped and under which licences, inside the folder itself.
cp packaging/LICENSES.md "$out/LICENSES.md"
cp packaging/holdspace.desktop packaging/install.sh "$out/"
"$py" packaging/licences.py "$out" "$venv"
cat >"$out/BUILD-INFO.txt" <<INFO
Holdspace $version
built: $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git rev-parse --short HEAD 2>/dev/null || echo 'a source folder')$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')
python: $("$venv/bin/python" -V 2>&1 | cut -d' ' -f2); dependencies locked: $locked ($lock)
libvlc: $(dpkg-query -W -f '${Version}' libvlc5 2>/dev/null || echo unknown) ($(ls "$internal/vlc/plugins"/*/*.so | wc -l) audio plugins)
INFO
"$venv/bin/python" -m pip freeze --all >"$out/BUILD-PACKAGES.txt" 2>/dev/null || true
tarball="dist/holdspace-$version-linux-x86_64.tar.gz"
tar -C dist -czf "$tarball" holdspace
t3=$(date +%s)
echo "build: $out: $(du -sm "$out" | cut -f1) MB unpacked; $tarball: $(( $(stat -c %s "$tarball") / 1048576 )) MB"
echo "build: times: environment $((t1 - t0)) s, PyInstaller $((t2 - t1)) s, licences and tar $((t3 - t2)) s"
if [ "${1:-}" != "--no-test" ]; then
  QT_QPA_PLATFORM=offscreen "$out/holdspace" --self-test
fi
