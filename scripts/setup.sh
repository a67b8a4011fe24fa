#!/usr/bin/env bash
# Prepare a fresh Linux machine for Holdspace: system libraries, a virtual environment, the
# project. Safe to run again: it only does what is missing. Sourced by run.sh and test.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# System libraries: libvlc for music, the X/EGL libraries Qt's xcb plugin needs, fonts, and
# Xvfb so tests and screenshots work on a machine without a screen; poppler-utils
# (pdftotext, pdftoppm) so the tests can read the PDF reports back; binutils for the frozen
# build (packaging/build.sh: PyInstaller reads the libraries with objdump/readelf); PostgreSQL
# for the replication tests' throw-away cluster.
apt_packages=(libvlc5 vlc-plugin-base libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0
  libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libdbus-1-3 libfontconfig1 fonts-dejavu-core xvfb xauth
  poppler-utils binutils postgresql)
if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "setup: installing system packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >/dev/null
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "setup: these system packages are missing; install them, then run this again:" >&2
      echo "  sudo apt-get install ${missing[*]}" >&2
      exit 2
    fi
  fi
else
  echo "setup: not a Debian/Ubuntu system; make sure libvlc (VLC) and Qt's xcb libraries are installed." >&2
fi

py="${PYTHON:-python3}"
if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Holdspace needs Python 3.11 or newer (found: $("$py" --version 2>&1))." >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating the virtual environment .venv"
  "$py" -m venv .venv
fi
# Reinstall only when pyproject.toml, the lock or the extras installed changed since the last
# install. The exact versions with their hashes come from requirements-dev.lock (the console
# plus the `test` and `research` extras; `research` brings vitaldb for the .vital export and
# its tests); the project itself is then installed on top without touching them.
extras="test,research"
lock=requirements-dev.lock
stamp=.venv/.holdspace-installed
want="$(cat pyproject.toml "$lock" 2>/dev/null | sha256sum | cut -d' ' -f1) $extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log=.venv/install.log
  if "$py" packaging/deps_fingerprint.py --check "$lock"; then
    echo "setup: installing Holdspace and the locked dependencies ($lock) into .venv"
    install() {
      .venv/bin/python -m pip install --require-hashes --no-deps -r "$lock" &&
        .venv/bin/python -m pip install --no-deps -e .
    }
  else
    # A dependency was added or changed in pyproject.toml after the lock was made (e.g. two
    # branches merged). The tests still run, against what pyproject.toml allows today; say so.
    echo "setup: WARNING: $lock was made from other dependencies than pyproject.toml lists" >&2
    echo "setup: now; installing from pyproject.toml without the lock. To lock again, run" >&2
    echo "setup:   packaging/lock.sh   and commit requirements-dev.lock and requirements.lock" >&2
    install() { .venv/bin/python -m pip install -e ".[$extras]"; }
  fi
  if ! { .venv/bin/python -m pip install --upgrade pip && install; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: installing the Python packages failed (full log: $log)." >&2
    exit 2
  fi
  echo "$want" > "$stamp"
fi
