"""The probe tries every port setting a monitor family supports, and the setting found is the
one the link, the dialog and `holdspace record` then use (`contec@19200-8O1`).

The simulated monitors sit on real ptys set to a real line speed (devices.simulator `line`):
at any other baud rate their bytes arrive as garbage, as on a real serial line. Settings per
family: IntelliVue MIB/RS232 115200 or 19200 8N1 (Philips Data Export Programming Guide,
"The Fixed Baudrate Protocol, RS232 Port Settings"); Contec CMS50 115200 8N1 (protocol V7.0
§2.2) or 19200 8O1 for older firmware (atbrask/CMS50Dplus, tranzoa "19.2 8O1").
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tty
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from console.core.acquisition import AcquisitionHub
from console.core.config import DeviceConfig
from console.core.vitals.captures import connect
from console.core.vitals.device_setup import apply_devices, source_for
from console.ui.vitals.device_dialog import DeviceDialog
from devices.drivers import UnknownProtocol, device_name, get_driver
from devices.link import LinkState, LinkStatus, SerialLink
from devices.physiology import Physiology
from devices.probe import probe, probe_driver
from devices.protocol import SerialSettings
from devices.protocols.contec import ContecMonitor
from devices.reading import Sample
from devices.simulator import Simulator

OLDER = SerialSettings(19200, 8, "O", 1)


def older_contec(tmp_path: Path) -> Simulator:
    """A CMS50E with older firmware: 5-byte format on a 19200-baud line."""
    driver = replace(get_driver("contec"), make_simulator=lambda p: ContecMonitor(p, "live5"))
    return Simulator(driver, Physiology("calm"), link_path=str(tmp_path / "ttyCMS"),
                     line=OLDER)


def test_settings_spec_round_trip_and_bad_specs_in_words() -> None:
    for s in (SerialSettings(115200), OLDER, SerialSettings(19200, 8, "E", 1, rtscts=True),
              SerialSettings(9600, 7, "E", 2)):
        assert SerialSettings.parse(s.spec()) == s
    assert SerialSettings.parse("19200") == SerialSettings(19200)
    with pytest.raises(ValueError, match="is not a serial baud rate"):
        SerialSettings.parse("12345")
    with pytest.raises(ValueError, match="should look like 19200"):
        SerialSettings.parse("19200-9Z1")
    with pytest.raises(UnknownProtocol, match="contec@115200-8N1, contec@19200-8O1"):
        get_driver("contec@fast")
    older = get_driver("CMS50E@19200-8O1")
    assert older.name == "contec" and older.settings == OLDER
    assert device_name(older) == "contec@19200-8O1"
    assert device_name(get_driver("contec@115200")) == "contec"


def test_older_contec_is_found_at_19200_odd_parity_after_115200(tmp_path: Path) -> None:
    sim = older_contec(tmp_path)
    port = sim.start()
    try:
        r = probe_driver(port, get_driver("contec"), listen=1.5)
    finally:
        sim.stop()
    assert r.matched and r.serial == OLDER and r.device == "contec@19200-8O1"
    assert r.tried == (SerialSettings(115200).describe(), OLDER.describe())
    assert "19200 baud, 8O1" in r.settings


def test_intellivue_set_to_19200_is_found(tmp_path: Path) -> None:
    t0 = time.time()
    fast = lambda: t0 + (time.time() - t0) * 5  # noqa: E731  (a once-a-second monitor, faster)
    sim = Simulator(get_driver("intellivue"), link_path=str(tmp_path / "ttyMIB"), now=fast,
                    line=SerialSettings(19200))
    port = sim.start()
    try:
        rep = probe(port, drivers=[get_driver("intellivue")], listen=2.0)
    finally:
        sim.stop()
    assert rep.best is not None, rep.results
    assert rep.best.device == "intellivue@19200-8N1"
    assert "19200 baud" in rep.summary()


def test_a_monitor_at_its_usual_setting_is_found_first_try(tmp_path: Path) -> None:
    sim = Simulator(get_driver("contec"), link_path=str(tmp_path / "ttyCMS"),
                    line=SerialSettings(115200))
    port = sim.start()
    try:
        r = probe_driver(port, get_driver("contec"), listen=1.5)
    finally:
        sim.stop()
    assert r.matched and r.device == "contec" and len(r.tried) == 1


def test_a_silent_port_is_tried_once_for_a_passive_monitor() -> None:
    """A monitor that sends nothing at one baud rate sends nothing at the others either."""
    two = replace(get_driver("nonin"), alternatives=(SerialSettings(19200),))
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        r = probe_driver(os.ttyname(slave), two, listen=0.3)
    finally:
        os.close(master)
        os.close(slave)
    assert not r.matched and len(r.tried) == 1 and r.bytes_in == 0


class _Sink:
    def __init__(self) -> None:
        self.n = 0
        self.live = threading.Event()
        self.unreadable = threading.Event()

    def samples(self, source: str, samples: list[Sample]) -> None:
        self.n += len(samples)

    def status(self, status: LinkStatus) -> None:
        if status.state == LinkState.LIVE:
            self.live.set()
        if "cannot be read" in status.message:
            self.unreadable.set()


def test_the_link_reads_only_at_the_monitors_own_settings(tmp_path: Path) -> None:
    sim = older_contec(tmp_path)
    port = sim.start()
    try:
        wrong, right = _Sink(), _Sink()
        link = SerialLink(port, get_driver("contec"), wrong)
        link.no_data_after = 1.0
        link.start()
        try:
            assert wrong.unreadable.wait(10), link.status
            assert wrong.n == 0
        finally:
            link.stop()
        link = SerialLink(port, get_driver("contec@19200-8O1"), right)
        link.start()
        try:
            assert right.live.wait(10), link.status
        finally:
            link.stop()
        assert link.source == f"contec:{port}"
    finally:
        sim.stop()


def test_dialog_probe_sets_type_and_settings_and_ok_keeps_them(
    qtbot: QtBot, tmp_path: Path, db_path: Path,
) -> None:
    hub = AcquisitionHub(None, time.time)
    sim = older_contec(tmp_path)
    port = sim.start()
    try:
        dlg = DeviceDialog([DeviceConfig("nonin", port)], hub=hub,
                           reconnect=lambda d: connect(hub, d, db_path), probe_listen=1.5)
        qtbot.addWidget(dlg)
        dlg.show()
        dlg.probe_row(0)
        qtbot.waitUntil(lambda: not dlg.probe_running() and dlg.probe_button.isEnabled(),
                        timeout=60_000)
        assert dlg.message.text().startswith("Found: Contec"), dlg.message.text()
        assert dlg.row_config(0).protocol == "contec@19200-8O1"
        assert "19200 baud, 8O1" in dlg.rows[0].proto.currentText()
        with qtbot.waitSignal(dlg.accepted, timeout=2_000):
            dlg._accept()
        chosen = dlg.result_devices
        assert chosen == [DeviceConfig("contec@19200-8O1", port)]
        # Applied: the link runs at those settings; back to the usual ones restarts it.
        assert apply_devices(hub, chosen, db_path) == []
        link = hub.links[source_for(chosen[0])]
        assert isinstance(link, SerialLink) and link.driver.settings == OLDER
        qtbot.waitUntil(lambda: link.is_live(), timeout=10_000)
        apply_devices(hub, [DeviceConfig("contec", port)], db_path)
        assert hub.links[f"contec:{port}"].driver.settings == SerialSettings(115200)
        # A row opened from saved settings shows the same entry again.
        again = DeviceDialog(chosen, hub=hub)
        qtbot.addWidget(again)
        assert again.row_config(0).protocol == "contec@19200-8O1"
        assert again.rows[0].proto.itemData(again.rows[0].proto.currentIndex(),
                                             Qt.ItemDataRole.ToolTipRole).startswith("19200")
    finally:
        hub.stop()
        sim.stop()


@pytest.mark.parametrize(("spec", "words"), [
    ("contec@12345", "12345 is not a serial baud rate"),
    ("contec@19200-9Z1", "should look like 19200"),
    ("nope@19200", "unknown monitor protocol"),
])
def test_bad_settings_on_the_command_line_are_one_clear_line(spec: str, words: str) -> None:
    r = subprocess.run([sys.executable, "-m", "console", "record", "--device",
                        f"{spec}:/dev/null", "--duration", "1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], r.stderr


def test_a_hand_edited_bad_setting_in_the_workstation_file_is_told(db_path: Path) -> None:
    hub = AcquisitionHub(None, time.time)
    try:
        problems = apply_devices(hub, [DeviceConfig("contec@fast", "/dev/ttyUSB0")], db_path)
    finally:
        hub.stop()
    assert len(problems) == 1 and "should look like 19200" in problems[0]
    assert "choose its type" in problems[0]
