"""Fault injection: malformed files fed into the real start-up never stop the console.

Each bad workstation.json, and each class of bad clinic file (template, M3U and XSPF
playlists, music program, checklist), is written where the console looks for it (the
HOLDSPACE_CONFIG_DIR / HOLDSPACE_DATA_DIR that tests/conftest.py sets per test). Then the real
core and the real window start on the built-in simulator; the window must be up, showing live
values, and must name the file on screen. One test runs the real program in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.app import Running, build_window, start_core
from console.core.dosing.templates import SHIPPED_DIR
from console.ui import theme
from console.ui.file_problems import FileProblemsFeature
from console.ui.main_window import MainWindow
from console.ui.music.music_feature import MusicFeature
from devices.simulator import Simulator
from tests.helpers.staff import staff_signed_in

FIVE_MB = 5 * 1024 * 1024
DEEP = 100_000


def config_dir() -> Path:
    return Path(os.environ["HOLDSPACE_CONFIG_DIR"])


def data_dir() -> Path:
    return Path(os.environ["HOLDSPACE_DATA_DIR"])


@contextmanager
def real_console(qtbot: QtBot, db_path: Path) -> Iterator[tuple[MainWindow, Running]]:
    """The console as `holdspace run` builds it: settings and clinic files read from disk."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    if app.styleSheet() != theme.STYLESHEET:  # restyling every widget costs a second
        theme.apply_theme(app)
    running = start_core(db_path)  # no config given: workstation.json is read from disk
    feed = None
    try:
        staff_signed_in(running.ctx.people)  # who is at the console
        window, feed = build_window(running)
        qtbot.addWidget(window)
        window.show()
        yield window, running
    finally:
        if feed is not None:
            feed.stop()
        running.stop()


def problems_view(window: MainWindow) -> FileProblemsFeature:
    view = window.feature(FileProblemsFeature)
    assert isinstance(view, FileProblemsFeature), "the problems view is installed"
    return view


def assert_live(window: MainWindow, qtbot: QtBot) -> None:
    assert window.isVisible()
    qtbot.waitUntil(lambda: window.vitals.hr.value.text().isdigit(), timeout=10_000)


