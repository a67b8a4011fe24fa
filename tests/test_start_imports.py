"""What a start leaves resident: the libraries a console start does not need stay unimported,
since each one stays in memory for the whole session (the peak with an 8-hour session resumed
must stay under 300 MB). Checked in a new process, as a real start is."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

WATCHED = ("pandas", "sqlite_utils")


def _start(db: Path, *, core: bool) -> dict[str, bool]:
    """Which WATCHED libraries a new process has imported after the start-up check of `db`
    (and, with `core`, the console's core opened on it and stopped)."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from console.cli import check_db\n"
        f"db = Path({str(db)!r})\n"
        "check_db(db)\n"
        f"if {core!r}:\n"
        "    from console.app import start_core\n"
        "    from console.core.config import Config\n"
        "    running = start_core(db, devices=[], config=Config(path=db.parent / 'ws.json'),\n"
        "                         data_dir=db.parent)\n"
        "    running.stop()\n"
        f"print(json.dumps({{m: m in sys.modules for m in {WATCHED!r}}}))\n"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return dict(json.loads(p.stdout.strip().splitlines()[-1]))


def test_a_new_database_is_made_without_pandas(tmp_path: Path) -> None:
    """The migrations use sqlite_utils, which would import pandas (~58 MB) when it can."""
    found = _start(tmp_path / "new.db", core=False)
    assert found == {"pandas": False, "sqlite_utils": True}  # it did migrate, without pandas


def test_starting_on_an_existing_database_imports_neither(tmp_path: Path) -> None:
    db = tmp_path / "holdspace.db"
    _start(db, core=False)  # made and migrated by one start
    assert _start(db, core=True) == {"pandas": False, "sqlite_utils": False}


def test_migrations_still_work_where_pandas_is_already_imported(tmp_path: Path) -> None:
    """Another program embedding the store with pandas loaded: sqlite_utils uses it as is."""
    if importlib.util.find_spec("pandas") is None:
        pytest.skip("pandas is not installed here")
    script = (
        "import sys\n"
        "import pandas\n"
        "from pathlib import Path\n"
        "from console.store.db import SCHEMA_VERSION, open_db\n"
        f"conn = open_db(Path({str(tmp_path / 'p.db')!r}))\n"
        "assert conn.execute('PRAGMA user_version').fetchone()[0] == SCHEMA_VERSION\n"
        "import sqlite_utils.db\n"
        "assert sqlite_utils.db.pd is pandas\n"
    )
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr


def test_the_window_leaves_the_report_and_export_builders_for_their_first_use(
        tmp_path: Path) -> None:
    """Reports, exports and printing are menu items: their modules (and Qt's printing) are
    imported when first used, not kept resident by every start."""
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from console.app import build_window, start_core\n"
        "from console.cli import check_db\n"
        "from console.core.config import Config\n"
        "from tests.helpers.staff import staff_signed_in\n"
        f"d = Path({str(tmp_path)!r}); db = d / 'holdspace.db'\n"
        "check_db(db)\n"
        "running = start_core(db, devices=[], config=Config(path=d / 'ws.json'), data_dir=d)\n"
        "staff_signed_in(running.ctx.people)\n"
        "window, feed = build_window(running)\n"
        "names = sorted(m for m in sys.modules if m in LATER)\n"
        "feed.stop(); window.allow_close_without_asking(); window.close(); running.stop()\n"
        "print(json.dumps(names))\n"
    ).replace("LATER", repr(LATER))
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=180)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == []
    # and the menus still find them (the modules import on their own)
    for name in LATER:
        importlib.import_module(name)


LATER = ("console.core.exports.make", "console.core.report.making",
         "console.core.report.build", "PySide6.QtPrintSupport")
