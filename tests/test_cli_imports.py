"""The command line answers `--help` without the heavy libraries (numpy, sqlite_utils, Qt,
cattrs) or the store (SQLCipher, the hash chain, the key code): they are imported by the
commands that use them, so a clinician typing `holdspace --help` waits for the help only."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "sqlite_utils", "PySide6", "pyqtgraph", "cattrs", "sqlcipher3",
         "console.store.db", "console.store.keys", "keyring")


def test_help_imports_none_of_the_heavy_libraries() -> None:
    script = (
        "import contextlib, io, sys\n"
        "from console.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):\n"
        "    main(['--help'])\n"
        "assert 'simulate' in out.getvalue() and 'calm' in out.getvalue(), out.getvalue()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == ""


def test_scenarios_are_the_simulators() -> None:
    from devices.physiology import SCENARIOS as MODEL
    from devices.physiology import Physiology
    from devices.scenarios import SCENARIOS

    assert SCENARIOS is MODEL
    for name in SCENARIOS:
        Physiology(name, start=0.0).vitals(10.0)
