"""The console window with `--sync`: the central server's state in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication, QLabel
from pytestqt.qtbot import QtBot

from console.app import build_window, start_core
from console.core.config import Config
from console.replication import schema
from console.replication.address import login_for
from console.replication.replicator import SyncSettings
from console.store.db import open_db
from console.ui import theme
from tests.helpers.pg import Cluster, wait_for_server
from tests.helpers.replication import server_counts
from tests.helpers.staff import staff_signed_in
from tests.helpers.window import begin


def test_status_bar_says_up_to_date_then_not_sending_while_the_server_is_down(
        qtbot: QtBot, db_path: Path, config: Config, pg: Cluster, pg_db: str) -> None:
    schema.init(pg.url(pg_db), [("Room 4", "pw-4")])
    open_db(db_path).close()  # as `holdspace` does before the window (check_db)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    sync = SyncSettings(pg.url(pg_db, login_for("Room 4"), "pw-4"), "Room 4")
    running = start_core(db_path, devices=None, config=config, sync=sync)
    staff_signed_in(running.ctx.people)  # who is at the console
    window, feed = build_window(running)
    qtbot.addWidget(window)
    window.show()
    try:
        label = window.findChild(QLabel, "syncIndicator")
        assert label is not None and label.isVisible()
        qtbot.waitUntil(lambda: label.text() == "Central: up to date", timeout=15_000)
        assert "up to date on the central server" in label.toolTip()
        assert "pw-4" not in label.toolTip()
        begin(running, None)
        qtbot.waitUntil(lambda: server_counts(pg.url(pg_db), "Room 4")["readings"] > 0,
                        timeout=15_000)
        pg.stop()
        try:
            qtbot.waitUntil(lambda: "not sending since" in label.text(), timeout=15_000)
            assert "recording locally" in label.text()
            assert "Central server not reachable since" in label.toolTip()
            qtbot.waitUntil(lambda: "waiting to be sent" in label.toolTip(), timeout=15_000)
            # a problem of the disk elsewhere clears; the indicator stays in sight
            window.show_problem("")
            assert window.statusBar().isVisible() and label.isVisible()
        finally:
            pg.start()
            assert wait_for_server(pg)
        qtbot.waitUntil(lambda: label.text().startswith("Central: ")
                        and "not sending" not in label.text(), timeout=20_000)
    finally:
        window.allow_close_without_asking()
        window.close()
        feed.stop()
        running.stop()
        theme.apply_theme(app)
    # closing sends the rest: the session's rows are on the server
    assert server_counts(pg.url(pg_db), "Room 4")["sessions"] == 1
