"""The device dialog on real links: live state per monitor, probing, and which source is shown."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.app import Running, start_core
from console.core.acquisition import AcquisitionHub
from console.core.config import Config, DeviceConfig
from console.core.vitals.captures import connect
from console.core.vitals.device_setup import apply_devices, source_for
from console.store import records
from console.store.db import open_db
from console.ui import theme
from console.ui.shell_actions import apply_device_choice
from console.ui.vitals.device_dialog import C_OK, DeviceDialog, port_choices
from devices import mdc
from devices.drivers import get_driver
from devices.link import LinkState
from devices.simulator import Simulator
from tests.helpers.fixtures import wait_until

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
HR = mdc.MDC_ECG_HEART_RATE


@pytest.fixture
def hub() -> Iterator[AcquisitionHub]:
    """An acquisition hub without storage; its links are stopped at the end."""
    h = AcquisitionHub(None, time.time)
    yield h
    h.stop()


@pytest.fixture
def second_sim(tmp_path: Path) -> Iterator[tuple[Simulator, str]]:
    """A second simulated monitor on its own pty (a finger sensor beside the monitor)."""
    sim = Simulator(get_driver("sim"), link_path=str(tmp_path / "ttySIM1"))
    port = sim.start()
    yield sim, port
    sim.stop()


def _dialog(qtbot: QtBot, devices: list[DeviceConfig], hub: AcquisitionHub, db_path: Path,
            **kw: object) -> DeviceDialog:
    def reconnect(d: DeviceConfig) -> None:
        connect(hub, d, db_path)

    dlg = DeviceDialog(devices, hub=hub, reconnect=reconnect, probe_listen=0.3, **kw)  # type: ignore[arg-type]
    qtbot.addWidget(dlg)
    dlg.resize(1400, 460)
    dlg.show()
    return dlg


def test_each_link_shows_live_state_and_counts_and_a_missing_port_says_so(
    qtbot: QtBot, hub: AcquisitionHub, sim_port: tuple[Simulator, str], tmp_path: Path,
    db_path: Path,
) -> None:
    _, port = sim_port
    missing = str(tmp_path / "ttyUSB7")
    devices = [DeviceConfig("sim", port), DeviceConfig("nonin", missing)]
    assert apply_devices(hub, devices, db_path) == []
    dlg = _dialog(qtbot, devices, hub, db_path)
    qtbot.waitUntil(lambda: dlg.status_text(0).startswith("● live"), timeout=10_000)
    qtbot.waitUntil(lambda: "not found" in dlg.status_text(1), timeout=10_000)
    assert "plugged in" in dlg.status_text(1)
    dlg.rows[1].capture.setCheckState(Qt.CheckState.Checked)  # shown ticked in the picture

    def decoded() -> int:
        item = dlg.table.item(0, C_OK)
        return int(item.text()) if item and item.text().isdigit() else -1

    first = decoded()
    qtbot.waitUntil(lambda: decoded() > first, timeout=5_000)  # live-updating while open
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    theme.apply_theme(app)  # the picture as the room sees it
    age, never = dlg.table.item(0, 4), dlg.table.item(1, 4)
    assert age is not None and "s ago" in age.text()
    assert never is not None and never.text() in ("—", "never")
    SCREENSHOTS.mkdir(exist_ok=True)
    assert dlg.grab().save(str(SCREENSHOTS / "device_dialog.png"))


def test_probe_finds_the_monitor_type_on_a_port_our_own_link_holds(
    qtbot: QtBot, hub: AcquisitionHub, sim_port: tuple[Simulator, str], db_path: Path,
) -> None:
    _, port = sim_port
    wrong = [DeviceConfig("nonin", port)]  # chosen wrong: data arrives, nothing decodes
    apply_devices(hub, wrong, db_path)
    dlg = _dialog(qtbot, wrong, hub, db_path)
    dlg.table.selectRow(0)
    dlg.probe_row(0)
    assert source_for(wrong[0]) not in hub.links, "our link lets go of the port while probing"
    qtbot.waitUntil(lambda: not dlg.probe_running() and dlg.probe_button.isEnabled(),
                    timeout=15_000)
    assert dlg.message.text().startswith("Found: Holdspace simulator"), dlg.message.text()
    assert dlg.row_config(0).protocol == "sim"
    assert source_for(wrong[0]) in hub.links, "the paused link is back after the probe"
    with qtbot.waitSignal(dlg.accepted, timeout=2_000):
        dlg._accept()
    assert dlg.result_devices == [DeviceConfig("sim", port)]


def test_probe_of_an_empty_row_and_bad_rows_get_words(
    qtbot: QtBot, hub: AcquisitionHub, db_path: Path, sim_port: tuple[Simulator, str],
) -> None:
    _, port = sim_port
    dlg = _dialog(qtbot, [DeviceConfig("sim", "")], hub, db_path)
    dlg.probe_row(0)
    assert "choose the port" in dlg.message.text()
    dlg._accept()
    assert dlg.result() == 0 and "Row 1: choose or type the port" in dlg.message.text()
    dlg.set_row(0, port=port)
    dlg._add_row(DeviceConfig("nonin", port))
    dlg._accept()
    assert "use the same port" in dlg.message.text()


def test_two_monitors_sending_heart_rate_user_chooses_which_is_shown_and_it_is_remembered(
    qtbot: QtBot, sim_port: tuple[Simulator, str], second_sim: tuple[Simulator, str],
    db_path: Path, config: Config,
) -> None:
    _, port_a = sim_port
    _, port_b = second_sim
    running: Running = start_core(db_path, devices=[], config=config)
    ctx = running.ctx
    try:
        assert running.simulator is not None  # nothing configured: the built-in simulator
        a, b = DeviceConfig("sim", port_a), DeviceConfig("sim", port_b, capture=True)
        apply_device_choice(ctx, running, [a], {})
        assert running.simulator is None and "SIMULATOR" not in ctx.hub.links
        link_a = ctx.hub.links[source_for(a)]
        apply_device_choice(ctx, running, [a, b], {})
        assert ctx.hub.links[source_for(a)] is link_a, "an unchanged monitor is not restarted"
        sid = ctx.writer.call(lambda c: records.start_session(c, None, time.time())).result(5)
        ctx.hub.session_id = sid

        dlg = DeviceDialog([a, b], hub=ctx.hub, preferred={})
        qtbot.addWidget(dlg)
        qtbot.waitUntil(lambda: HR in dlg.pref_combos, timeout=10_000)
        assert dlg.pref_combos[HR].count() == 3  # automatic, A, B
        dlg.choose_shown(HR, source_for(b))
        dlg._accept()
        assert dlg.result_preferred == {str(HR): source_for(b)}
        apply_device_choice(ctx, running, dlg.result_devices, dlg.result_preferred)
        assert ctx.hub.shown_source(HR) == source_for(b)

        saved = Config.load(config.path)
        assert saved.devices == [a, b] and saved.preferred_source == {str(HR): source_for(b)}
        # Both sources are stored, each with its name, whichever is shown.
        ctx.writer.flush()
        conn = open_db(db_path)
        try:
            def sources() -> set[str]:
                ctx.writer.flush()
                return {r[0] for r in conn.execute(
                    "SELECT DISTINCT source FROM readings WHERE session_id=? AND code=?",
                    (sid, HR))}
            qtbot.waitUntil(lambda: sources() == {source_for(a), source_for(b)}, timeout=10_000)
        finally:
            conn.close()
        captures = list((db_path.parent / "captures").glob("*-sim-ttySIM1.hscap"))
        assert len(captures) == 1, "only the monitor with capture on writes a file"

        apply_device_choice(ctx, running, [], {})  # all removed: the simulator returns
        assert running.simulator is not None and set(ctx.hub.links) == {"SIMULATOR"}
    finally:
        running.stop()


def test_reopening_the_same_port_twice_is_refused_in_words(
    hub: AcquisitionHub, sim_port: tuple[Simulator, str], db_path: Path,
) -> None:
    """Two programs (here: two links) on one monitor: the second is told, the first keeps it."""
    _, port = sim_port
    first = DeviceConfig("sim", port)
    apply_devices(hub, [first], db_path)
    # The first program holds the port before the second tries (else they race to open it).
    assert wait_until(lambda: hub.links[source_for(first)].status.state is LinkState.LIVE)
    second = hub.add_device(get_driver("nonin"), port)
    assert wait_until(lambda: "in use by another program" in second.status.message), (
        second.status)
    assert hub.links[source_for(first)].status.state in (LinkState.CONNECTING, LinkState.LIVE)


def test_port_list_shows_the_usb_names() -> None:
    for dev, desc in port_choices():
        assert dev and dev not in desc.split(" · ")


def test_vitals_strip_link_line_tells_a_missing_port_and_a_bad_saved_type(
    qtbot: QtBot, tmp_path: Path, db_path: Path, config: Config, sim_port: tuple[Simulator, str],
) -> None:
    """A settings file naming an unknown monitor type must not stop the console starting."""
    from console.core.clock import SystemClock
    from console.ui.live_feed import LiveFeed
    from console.ui.vitals.vitals_strip import VitalsStrip

    _, port = sim_port
    missing = str(tmp_path / "ttyUSB3")
    config.devices = [DeviceConfig("phlips", "/dev/ttyS9"), DeviceConfig("nonin", missing),
                      DeviceConfig("sim", port)]
    config.preferred_source = {"not a code": "x", str(HR): f"sim:{port}"}
    running = start_core(db_path, config=config)
    try:
        assert running.ctx.hub.preferred == {HR: f"sim:{port}"}
        strip = VitalsStrip(shown_source=running.ctx.hub.shown_source)
        qtbot.addWidget(strip)
        feed = LiveFeed(running.ctx.hub, SystemClock())
        feed.link_status.connect(strip.set_link_status)
        feed.samples.connect(strip.add_samples)
        feed.second.connect(strip.refresh)
        feed.start()
        qtbot.waitUntil(lambda: "not found" in strip.link_label.text(), timeout=10_000)
        text = strip.link_label.text()
        assert "unknown monitor protocol 'phlips'" in text and "Monitors…" in text
        qtbot.waitUntil(lambda: strip.hr.value.text().isdigit(), timeout=10_000)
        feed.stop()
    finally:
        running.stop()


def test_gateway_row_lists_the_beds_heard_and_choosing_one_connects_this_rooms_bed(
    qtbot: QtBot, hub: AcquisitionHub, db_path: Path,
) -> None:
    """Issue 12 item 7 in the dialog: "Listen for a gateway (HL7/MLLP)" with its TCP port and
    bed; the beds heard so far are offered; with none chosen the row says why nothing is
    stored. A real gateway simulator sends two beds on one connection."""
    import socket

    from devices.hl7_gateway_sim import GatewaySimulator
    from devices.mllp_listener import listen_url
    from devices.physiology import Physiology

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    first = DeviceConfig("hl7", listen_url(port, "", "127.0.0.1"))
    assert apply_devices(hub, [first], db_path) == []
    now = time.time()
    gw = GatewaySimulator("127.0.0.1", port, [("TREATMENT^^ROOM1", Physiology("calm", start=now)),
                                              ("ICU-3", Physiology("hypertensive", start=now))])
    gw.start()
    try:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        assert isinstance(app, QApplication)
        theme.apply_theme(app)  # before the dialog is built, as in the room
        dlg = _dialog(qtbot, [first], hub, db_path)
        assert dlg.rows[0].listening and dlg.rows[0].listen.isVisible()
        assert not dlg.rows[0].port.isVisible()
        qtbot.waitUntil(lambda: set(dlg.beds_heard(0)) == {"TREATMENT/ROOM1", "ICU-3"},
                        timeout=10_000)
        qtbot.waitUntil(lambda: "2 beds heard" in dlg.status_text(0), timeout=5_000)
        assert "choose this room's bed in the Bed box" in dlg.status_text(0)
        assert hub.latest(HR) is None, "no bed chosen: nothing shown"
        SCREENSHOTS.mkdir(exist_ok=True)
        assert dlg.grab().save(str(SCREENSHOTS / "device_dialog_gateway.png"))

        bed = dlg.rows[0].listen.bed
        bed.setCurrentIndex(bed.findText("TREATMENT/ROOM1"))
        dlg._add_row(DeviceConfig("hl7", listen_url(port, "ICU-3")))  # same TCP port twice
        dlg._accept()
        assert dlg.result() == 0 and "listen on the same TCP port" in dlg.message.text()
        dlg.table.selectRow(1)
        dlg._remove_selected()
        with qtbot.waitSignal(dlg.accepted, timeout=2_000):
            dlg._accept()
        (chosen,) = dlg.result_devices
        assert chosen == DeviceConfig("hl7", f"listen:{port}?bed=TREATMENT/ROOM1&host=127.0.0.1")
        assert apply_devices(hub, dlg.result_devices, db_path) == []
        link = hub.links[source_for(chosen)]
        assert wait_until(lambda: link.status.state is LinkState.LIVE, timeout=15)
        assert wait_until(lambda: hub.latest(mdc.MDC_PRESS_BLD_NONINV_SYS) is not None,
                          timeout=10)
        r = hub.latest(mdc.MDC_PRESS_BLD_NONINV_SYS)
        assert r is not None and r.value < 150, "ROOM1's cuff (~122), never ICU-3's (~172)"
    finally:
        gw.stop()


def test_a_new_row_becomes_a_gateway_row_as_a_person_would_set_it(
    qtbot: QtBot, hub: AcquisitionHub, db_path: Path,
) -> None:
    from console.ui.vitals.device_dialog import LISTEN

    dlg = _dialog(qtbot, [DeviceConfig("sim", "")], hub, db_path)
    dlg.set_row(0, protocol=LISTEN, port="2600", bed="Room 4")
    assert dlg.rows[0].listen.isVisible() and not dlg.rows[0].port.isVisible()
    assert dlg.row_config(0) == DeviceConfig("hl7", "listen:2600?bed=Room%204")
    dlg.probe_row(0)
    assert "nothing to probe" in dlg.message.text()
    with qtbot.waitSignal(dlg.accepted, timeout=2_000):
        dlg._accept()
    assert get_driver(dlg.result_devices[0].protocol).name == "hl7"
