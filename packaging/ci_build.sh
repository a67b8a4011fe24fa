#!/usr/bin/env bash
# CI: build the frozen Holdspace and prove it works on a machine without VLC.
#
# 1. packaging/build.sh (its environment and PyInstaller's work folder are cached in
#    ~/.cache/holdspace, so a build after a small change mostly re-packs).
# 2. dist/holdspace/holdspace --self-test with the system's VLC HIDDEN: in a private mount
#    namespace (root: `unshare -m`), an empty folder is mounted over the system VLC plugin
#    folder and /dev/null over every libvlc*.so file, and the check that libvlc can no longer
#    be loaded from the system runs first. Without root, the self-test still fails if libvlc
#    or any plugin was loaded from outside dist/holdspace, and this script says the system
#    copy was not hidden.
# 3. The menu entry: install.sh for a throw-away user, then the installed .desktop file's
#    Exec line is run (offscreen, closing itself after a few seconds) and must exit 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
start=$(date +%s)
packaging/build.sh --no-test
built=$(date +%s)
app="$here/dist/holdspace/holdspace"
export QT_QPA_PLATFORM=offscreen

syslib=/usr/lib/x86_64-linux-gnu
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then
  echo "ci_build: self-test of the frozen build with the system VLC hidden (mount namespace)"
  unshare -m --propagation private bash -euo pipefail -c '
    syslib="$1"; app="$2"
    [ -d "$syslib/vlc" ] && mount -t tmpfs -o ro,size=1k none "$syslib/vlc"
    for f in "$syslib"/libvlc*.so*; do
      [ -f "$f" ] && [ ! -L "$f" ] && mount --bind /dev/null "$f"
    done
    if python3 -c "import ctypes; ctypes.CDLL(\"libvlc.so.5\")" 2>/dev/null; then
      echo "ci_build: the system libvlc is still loadable; hiding it did not work" >&2; exit 2
    fi
    echo "ci_build: system libvlc hidden: ctypes.CDLL(\"libvlc.so.5\") fails, $syslib/vlc is empty"
    exec "$app" --self-test
  ' _ "$syslib" "$app"
else
  echo "ci_build: NOTE: not root (or no unshare): the system VLC is NOT hidden for this self-test;"
  echo "ci_build: it still fails if libvlc or a plugin is loaded from outside dist/holdspace."
  "$app" --self-test
fi
tested=$(date +%s)

echo "ci_build: portable mode: a file named portable puts the data beside the program"
touch dist/holdspace/portable
default_db="$("$app" --help | tr -s ' \n' ' ' | grep -o 'database file (default [^)]*)')"
rm -f dist/holdspace/portable
[ "$default_db" = "database file (default $here/dist/holdspace/data/holdspace.db)" ] || {
  echo "ci_build: portable mode did not move the data: $default_db" >&2; exit 1; }
[ "$(stat -c %a dist/holdspace/data)" = 700 ] || { echo "ci_build: data/ is readable by others" >&2; exit 1; }
rm -rf dist/holdspace/data dist/holdspace/config
echo "ci_build: portable: $default_db, data/ mode 700"

echo "ci_build: the menu entry starts the frozen console"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
HOME="$home" XDG_DATA_HOME="$home/share" HOLDSPACE_INSTALL_SCOPE=user dist/holdspace/install.sh
entry="$home/share/applications/holdspace.desktop"
exec_line="$(sed -n 's/^Exec=//p' "$entry")"
eval "set -- $exec_line"
[ "$1" = "$here/dist/holdspace/holdspace" ] || { echo "ci_build: Exec= runs $1, not the frozen program" >&2; exit 1; }
HOME="$home" HOLDSPACE_DATA_DIR="$home/data" HOLDSPACE_CONFIG_DIR="$home/config" \
  HOLDSPACE_AUDIO=dummy "$@" --quit-after 4
echo "ci_build: $(sed -n 's/^Exec=//p' "$entry") --quit-after 4: exit 0"
HOME="$home" XDG_DATA_HOME="$home/share" HOLDSPACE_INSTALL_SCOPE=user dist/holdspace/install.sh --uninstall
echo "ci_build: build $((built - start)) s, self-test $((tested - built)) s, launcher $(( $(date +%s) - tested )) s"
