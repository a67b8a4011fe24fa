"""An altered record is shown: in the window (a banner that stays), on every page of the
report, in the plain-text note and by `holdspace check`; a signature names the chain head."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from console.cli import main
from console.core.config import Config
from console.core.notes.note_text import altered_line, note_text
from console.core.session_record import build_record
from console.store import chain
from console.store.db import connect_file
from console.store.events import session_events
from console.ui.record_integrity import RecordCheck
from tests.helpers.report_day import ketamine_day, rig
from tests.helpers.window import whole_console
from tests.test_hash_chain import _outside, _session, _verify
from tests.test_report import pdf_text


def _signed_day(tmp_path: Path) -> tuple[Path, int, str]:
    with rig(tmp_path) as d:
        ketamine_day(d)
        signed = [e for e in session_events(d.reader, d.session_id) if e.kind == "sign.signed"]
        assert len(signed) == 1
        sid, uid = d.session_id, signed[0].uid
        covers = signed[0].payload["chain"]
        # the signature names the head the signer saw, and it is a link of this chain
        assert d.reader.execute("SELECT hash FROM chain WHERE seq=?",
                                (covers["seq"],)).fetchone() == (covers["hash"],)
    return d.path, sid, uid


def test_report_names_the_chain_head_the_signature_covers(tmp_path: Path) -> None:
    path, sid, _ = _signed_day(tmp_path)
    out = tmp_path / "report.pdf"
    assert main(["report", "--db", str(path), "--session", str(sid), "--out", str(out),
                 "--by", "Dr Lee"]) == 0
    text = " ".join(pdf_text(out))
    assert "Record intact" in text and "ALTERED OUTSIDE HOLDSPACE" not in text.upper()
    assert "Covers the record up to entry" in text


def test_a_signed_note_edited_outside_is_on_every_page_of_the_report(tmp_path: Path) -> None:
    path, sid, uid = _signed_day(tmp_path)
    conn = connect_file(path)
    payload = json.loads(conn.execute("SELECT payload FROM events WHERE uid=?",
                                      (uid,)).fetchone()[0])
    conn.close()
    payload["statement"] = "I have not reviewed anything."
    _outside(path, ("UPDATE events SET payload=? WHERE uid=?", (json.dumps(payload), uid)))
    st = _verify(path)
    assert not st.ok
    out = tmp_path / "report.pdf"
    assert main(["report", "--db", str(path), "--session", str(sid), "--out", str(out),
                 "--by", "Dr Lee"]) == 0
    pages = pdf_text(out)
    banner = f"RECORD ALTERED OUTSIDE HOLDSPACE AFTER {chain.fmt_time(st.altered_after or 0)}"
    for i, page in enumerate(pages, 1):
        assert banner in page, i
    text = " ".join(pages)
    assert "the sign.signed entry of" in text and "was changed" in text
    # the REMS-free plain-text note says it too, once the check has run
    chain.remember(path, st)
    line = altered_line(path)
    assert line.startswith("Record altered outside Holdspace after") and "sign.signed" in line
    conn = connect_file(path)
    rec = build_record(session_events(conn, sid))
    conn.close()
    assert note_text(rec, "im", "Session", line).splitlines()[1] == f"!! {line}"


def test_check_command_names_the_edit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.db"
    _, uids = _session(db)
    assert main(["check", "--db", str(db)]) == 0
    assert "record:      Record intact" in capsys.readouterr().out
    _outside(db, ("DELETE FROM events WHERE uid=?", (uids["note0"],)))
    assert main(["check", "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "record:      Record altered outside Holdspace after" in out
    assert "note.observation" in out and "was deleted" in out


def test_window_shows_an_altered_record_in_a_banner_that_stays(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    _, uids = _session(db_path)
    conn = connect_file(db_path)
    rid = conn.execute("SELECT MIN(id) FROM readings").fetchone()[0]
    conn.close()
    _outside(db_path, ("UPDATE readings SET value=200 WHERE id=?", (rid,)),
             ("DELETE FROM events WHERE uid=?", (uids["note2"],)))
    with whole_console(qtbot, db_path, config) as (window, _running):
        check = window.feature(RecordCheck)
        qtbot.waitUntil(lambda: check.status is not None, timeout=20_000)
        assert check.banner.isVisible()  # the links and events alone already tell
        qtbot.waitUntil(lambda: check.status is not None
                        and check.status.rows_checked == "all", timeout=20_000)
        status = check.status
        assert status is not None
        banner = check.banner
        assert banner.isVisible()
        text = banner.text.text()
        assert text.startswith("Record altered outside Holdspace after ")
        assert "vital signs recorded" in text and "(and 1 more)" in text
        assert not hasattr(banner, "hide_button")  # nothing to dismiss it with
        assert "note.observation" in " ".join(status.details(5))
        assert check.action.text() == "Record check…"


def test_window_of_an_intact_record_shows_no_banner(
        qtbot: QtBot, db_path: Path, config: Config) -> None:
    _session(db_path)
    with whole_console(qtbot, db_path, config) as (window, _running):
        check = window.feature(RecordCheck)
        qtbot.waitUntil(lambda: check.status is not None
                        and check.status.rows_checked == "all", timeout=20_000)
        status = check.status
        assert status is not None
        assert status.ok and status.links > 0
        assert not check.banner.isVisible()
        assert window.statusBar().currentMessage().startswith("Record intact: ")