def listed_on_screen(window: MainWindow, qtbot: QtBot) -> dict[str, list[str]]:
    """Press Details… on the notice and read the list as shown: {file: [line, reason, outcome]}."""
    from PySide6.QtCore import Qt

    view = problems_view(window)
    assert view.notice.isVisible(), "the notice line is on screen"
    qtbot.mouseClick(view.notice.details, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(view.dialog.isVisible, timeout=5_000)
    table = view.dialog.table
    rows: dict[str, list[str]] = {}
    for r in range(table.rowCount()):
        cells = [table.item(r, c).text() for c in range(table.columnCount())]  # type: ignore[union-attr]
        rows.setdefault(cells[0], []).extend(cells[1:])
    return rows


# ---------------------------------------------------------------- workstation.json
def _sim_with_unknown_keys(sim: Simulator, port: str) -> bytes:
    return (f'{{"devices": [{{"protocol": "sim", "port": "{port}", "baud": 9600}}],\n'
            f' "colour": "blue"}}').encode()


WORKSTATION: dict[str, tuple[bytes | Callable[[Simulator, str], bytes], str]] = {
    "a list instead of an object": (b'[{"protocol": "sim", "port": "/dev/ttyS0"}]',
                                    "holds a list"),
    "not JSON": (b'{"devices": [{"protocol": "sim", ', "not valid JSON"),
    "a device with no port": (b'{"devices": [{"protocol": "nonin"}]}',
                              "monitor 1 is left out: it has no `port`"),
    "a staff entry with no role": (b'{"staff": [{"name": "Ana"}]}',
                                   "staff entry 1 (Ana) is left out: it has no `role`"),
    "unknown keys": (_sim_with_unknown_keys, "unknown setting `baud`"),
    "wrong kinds of value": (b'{"room_mode": "no", "extra": {"notes": "calm", '
                             b'"music": {"volume": "loud"}}}', "must be true or false"),
    "nesting 100 000 deep": (b"[\n" * DEEP + b"]\n" * DEEP, "nested more than"),
    "a NUL byte": (b'{"room_mode": true,\n "x": "\x00"}', "NUL byte"),
    "invalid UTF-8": (b'{"staff": [{"name": "\xff\xfe", "role": "nurse"}]}', "UTF-8"),
    "a 5 MB file": (b'{"x": "' + b"x" * FIVE_MB + b'"}', "MB"),
}


@pytest.mark.parametrize("case", list(WORKSTATION))
def test_bad_workstation_settings_leave_the_console_running_and_say_so(
        case: str, qtbot: QtBot, db_path: Path, sim_port: tuple[Simulator, str]) -> None:
    content, words = WORKSTATION[case]
    config_dir().mkdir(parents=True, exist_ok=True)
    raw = content(*sim_port) if callable(content) else content
    (config_dir() / "workstation.json").write_bytes(raw)
    with real_console(qtbot, db_path) as (window, running):
        assert_live(window, qtbot)
        notice = problems_view(window).notice.text.text()
        assert "workstation.json" in notice, notice
        reasons = " ".join(listed_on_screen(window, qtbot)["workstation.json"])
        assert words in reasons, reasons
        if case == "unknown keys":  # the monitor itself is kept: readings come from it
            assert [d.port for d in running.ctx.config.devices] == [sim_port[1]]
            assert running.simulator is None


# ---------------------------------------------------------------- clinic files
IM = (SHIPPED_DIR / "im.toml").read_text("utf-8")
IM_TITLE = next(line for line in IM.splitlines() if line.startswith("title"))
BIG_COMMENT = b"#" + b"x" * 1000 + b"\n"

# class -> {relative path: content}; every file must be named in the list on screen.
# (Playlists are found by file stem, so the M3U and XSPF of one class have different stems.)
CLINIC: dict[str, dict[str, bytes]] = {
    "nesting 100 000 deep": {
        "templates/deep.toml": b"title = " + b"[\n" * DEEP + b"]\n" * DEEP,
        "playlists/deep-m3u.m3u8": b"#EXTM3U\n" + b"a/" * DEEP + b"track.ogg\n",
        "playlists/deep-xspf.xspf": b"<playlist>\n" + b"<a>\n" * DEEP + b"</a>\n" * DEEP
                               + b"</playlist>",
        "playlists/program.toml": b"phase = " + b"{a = \n" * DEEP,
        "checklists/setting.toml": b"item = " + b"[\n" * DEEP + b"]\n" * DEEP,
    },
    "a NUL byte": {
        "templates/nul.toml": IM.replace("\n", "\n\x00", 1).encode(),
        "playlists/nul-m3u.m3u8": b"#EXTM3U\ntrack\x00.ogg\n",
        "playlists/nul-xspf.xspf": b"<playlist><title>a\x00b</title></playlist>",
        "playlists/program.toml": b'name = "ours\x00"\n',
        "checklists/setting.toml": b'[[item]]\nid = "a"\nlabel = "b\x00"\n',
    },
    "a 300-character name": {
        "templates/long.toml": IM.replace(IM_TITLE, f'title = "{"T" * 300}"', 1).encode(),
        "playlists/long-m3u.m3u8": b"#EXTM3U\n" + b"y" * 300 + b".ogg\n",
        "playlists/long-xspf.xspf": b"<playlist><title>" + b"n" * 300 + b"</title><trackList>"
                               b"<track><location>x.ogg</location></track></trackList></playlist>",
        "playlists/program.toml": f'[[phase]]\nname = "{"p" * 300}"\nplaylist = '
                                  '"demo-pre-onset"\n'.encode(),
        "checklists/setting.toml": f'[[item]]\nid = "a"\nlabel = "{"L" * 300}"\n'.encode(),
    },
    "a 5 MB file": {
        "templates/big.toml": BIG_COMMENT * (FIVE_MB // 1000),
        "playlists/big-m3u.m3u8": b"#EXTM3U\n" + BIG_COMMENT * (FIVE_MB // 1000),
        "playlists/big-xspf.xspf": b"<playlist>" + b"<!--" + b"x" * FIVE_MB + b"-->" + b"</playlist>",
        "playlists/program.toml": BIG_COMMENT * (FIVE_MB // 1000),
        "checklists/setting.toml": BIG_COMMENT * (FIVE_MB // 1000),
    },
    "invalid UTF-8": {
        "templates/latin.toml": IM.replace(IM_TITLE, 'title = "Caf\xe9"').encode("latin-1"),
        "playlists/latin-m3u.m3u8": b"#EXTM3U\nCaf\xe9.ogg\n",
        "playlists/latin-xspf.xspf": b"<playlist><title>Caf\xe9</title></playlist>",
        "playlists/program.toml": b'name = "Caf\xe9"\n',
        "checklists/setting.toml": b'[[item]]\nid = "a"\nlabel = "Caf\xe9"\n',
    },
    "a list instead of a table": {
        "templates/list.toml": IM.replace("[drug]", "[[drug]]").encode(),
        "playlists/list-m3u.m3u8": b'["a.ogg", "b.ogg"]\n',
        "playlists/list-xspf.xspf": b"<trackList><track><location>a.ogg</location></track>"
                               b"</trackList>",
        "playlists/program.toml": b'phase = ["onset", "peak"]\n',
        "checklists/setting.toml": b'item = ["lights", "mask"]\n',
    },
}


@pytest.mark.parametrize("case", list(CLINIC))
def test_bad_clinic_files_leave_the_console_running_and_are_named_on_screen(
        case: str, qtbot: QtBot, db_path: Path) -> None:
    files = CLINIC[case]
    for rel, content in files.items():
        path = data_dir() / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    with real_console(qtbot, db_path) as (window, _running):
        assert_live(window, qtbot)
        notice = problems_view(window).notice.text.text()
        assert f"{len(files)} files could not be fully read" in notice, notice
        listed = listed_on_screen(window, qtbot)
        for rel in files:
            name = Path(rel).name
            assert name in listed, (name, listed)
            assert any(text.strip() for text in listed[name]), "a reason is given"
        # The shipped defaults carry on: templates to choose from, a checklist, music.
        assert window.template_choices is not None and window.template_choices()
        music = window.feature(MusicFeature)
        assert music.checklist.checklist.items and music.music.program.phases
        assert all(len(ph.name) <= 120 for ph in music.music.program.phases)


def test_good_files_show_no_notice(qtbot: QtBot, db_path: Path) -> None:
    (data_dir() / "checklists").mkdir(parents=True)
    (data_dir() / "checklists" / "setting.toml").write_text(
        '[[item]]\nid = "plant"\nlabel = "Plant watered"\n', "utf-8")
    with real_console(qtbot, db_path) as (window, _running):
        assert_live(window, qtbot)
        view = problems_view(window)
        assert not view.notice.isVisible() and view.problems == []
        assert [i.id for i in window.feature(MusicFeature).checklist.checklist.items] == ["plant"]


# ---------------------------------------------------------------- the real program
def test_the_real_program_starts_and_exits_0_with_a_bad_workstation_file(tmp_path: Path) -> None:
    config_dir().mkdir(parents=True, exist_ok=True)
    (config_dir() / "workstation.json").write_text(
        '{"devices": [{"protocol": "nonin"}], "staff": [{"name": "Ana"}], "colour": 1}', "utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOLDSPACE_AUDIO": "dummy"}
    shot = tmp_path / "window.png"
    r = subprocess.run([sys.executable, "-m", "console", "--db", str(tmp_path / "h.db"),
                        "--quit-after", "3", "--screenshot", str(shot)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert shot.exists(), "the window was up long enough to be photographed"
