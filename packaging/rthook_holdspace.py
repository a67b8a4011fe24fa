"""PyInstaller runtime hook: runs before Holdspace's own code in the frozen program.

1. Music: use the libvlc shipped in this folder, never a system VLC. libvlccore finds its
   plugins in `vlc/plugins` beside itself (Linux), and python-vlc is told where libvlc is
   (`PYTHON_VLC_LIB_PATH`) and where the plugins are (`PYTHON_VLC_MODULE_PATH`, which it
   passes on as `VLC_PLUGIN_PATH`; Windows and macOS rely on this). libvlccore is loaded
   first, by its full path, so libvlc links to this copy whatever the system has.
2. Portable mode: when a file named `portable` sits beside the program, the clinic data
   (database, backups, logs, the clinic's templates and playlists) and the workstation
   settings live in `data/` and `config/` beside it instead of the user's folders, so the
   whole console can run from a USB stick or a shared folder. Explicit
   HOLDSPACE_DATA_DIR / HOLDSPACE_CONFIG_DIR still win. (Picard's frozen build does the same.)
"""

import ctypes
import os
import sys
from pathlib import Path


def _use_bundled_vlc(here: Path) -> None:
    if sys.platform.startswith("linux"):
        core, lib = here / "libvlccore.so.9", here / "libvlc.so.5"
    elif sys.platform == "darwin":
        core, lib = here / "libvlccore.dylib", here / "libvlc.dylib"
    else:
        core, lib = here / "libvlccore.dll", here / "libvlc.dll"
    plugins = here / "vlc" / "plugins"
    if not (lib.is_file() and plugins.is_dir()):
        return  # a build without music: the console says music is unavailable
    try:
        ctypes.CDLL(str(core), mode=getattr(ctypes, "RTLD_GLOBAL", 0))
    except OSError:
        return  # python-vlc reports the problem; the console shows "music unavailable"
    os.environ.setdefault("PYTHON_VLC_LIB_PATH", str(lib))
    os.environ.setdefault("PYTHON_VLC_MODULE_PATH", str(plugins))
    os.environ.setdefault("VLC_PLUGIN_PATH", str(plugins))


def _portable(program_dir: Path) -> None:
    if not (program_dir / "portable").is_file():
        return
    for var, sub in (("HOLDSPACE_DATA_DIR", "data"), ("HOLDSPACE_CONFIG_DIR", "config")):
        if not os.environ.get(var):
            folder = program_dir / sub
            folder.mkdir(mode=0o700, exist_ok=True)  # patient data: the user's eyes only
            os.environ[var] = str(folder)


_use_bundled_vlc(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)))
_portable(Path(sys.executable).resolve().parent)
