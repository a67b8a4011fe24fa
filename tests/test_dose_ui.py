"""The dose feature in the real window: simulator over a pty -> hub -> feed -> widgets -> SQLite.

A FakeClock set to the real time stamps everything, so a test can move the session forward
40 minutes without waiting while the simulated monitor keeps streaming in real time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLineEdit
from pytestqt.qtbot import QtBot

from console.app import Running, start_core, wire_store_messages
from console.core.clock import FakeClock
from console.core.config import Config, DeviceConfig
from console.core.dosing.templates import SHIPPED_DIR
from console.core.session import Staff
from console.store import records
from console.store.events import Event, session_events
from console.ui import theme
from console.ui.dosing.dose_feature import DoseFeature, install
from console.ui.live_feed import LiveFeed
from console.ui.main_window import MainWindow
from devices.drivers import get_driver
from devices.physiology import Physiology
from devices.simulator import Simulator

MIN = 60.0
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


@pytest.fixture
def clinic(tmp_path: Path) -> Path:
    """A clinic data dir with its own template: esketamine REMS, SpO2 alarm without delay."""
    d = tmp_path / "clinic"
    (d / "templates").mkdir(parents=True)
    text = (SHIPPED_DIR / "esketamine-rems.toml").read_text()
    text = text.replace('title = "Intranasal esketamine (Spravato, REMS)"',
                        'title = "Esketamine REMS (clinic test)"')
    text = text.replace("below = 92\nsustain_minutes = 0.25", "below = 92\nsustain_minutes = 0")
    (d / "templates" / "esk-clinic.toml").write_text(text)
    (d / "templates" / "typo.toml").write_text(text.replace("[observation]", "[observaton]"))
    return d


def start_sim(scenario: str, started_ago: float, tmp_path: Path) -> Simulator:
    sim = Simulator(get_driver("sim"), Physiology(scenario, start=time.time() - started_ago),
                    link_path=str(tmp_path / f"tty-{scenario}"))
    sim.start()
    return sim


class Console:
    """The running core plus the real main window with only this feature installed."""

    def __init__(self, qtbot: QtBot, db: Path, port: str, clock: FakeClock, data_dir: Path,
                 config: Config) -> None:
        self.running: Running = start_core(db, [DeviceConfig("sim", port)], config, clock=clock,
                                           data_dir=data_dir)
        ctx = self.running.ctx
        self.ctx = ctx
        self.feed = LiveFeed(ctx.hub, ctx.clock)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        theme.apply_theme(app)
        self.window = MainWindow(ctx, self.feed)
        qtbot.addWidget(self.window)
        wire_store_messages(self.window, ctx)  # ctx.post onto the GUI thread, as in the app
        self.feature: DoseFeature = install(self.window, ctx, self.feed)
        self.window.provide(self.feature)  # closed with the window
        self.feed.start()
        self.window.resize(1600, 1000)
        self.window.show()

    def close(self) -> None:
        self.window.allow_close_without_asking()  # closing mid-session on purpose
        self.window.close()
        self.feed.stop()
        self.running.stop()

    def events(self, *kinds: str) -> list[Event]:
        self.ctx.writer.flush()
        assert self.ctx.sessions.current is not None
        sid = self.ctx.sessions.current.id
        return session_events(self.ctx.reader, sid, kinds or None)


@pytest.fixture
def consoles(qtbot: QtBot) -> Iterator[list[Console]]:
    made: list[Console] = []
    yield made
    for c in made:
        if c.window.isVisible():
            c.close()


def fresh(c: Console, now: float) -> bool:
    """The monitor's HR and SpO2 have arrived stamped at the clock's present."""
    latest = [c.ctx.hub.latest(code) for code in (147842, 150456)]
    return all(r is not None and r.t >= now for r in latest)


def begin(c: Console, template: str, weight: float = 70.0) -> None:
    ctx = c.ctx
    ctx.sessions.set_user(Staff("Ana Nurse", "nurse"))
    pid = ctx.writer.call(lambda conn: records.create_patient(
        conn, "Rosa M.", ctx.clock.now(), birth_date="1948-05-01", weight_kg=weight)).result(5)
    ctx.sessions.start(pid, template=template)


def fill_checklist(qtbot: QtBot, c: Console) -> None:
    for item_id, w in c.feature.checklist.inputs.items():
        if isinstance(w, QCheckBox):
            w.click()  # the widget's own click: toggles and emits like a real press
        else:
            assert isinstance(w, QLineEdit)
            w.setFocus()
            text = "6" if item_id.startswith("fasting") else "Sam (son), 555-0100"
            if item_id == "concomitant":
                text = "none"
            if item_id == "first_treatment":
                text = "no"
            qtbot.keyClicks(w, text)
            qtbot.keyClick(w, Qt.Key.Key_Return)


def test_gate_refuses_hypertensive_patient_until_override_then_dose_and_timers(
        qtbot: QtBot, tmp_path: Path, consoles: list[Console], config: Config) -> None:
    sim = start_sim("hypertensive", 177, tmp_path)  # a fresh cuff BP ~5 s after start
    clock = FakeClock(time.time())
    try:
        c = Console(qtbot, tmp_path / "h.db", sim.port, clock, tmp_path / "data", config)
        consoles.append(c)
        begin(c, "im")
        panel, checklist = c.feature.dose_panel, c.feature.checklist
        qtbot.waitUntil(lambda: c.feature.day is not None
                        and c.feature.day.gate().baseline["sys"] is not None, timeout=10000)
        fill_checklist(qtbot, c)
        day = c.feature.day
        assert day is not None and day.gate().checklist_complete
        qtbot.waitUntil(lambda: "is not below 160/90" in checklist.gate.text(), timeout=5000)
        assert "Dosing locked" in checklist.gate.text()
        assert "LOCKED" in panel.record_button.text()
        # dosing refused while the gate fails; what was typed stays
        qtbot.keyClicks(panel.mg, "50")
        assert "0.71 mg/kg" in panel.per_kg.text()
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        assert "safety gate has not passed" in panel.message.text()
        assert panel.mg.text() == "50"
        assert c.events("dose.given") == []
        # override with a written reason
        qtbot.keyClicks(checklist.reason, "Known chronic hypertension; Dr Lee reviewed and agrees")
        qtbot.mouseClick(checklist.override, Qt.MouseButton.LeftButton)
        assert "overridden" in checklist.gate.text().lower()
        qtbot.keyClicks(panel.lot, "K-2291")
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        assert panel.message.text() == ""
        assert "Cumulative this session: 50.0 mg (0.71 mg/kg)" in panel.cumulative.text()
        assert "OVERRIDDEN by Ana Nurse" in checklist.done_line.text()
        clock.advance(12 * MIN + 5)
        qtbot.waitUntil(lambda: c.feature.timer_bar.since.text() == "00:12:05", timeout=3000)
        bar = c.feature.timer_bar
        assert bar.observe.text() == "01:47:55"
        assert "BP every 15 min in 02:55" in bar.next.text()
        stored = c.events()
        kinds = [e.kind for e in stored]
        for k in ("dose.protocol", "checklist.item", "gate.override", "gate.checked",
                  "dose.given"):
            assert k in kinds, k
        dose = next(e for e in stored if e.kind == "dose.given")
        assert (dose.payload["mg"], dose.payload["lot"], dose.payload["given_by"]) == (
            50.0, "K-2291", "Ana Nurse")
        override = next(e for e in stored if e.kind == "gate.override")
        assert override.author == "Ana Nurse" and "Dr Lee" in override.payload["reason"]
        gate = next(e for e in stored if e.kind == "gate.checked")
        assert gate.payload["passed"] is False and gate.payload["baseline"]["sys"] > 160
    finally:
        for con in consoles:
            con.close()
        consoles.clear()
        sim.stop()


def test_desaturation_alarm_ack_screenshot_and_reopen_restores_everything(
        qtbot: QtBot, tmp_path: Path, clinic: Path, consoles: list[Console],
        config: Config) -> None:
    # SpO2 starts falling 60 s after the scenario starts; at 80 s it is ~90 % and falling
    sim = start_sim("desaturation", 80, tmp_path)
    clock = FakeClock(time.time())
    db = tmp_path / "d.db"
    try:
        c = Console(qtbot, db, sim.port, clock, clinic, config)
        consoles.append(c)
        begin(c, "esk-clinic")
        feature = c.feature
        assert feature.day is not None and feature.day.template.origin == "clinic"
        # the clinic's broken template is named with its line; the others still work
        assert "typo.toml, line" in feature.template_errors.text()
        assert not feature.template_errors.isHidden()
        clock.advance(40 * MIN)  # the session has been running 40 minutes
        qtbot.waitUntil(lambda: fresh(c, clock.now()), timeout=5000)
        # a manual cuff BP taken 5 minutes ago is the baseline
        lim = feature.limits
        qtbot.keyClicks(lim.values["sys"], "128")
        qtbot.keyClicks(lim.values["dia"], "82")
        qtbot.keyClicks(lim.when, "5")
        qtbot.mouseClick(lim.save, Qt.MouseButton.LeftButton)
        assert lim.message.text() == ""
        fill_checklist(qtbot, c)
        assert feature.day.gate().passed, feature.day.gate().reasons
        # the dose was given 40 minutes ago and is recorded now: a late entry
        panel = feature.dose_panel
        qtbot.keyClicks(panel.mg, "56")
        qtbot.keyClicks(panel.when, "40")
        qtbot.keyClicks(panel.lot, "ESK-7731")
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        assert panel.message.text() == "", panel.message.text()
        assert "late entry" in panel.log.text()
        panel.moaas.setCurrentIndex(1)
        qtbot.mouseClick(panel.sedation, Qt.MouseButton.LeftButton)
        bar = feature.timer_bar
        qtbot.waitUntil(lambda: "BP about 40 min after dosing (REMS) — DUE" in bar.next.text(),
                        timeout=3000)
        assert bar.since.text().startswith("00:40:")
        # the desaturation arrives from the simulator and raises a high-priority alarm
        qtbot.waitUntil(lambda: "spo2-low" in feature.day.alarms.active, timeout=15000)  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: feature.banner.isVisible(), timeout=3000)
        assert "HIGH" in feature.banner.labels[0].text() and "SpO2" in feature.banner.labels[0].text()
        assert feature.sound.priority == "high" and c.ctx.ducking.active
        assert c.window.vitals.spo2.alarm == "high" and c.window.vitals.hr.alarm is None
        assert ("alarm_high.wav", 100) in getattr(feature.sound.player, "played", [])
        qtbot.waitUntil(lambda: "128/82 mmHg" in feature.rems.summary.text(), timeout=5000)
        assert "BP before dosing" in feature.rems.summary.text()
        qtbot.waitUntil(lambda: "tech:stale" not in feature.day.alarms.active  # type: ignore[union-attr]
                        and c.window.vitals.nibp.value.text() == "128/82", timeout=5000)
        SCREENSHOTS.mkdir(exist_ok=True)
        c.window.grab().save(str(SCREENSHOTS / "dose_mid_session.png"))
        # acknowledge by name: sound silenced, music back, alarm still shown
        qtbot.mouseClick(feature.banner.ack, Qt.MouseButton.LeftButton)
        assert feature.sound.priority is None and not c.ctx.ducking.active
        assert "silenced by Ana Nurse" in feature.banner.labels[0].text()
        raised = c.events("alarm.raised")
        acks = c.events("alarm.acknowledged")
        spo2_alarm = next(e for e in raised if e.payload["rule"] == "spo2-low")
        assert spo2_alarm.payload["priority"] == "high" and spo2_alarm.payload["code"] == 150456
        assert acks and acks[0].refers_to == spo2_alarm.uid and acks[0].author == "Ana Nurse"
        uid_before = feature.day.alarms.active["spo2-low"].uid
        before = {
            "since": bar.since.text()[:5], "next": bar.next.text(),
            "alarms": sorted(feature.day.alarms.active),
            "cumulative": panel.cumulative.text(),
        }
        # close the console mid-observation and open it again on the same file
        c.close()
        consoles.clear()
        clock.advance(30)
        c2 = Console(qtbot, db, sim.port, clock, clinic, config)
        consoles.append(c2)
        f2 = c2.feature
        # Issue 9: the interrupted session is offered at the next start, resumed by choice.
        (waiting,) = c2.ctx.sessions.waiting
        assert f2.day is None
        c2.ctx.sessions.resume(waiting.row.id)
        assert f2.day is not None and f2.day.template.id == "esk-clinic"
        f2.refresh()
        assert f2.timer_bar.since.text()[:5] == before["since"]
        assert f2.timer_bar.next.text() == before["next"]
        assert sorted(f2.day.alarms.active) == before["alarms"]
        assert f2.day.alarms.active["spo2-low"].uid == uid_before
        assert f2.sound.priority is None  # still within the acknowledged silence
        assert f2.banner.isVisible() and "silenced by Ana Nurse" in f2.banner.labels[0].text()
        assert f2.dose_panel.cumulative.text() == before["cumulative"]
        raised_again = [e for e in c2.events("alarm.raised") if e.payload["rule"] == "spo2-low"]
        assert raised_again[-1].uid == uid_before  # the restart did not raise it again
        assert QApplication.instance() is not None
    finally:
        for con in consoles:
            con.close()
        consoles.clear()
        sim.stop()


def test_theme_colours_for_alarm_priorities_are_iec() -> None:
    assert theme.PRIORITY_COLOURS["high"].lower() == theme.ALARM_HIGH.lower()


def test_infusion_bad_input_weight_and_a_lost_monitor_link(
        qtbot: QtBot, tmp_path: Path, consoles: list[Console], config: Config) -> None:
    sim = start_sim("calm", 0, tmp_path)
    clock = FakeClock(time.time())
    try:
        c = Console(qtbot, tmp_path / "i.db", sim.port, clock, tmp_path / "data", config)
        consoles.append(c)
        ctx = c.ctx
        ctx.sessions.set_user(Staff("Ana Nurse", "nurse"))
        pid = ctx.writer.call(lambda conn: records.create_patient(
            conn, "No Weight", clock.now())).result(5)
        ctx.sessions.start(pid, template="iv-infusion")
        feature, panel = c.feature, c.feature.dose_panel
        lim = feature.limits
        for key, text in (("sys", "124"), ("dia", "78"), ("hr", "70")):
            qtbot.keyClicks(lim.values[key], text)
        qtbot.mouseClick(lim.save, Qt.MouseButton.LeftButton)
        fill_checklist(qtbot, c)
        assert feature.day is not None and feature.day.gate().passed
        # bad input: each a sentence, the typed text kept, nothing written
        for mg, when, words in (("35", "", "no weight recorded"),
                                ("abc", "", "not a number"), ("-4", "", "more than 0")):
            panel.mg.setText(mg)
            panel.when.setText(when)
            qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
            assert words in panel.message.text()
            assert panel.mg.text() == mg
        ctx.writer.call(lambda conn: records.set_patient_weight(
            conn, pid, 70.0, clock.now(), author="Ana Nurse")).result(5)
        ctx.sessions.refresh_patient()
        from datetime import datetime
        panel.mg.setText("35")
        panel.when.setText(datetime.fromtimestamp(clock.now() + 900).strftime("%H:%M"))
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        assert "is in the future" in panel.message.text()
        assert c.events("dose.given") == []
        panel.when.clear()
        qtbot.mouseClick(panel.record_button, Qt.MouseButton.LeftButton)
        assert panel.message.text() == ""
        assert "0.50 mg/kg" in panel.log.text()
        # the monitor cable is pulled during the infusion: a technical alarm, then cleared
        sim.unplug()
        qtbot.waitUntil(lambda: any(k.startswith("tech:link") for k in
                                    feature.day.alarms.active), timeout=10000)  # type: ignore[union-attr]
        assert "Monitor link" in feature.banner.labels[0].text()
        assert feature.sound.priority == "medium"
        sim.replug()
        qtbot.waitUntil(lambda: not any(k.startswith("tech:link") for k in
                                        feature.day.alarms.active), timeout=15000)  # type: ignore[union-attr]
        # twenty minutes into the infusion: half of the dose has run in
        clock.advance(20 * MIN)
        bar = feature.timer_bar
        qtbot.waitUntil(lambda: "17.5 of 35 mg" in bar.infusion.text(), timeout=3000)
        assert "52.5 mg/h" in bar.infusion.text() and not bar.infusion_box.isHidden()
        qtbot.mouseClick(panel.pause, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "PAUSED" in bar.infusion.text(), timeout=3000)
        assert "Cumulative this session: 17.5 mg" in panel.cumulative.text()
        kinds = [e.kind for e in c.events()]
        assert "infusion.paused" in kinds
        tech = [e for e in c.events("alarm.raised") if e.payload["type"] == "technical"]
        cleared = {e.refers_to for e in c.events("alarm.cleared")}
        link_alarm = next(e for e in tech if e.payload["rule"].startswith("tech:link"))
        assert link_alarm.payload["code"] is None and link_alarm.uid in cleared
    finally:
        for con in consoles:
            con.close()
        consoles.clear()
        sim.stop()
