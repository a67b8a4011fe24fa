"""The session report and the REMS form, read back from the PDF with pdftotext.

A whole dosing day is written through the real core on a real SQLite file; the report is made
by `holdspace report` (in process) and its text checked fact by fact."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from console.cli import main
from console.core.notes.scales import NoteError
from console.core.report import rems_form
from console.core.report.build import build_report
from console.core.report.record_hash import record_hash, session_record_hash
from console.store.db import connect_file
from console.store.events import Event, session_events
from tests.helpers.report_day import MIN, Day, ketamine_day, rig, start

CLINIC = "Harbour Clinic"


@pytest.fixture(autouse=True)
def _clinic_settings() -> None:
    cfg = Path(os.environ["HOLDSPACE_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "workstation.json").write_text(json.dumps({"extra": {"clinic": {
        "name": CLINIC, "address1": "1 Quay Street", "city": "Portland", "state": "ME",
        "zip": "04101"}}}))


def pdf_text(path: Path) -> list[str]:
    """The text of each page, whitespace folded."""
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [" ".join(p.split()) for p in out.split("\f") if p.strip()]


def lines(path: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [" ".join(line.split()) for line in out.splitlines()]


def report(d: Day, tmp_path: Path, *extra: str, name: str = "report.pdf") -> Path:
    out = tmp_path / name
    d.writer.flush()
    assert main(["report", "--db", str(d.path), "--session", str(d.session_id), "--out",
                 str(out), "--by", "Dr Lee", *extra]) == 0
    return out


def test_the_report_of_a_full_day_holds_every_fact(tmp_path: Path, capsys) -> None:
    with rig(tmp_path) as d:
        ketamine_day(d)
        expected_hash = session_record_hash(d.reader, d.session_id)
        out = report(d, tmp_path)
        pages = pdf_text(out)
        text = " ".join(pages)
        n = len(pages)
        assert n >= 3
        # every page: clinic, patient, identifier, birth date, session date, page x of y,
        # generated time, signed state and the record hash
        for i, page in enumerate(pages, 1):
            for fact in (CLINIC, "Maria Keller", "ID MK-1042", "born 1961-04-12",
                         "Session of 2027-01-15", f"page {i} of {n}", "generated 20",
                         "SIGNED by Dr Lee (physician)", expected_hash):
                assert fact in page, (i, fact)
        # protocol and its source
        for fact in ("IM ketamine", "shipped template", "KRF Conscious Dying trial NCT05214417",
                     "25–100 mg, bolus", "at least 120 min from the last dose"):
            assert fact in text, fact
        # checklist and gate, override with reason and author
        assert re.search(r"Hours since last food 6 ?h 08:10 Ana Nurse", text)
        for fact in ("Sam Keller, 555-0100",
                     "Safety gate NOT PASSED", "BP 166/96 is not below 160/90",
                     "OVERRIDE at", "by Ana Nurse: Long-standing hypertension, reviewed by Dr Lee;"
                     " accepts 166/96"):
            assert fact in text, fact
        # doses: time, route, mg, mg/kg, lot, given by, cumulative, confirmations, in error
        rows = "\n".join(lines(out))
        assert re.search(r"^08:10 ketamine, IM 50 0\.78 K-2291 Dr Lee 50$", rows, re.M)
        assert re.search(r"^08:37 ketamine, IM 120 1\.88 K-2291 Dr Lee 170 ⚠ ABOVE", rows, re.M)
        assert re.search(r"^08:11 ketamine, IM 25 0\.39 K-2291 Dr Lee — ENTERED IN ERROR", rows,
                         re.M)
        assert re.search(r"^08:27 ondansetron, IV 4 0\.06 — Ana Nurse — rescue drug", rows, re.M)
        for fact in ("ABOVE the protocol range 25–100 mg", "confirmed outside protocol by Ana "
                     "Nurse", "ENTERED IN ERROR 08:11 by Ana Nurse:", "Recorded twice by",
                     "not counted", "(rescue)", "Cumulative ketamine: 170 mg"):
            assert fact in text, fact
        # observation checks met and missed
        assert "BP at 40 min (expected peak) met" in text
        assert re.search(r"Sedation \(MOAA/S\) MISSED", text)
        assert re.search(r"\d+ met, \d+ late, \d+ missed", text)
        # alarms with limits, times and acknowledgement; the limit change
        for fact in ("08:25:15 HIGH SpO2 89 % — limit SpO2 < 92 %", "08:26:00 Ana Nurse",
                     "HR > 120 /min for 5 min → HR > 130 /min for 5 min"):
            assert fact in text, fact
        # music and setting
        for fact in ("Music phase: onset", "Track started: Adagio in G (onset)",
                     "Music phase: peak", "Intention: to meet my fear with kindness",
                     "Set and setting: Dim lamps — done"):
            assert fact in text, fact
        # the note: amendment beside the entry it amends, scores, AE with rescue drug
        for fact in ("Eyes closed, breathing calm and even",
                     "Originally: [eyes closed] Eyes closed, breathing slow",
                     "by Dr Lee (wrong word)", "It is like floating above the sea",
                     "MOAA/S 3 at 08:25", "CADSS total 12", "Nausea (moderate)",
                     "ondansetron 4 mg IV;", "cool cloth", "settled within 15",
                     "Calm, a little nervous.", "Modified Aldrete", "Walked out with her son."):
            assert fact in text, fact
        # signature and addendum
        for fact in ("Signed by Dr Lee (physician)", "I have reviewed this record of the "
                     "session.", "Addendum 2027-01-15 10:57 by Dr Lee (physician):",
                     "Called the next morning: slept well, no nausea."):
            assert fact in text, fact
        assert "written to" in capsys.readouterr().out
        # private file, vectors not pictures
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert b"/Subtype /Image" not in out.read_bytes()
        # recorded as an event: who, when, what, where to; the hash is unchanged by it
        ev = session_events(d.reader, d.session_id, ["export.report"])
        assert len(ev) == 1 and ev[0].author == "Dr Lee"
        assert ev[0].payload["where"] == str(out.resolve())
        assert ev[0].payload["what"] == "Session report (PDF)"
        assert ev[0].payload["record_hash"] == expected_hash
        assert session_record_hash(d.reader, d.session_id) == expected_hash


def test_the_record_hash_is_over_the_events_in_order(tmp_path: Path) -> None:
    with rig(tmp_path) as d:
        start(d, "im")
        d.notes.observe("Calm")
        d.writer.flush()
        events = session_events(d.reader, d.session_id)
        h = record_hash(events)
        assert h == session_record_hash(d.reader, d.session_id) and len(h) == 64
        assert record_hash(reversed(events)) != h
        export = Event("export.report", 1.0, {"where": "x"}, session_id=d.session_id)
        assert record_hash([*events, export]) == h
        assert record_hash([*events, Event("note.observation", 2.0, {})]) != h


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    with rig(tmp_path) as d:
        start(d, "im")
        d.writer.flush()
        db = str(d.path)
        cases = [
            (["report", "--db", db, "--session", "99", "--out", str(tmp_path / "a.pdf")],
             "there is no session 99"),
            (["report", "--db", db, "--session", "1", "--out",
              str(tmp_path / "nowhere" / "a.pdf")], "does not exist"),
            (["report", "--db", db, "--session", "x"], "invalid int value"),
            (["report", "--db", str(tmp_path / "missing.db"), "--session", "1", "--out",
              str(tmp_path / "b.pdf")], "There is no database"),
        ]
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        if not os.access(locked, os.W_OK):  # root can write anywhere
            cases.append((["report", "--db", db, "--session", "1", "--out",
                           str(locked / "a.pdf")], "permission denied"))
        damaged = tmp_path / "damaged.db"
        damaged.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
        cases.append((["report", "--db", str(damaged), "--session", "1", "--out",
                       str(tmp_path / "c.pdf")], "damaged"))
        for argv, words in cases:
            capsys.readouterr()
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and words in err and "Traceback" not in err, err
        assert not list(tmp_path.glob("*.pdf"))
        assert session_events(d.reader, d.session_id, ["export.report"]) == []


def esketamine_day(d: Day) -> None:
    day = start(d, "esketamine-rems")
    d.feed(5, bp=(132, 84))
    for item in day.template.checklist:
        day.set_item(item.id, {"confirm": True, "text": {"concomitant": "none",
                                                          "first_treatment": "yes"}.get(
            item.id, "Sam, 555-0100"), "hours": 6.0}[item.kind])
    day.give_dose("56", lot="ESK-7731", given_by="Dr Lee")
    d.clock.advance(30)
    d.feed(42, bp=(146, 92))  # the cuff at 40.5 min
    d.notes.score("moaas", "4")
    d.feed(83, bp=(128, 80))
    d.writer.flush()
    d.sessions.end()


def save_answers(d: Day, answers: dict[str, str]) -> None:
    spec = rems_form.load_form()
    ev = Event(rems_form.ANSWERS, d.clock.now(), rems_form.answers_payload(spec, answers),
               session_id=d.session_id, author="Ana Nurse", recorded=d.clock.now())
    d.writer.append_event(ev).result(10)


ANSWERS = {"patient_first_name": "Maria", "patient_last_name": "Keller", "sex": "female",
           "enrolled": "yes", "provider_first_name": "Ana", "provider_last_name": "Nurse",
           "provider_phone": "555-0100", "provider_email": "ana@harbour.example",
           "setting_name": CLINIC, "setting_address1": "1 Quay Street",
           "setting_city": "Portland", "setting_state": "ME", "setting_zip": "04101",
           "ready_to_leave_minutes": "95", "sedation": "yes, mild, resolved by 75 min",
           "dissociation": "no", "respiratory_depression": "n", "serious_ae": "No"}


def test_an_esketamine_session_is_signed_only_with_a_complete_rems_form(tmp_path: Path) -> None:
    with rig(tmp_path) as d:
        esketamine_day(d)
        with pytest.raises(NoteError) as e:
            d.notes.sign("Dr Lee", "physician")
        msg = str(e.value)
        assert "REMS Patient Monitoring Form is not complete" in msg
        for name in ("Sex", "Provider telephone", "Healthcare setting name",
                     "Respiratory depression observed?", "Serious adverse event?",
                     "If first treatment: patient enrolled in the REMS?"):
            assert name in msg, name
        assert "Birth date" not in msg and "BP at ~40 min" not in msg  # from the record
        half = dict(list(ANSWERS.items())[:9])
        save_answers(d, half)
        with pytest.raises(NoteError, match="Missing \\(9\\)"):
            d.notes.sign("Dr Lee", "physician")
        with pytest.raises(rems_form.FormError, match="Sedation observed\\?: answer Yes or No"):
            rems_form.answers_payload(rems_form.load_form(), {"sedation": "mild"})
        save_answers(d, ANSWERS)
        d.notes.sign("Dr Lee", "physician")
        d.writer.flush()
        assert session_events(d.reader, d.session_id, ["sign.signed"])


def test_the_rems_form_pdf_holds_every_field_and_its_due_date(tmp_path: Path) -> None:
    with rig(tmp_path) as d:
        esketamine_day(d)
        save_answers(d, ANSWERS)
        out = report(d, tmp_path, "--rems", name="rems.pdf")
        text = " ".join(pdf_text(out))
        spec = rems_form.load_form()
        for f in spec.fields:  # a long label wraps in its cell: its first words on one line
            assert " ".join(f.label.split()[:4]) in text, f.label
        for fact in ("Submit by 2027-01-22", "Complete: every required field has a value",
                     "Maria", "Keller", "04/12/1961", "Female", "Yes", "56 mg", "ESK-7731",
                     "132/84 mmHg", "146/92 mmHg", "128/80 mmHg", "Yes — mild, resolved by 75 "
                     "min", "ana@harbour.example", "1 Quay Street", "Portland", "04101",
                     "from the record", "typed by Ana Nurse", spec.version[:40]):
            assert fact in text, fact
        filled = rems_form.fill(d.reader, d.session_id, session_events(d.reader, d.session_id))
        assert filled.get("devices").value == "2" and filled.get("total_minutes").value == "126"
        assert (filled.get("med_opioids").value == "No"
                and filled.get("first_treatment").value == "Yes")
        ev = session_events(d.reader, d.session_id, ["export.rems_form"])
        assert len(ev) == 1 and ev[0].payload["where"] == str(out.resolve())


def test_report_model_vitals_come_straight_from_the_readings(tmp_path: Path) -> None:
    with rig(tmp_path) as d:
        start(d, "im")
        d.feed(10, hr=80, bp=(120, 70))
        d.clock.advance(10 * MIN)  # a gap: nothing stored
        d.feed(5, hr=90)
        d.writer.flush()
        r = build_report(d.reader, d.session_id, now=d.clock.now())
        hr = r.vitals.hr[0]
        assert hr.label in ("HR", "PR") and len(hr) == 180
        conn = connect_file(d.path)
        n = conn.execute("SELECT COUNT(*) FROM readings WHERE session_id=? AND code=?",
                         (d.session_id, hr.code)).fetchone()[0]
        conn.close()
        assert n == len(hr) and (hr.t[1:] >= hr.t[:-1]).all()
        from console.core.report.pdf_chart import segments
        assert len(segments(hr.t, hr.v)) == 2  # the gap stays a gap


def test_printing_paints_every_page_of_the_pdf(tmp_path: Path, qapp) -> None:
    """The print path (as after the print dialog): each PDF page rasterised onto a QPrinter,
    here one that writes a PDF file, so the pages can be counted and looked at."""
    from PySide6.QtPrintSupport import QPrinter

    from console.core.report.clinic import Clinic
    from console.core.report.making import make_pdf, page_count
    from console.ui.report_actions import paint_pdf

    with rig(tmp_path) as d:
        ketamine_day(d)
        made = make_pdf(d.reader, d.session_id, "report", Clinic(CLINIC, named=True))
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setResolution(150)
    out = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(out))
    assert paint_pdf(printer, made.data) == made.pages
    printed = out.read_bytes()
    assert page_count(printed) == made.pages and b"/Subtype /Image" in printed


def written_kinds() -> set[str]:
    """Every event kind the console writes, read from its source: quoted dotted kinds of the
    families the console records, plus the ones made from a key (score.<scale>,
    export.<what>, infusion.<action>)."""
    from console.core.exports.export_events import TITLES
    from console.core.notes.scales import SCORES

    root = Path(__file__).resolve().parents[1] / "console"
    families = ("session|patient|dose|infusion|gate|checklist|check|vitals|alarm|limits|music"
                "|setting|note|score|ae|outcome|course|sign|discharge|rems|link|display|staff"
                "|export|audit|record|store")
    pattern = re.compile(rf'"((?:{families})\.[a-z][a-z0-9_]*)"')
    found = {k for f in root.rglob("*.py") for k in pattern.findall(f.read_text())}
    found -= {"session.db", "setting.toml"}  # file names, not kinds
    found |= {f"score.{k}" for k in SCORES} | {f"export.{w}" for w in TITLES}
    found |= {f"infusion.{w}" for w in ("paused", "resumed", "stopped", "rate_changed")}
    return found


def test_every_kind_the_console_writes_has_words_for_a_reader() -> None:
    from console.core.event_kinds import KIND_LABELS, Kind, kind_label

    kinds = written_kinds() | {k.value for k in Kind}
    assert {"patient.weight_changed", "music.track_stopped", "session.discharge",
            "export.fhir", "infusion.rate_changed"} <= kinds, "the scan finds the kinds"
    unlabelled = sorted(k for k in kinds if k not in KIND_LABELS)
    assert not unlabelled, f"give these a label in console/core/event_kinds.py: {unlabelled}"
    for k in kinds:
        label = kind_label(k)
        assert label != k and not re.search(r"[a-z]\.[a-z]|_", label), (k, label)


def test_the_report_says_weight_baseline_and_automatic_events_in_words(
        tmp_path: Path) -> None:
    """The walk's report listed "patient.weight_changed", printed the gate baseline as
    "dia 79, hr 73, spo2 97, sys 121", and put the nurse's name on music that ended by
    itself."""
    from console.core.event_kinds import KIND_LABELS
    from console.store import records

    with rig(tmp_path) as d:
        day = start(d, "im")
        d.feed(10, bp=(121, 79))
        for item in day.template.checklist:
            day.set_item(item.id, {"confirm": True, "text": "Sam Keller, 555-0100",
                                   "hours": 6.0}[item.kind])
        assert day.gate().passed
        day.give_dose("50", lot="K-2291")
        pid = d.sessions.current.patient.id  # type: ignore[union-attr]
        d.writer.call(lambda c: records.set_patient_weight(
            c, pid, 66.0, d.clock.now(), session_id=d.session_id, author="Ana Nurse")).result(5)
        d.record("music.fade_out", {"summary": "Music fading out over 3 s"})  # she pressed it
        d.sessions.record("music.track_stopped", {"summary": "Track stopped: Adagio (ended)"},
                          automatic=True)
        # events written without a summary still read as words, never as their kind
        bare = [k for k in KIND_LABELS if k.startswith(("music.", "setting.", "link.",
                                                         "display.", "staff."))]
        for k in bare:
            d.sessions.record(k, {}, automatic=True)
        d.feed(5)
        d.sessions.end()
        out = report(d, tmp_path)
        text = " ".join(pdf_text(out))
        rows = lines(out)
    assert re.search(r"baseline BP 121/79, HR 7\d, SpO2 97 %", text), text
    assert "sys 121" not in text and "dia 79" not in text
    assert "Weight changed to 66 kg (was 64 kg)" in text
    assert any(re.search(r"Track stopped: Adagio \(ended\)\s+automatic$", r) for r in rows)
    assert any(re.search(r"Music fading out over 3 s\s+Ana Nurse$", r) for r in rows)
    raw = sorted(k for k in written_kinds() if k in text)
    assert not raw, f"raw kinds in the report: {raw}"
