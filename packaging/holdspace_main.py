"""Entry point of the frozen program (PyInstaller): the same `holdspace` command."""

import multiprocessing

from console.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main())
