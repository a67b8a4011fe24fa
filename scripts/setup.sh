#!/usr/bin/env bash
# Prepare a fresh Linux machine for Holdspace: system libraries, a virtual environment, the
# project. Safe to run again: it only does what is missing. Sourced by run.sh and test.sh.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

# System libraries: libvlc for music, the X/EGL libraries Qt's xcb plugin needs, fonts, and
# Xvfb so tests and screenshots work on a machine without a screen; poppler-utils
# (pdftotext, pdftoppm) so the tests can read the PDF reports back; PostgreSQL, so the
# replication tests start a throw-away cluster (a real server; the console itself needs none).
apt_packages=(libvlc5 vlc-plugin-base libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0
  libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
  libxcb-xinerama0 libxcb-randr0 libdbus-1-3 libfontconfig1 fonts-dejavu-core xvfb xauth
  poppler-utils postgresql)
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
# Reinstall only when pyproject.toml (or the extras installed) changed since the last install.
# `research` brings vitaldb for the .vital export and its tests.
extras="test,research"
stamp=.venv/.holdspace-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Holdspace and its dependencies into .venv"
  log=.venv/install.log
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[$extras]"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: installing the Python packages failed (full log: $log)." >&2
    exit 2
  fi
  echo "$want" > "$stamp"
fi
