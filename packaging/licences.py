"""Write what a frozen build ships from outside the Python wheels, with its licence, into the
build folder: LICENSES-vlc.txt (each VLC plugin's own declared licence) and
LICENSES-system-libs.txt (each shared library copied from the build machine, with its Debian
package and version), and copy those packages' copyright files into licenses/.

    python3 packaging/licences.py dist/holdspace BUILD-VENV     (run by packaging/build.sh)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

SYSTEM_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
               "/usr/lib/x86_64-linux-gnu/vlc", "/usr/lib/x86_64-linux-gnu/pulseaudio")


def declared_licence(plugin: Path) -> str:
    m = re.search(rb"Licensed under the terms of the [^\x00\n]*", plugin.read_bytes())
    return m.group(0).decode(errors="replace") if m else "no licence string in the file"


def debian_package(lib: Path) -> tuple[str, str] | None:
    """The Debian package whose file this library is a copy of (same bytes), or None."""
    data = lib.read_bytes()
    for d in SYSTEM_DIRS:
        path = Path(d) / lib.name
        if not path.exists() or path.read_bytes() != data:
            continue
        for candidate in {str(path), str(path.resolve()),
                          str(path.resolve()).replace("/usr/lib/", "/lib/", 1)}:
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0 and r.stdout:
                pkg = r.stdout.split(":", 1)[0].split(",")[0].strip()
                ver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                                     capture_output=True, text=True).stdout
                return pkg, ver
    return None


def main(out: Path, venv: Path) -> int:
    internal = out / "_internal"
    plugins = internal / "vlc" / "plugins"
    lines = ["VLC plugins shipped, each with the licence it declares itself:"]
    for p in sorted(plugins.rglob("*.so")):
        lines.append(f"  {p.relative_to(plugins)}: {declared_licence(p)}")
    (out / "LICENSES-vlc.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

    wheel_files = {f.name for f in venv.rglob("*.so*")}
    copyrights = out / "licenses"
    copyrights.mkdir(exist_ok=True)
    lines = ["Shared libraries in _internal/ copied from the build machine (Debian package and "
             "version; the package's copyright file, with the licence texts, is in licenses/):"]
    unknown = []
    packages = {"libvlc5", "libvlccore9", "vlc-plugin-base"}
    for lib in sorted(p for p in internal.iterdir() if ".so" in p.name and p.is_file()):
        if lib.name in wheel_files:
            continue  # from a Python wheel: see LICENSES.md
        if lib.name.startswith("libpython"):
            lines.append(f"  {lib.name}: the Python interpreter's own library "
                         f"(Python {sys.version.split()[0]} build used, PSF-2.0)")
            continue
        found = debian_package(lib)
        if found is None:
            unknown.append(lib.name)
            continue
        pkg, ver = found
        packages.add(pkg)
        lines.append(f"  {lib.name}: {pkg} {ver}")
    for name in unknown:
        lines.append(f"  {name}: not a copy of any Debian package's file — check where it came from")
    for pkg in sorted(packages):
        src = Path("/usr/share/doc") / pkg / "copyright"
        if src.is_file():
            shutil.copyfile(src, copyrights / f"{pkg}.copyright")
    (out / "LICENSES-system-libs.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"licences: {len(list(plugins.rglob('*.so')))} VLC plugins, "
          f"{len(lines) - 1} system libraries ({len(unknown)} of unknown origin), "
          f"{len(packages)} copyright files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]), Path(sys.argv[2])))
