#!/usr/bin/env bash
# Put the frozen Holdspace in the desktop's menu, with its icon.
#
#   ./install.sh               from the unpacked program folder (holdspace-*.tar.gz), or
#   packaging/install.sh       from a checkout after packaging/build.sh (uses dist/holdspace)
#   install.sh --uninstall     remove the menu entry, icon and command again
#
# As a normal user: the menu entry goes to ~/.local/share/applications, the icon to
# ~/.local/share/icons/hicolor, a `holdspace` command to ~/.local/bin; the program stays in
# its folder. As root (sudo): the program folder is copied to /opt/holdspace and the entry,
# icon and /usr/local/bin/holdspace are installed for every user of the workstation.
# Serial monitors also need the user in the `dialout` group (sudo usermod -aG dialout USER).
set -euo pipefail
me="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
uninstall=no
program=""
for arg in "$@"; do
  case "$arg" in
    --uninstall) uninstall=yes ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) program="$arg" ;;
  esac
done
if [ -z "$program" ]; then
  if [ -x "$me/holdspace" ] && [ -d "$me/_internal" ]; then program="$me"; else program="$me/../dist/holdspace"; fi
fi

# HOLDSPACE_INSTALL_SCOPE=user installs for the current user even as root (used by CI).
if [ "$(id -u)" = 0 ] && [ "${HOLDSPACE_INSTALL_SCOPE:-}" != user ]; then
  share=/usr/share; bin=/usr/local/bin; target=/opt/holdspace
else
  share="${XDG_DATA_HOME:-$HOME/.local/share}"; bin="$HOME/.local/bin"; target=""
fi
apps="$share/applications"
icons="$share/icons/hicolor"
sizes=(48 128 256)

if [ $uninstall = yes ]; then
  rm -f "$apps/holdspace.desktop" "$icons/scalable/apps/holdspace.svg"
  for s in "${sizes[@]}"; do rm -f "$icons/${s}x${s}/apps/holdspace.png"; done
  if [ -L "$bin/holdspace" ]; then rm -f "$bin/holdspace"; fi
  [ -n "$target" ] && [ -d "$target" ] && rm -rf "$target"
  echo "install: Holdspace removed from the menu${target:+ and $target}. The clinic data is kept."
  exit 0
fi

if [ ! -x "$program/holdspace" ] || [ ! -d "$program/_internal" ]; then
  echo "install: no built Holdspace at $program (expected holdspace and _internal/ there)." >&2
  echo "install: build it first with packaging/build.sh, or run the install.sh inside the unpacked folder." >&2
  exit 2
fi
program="$(cd "$program" && pwd)"
if [ -n "$target" ] && [ "$program" != "$target" ]; then
  rm -rf "$target.new"
  cp -a "$program" "$target.new"
  rm -rf "$target"
  mv "$target.new" "$target"
  program="$target"
fi

mkdir -p "$apps" "$bin" "$icons/scalable/apps"
assets="$program/_internal/assets/icon"
cp "$assets/holdspace.svg" "$icons/scalable/apps/holdspace.svg"
for s in "${sizes[@]}"; do
  mkdir -p "$icons/${s}x${s}/apps"
  cp "$assets/holdspace-$s.png" "$icons/${s}x${s}/apps/holdspace.png"
done
template="$program/holdspace.desktop"
[ -f "$template" ] || template="$me/holdspace.desktop"
sed -e "s|^TryExec=.*|TryExec=$program/holdspace|" \
    -e "s|^Exec=holdspace|Exec=\"$program/holdspace\"|" \
    -e '/^# packaging\/install.sh writes/d' "$template" >"$apps/holdspace.desktop"
chmod 644 "$apps/holdspace.desktop"
ln -sfn "$program/holdspace" "$bin/holdspace"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" 2>/dev/null || true
echo "install: Holdspace $("$program/holdspace" --version | cut -d' ' -f2) is in the menu ($apps/holdspace.desktop),"
echo "install: runs $program/holdspace; the command \`holdspace\` is $bin/holdspace."
case ":$PATH:" in *":$bin:"*) ;; *) echo "install: note: $bin is not on PATH; the menu entry works regardless." ;; esac
