"""Connecting in the room: which monitors, on which ports, and how each link is doing right now.

One row per monitor: type, port (with the USB adapter's name), capture switch, and the live
state of its link (state in words, last frame, frames decoded and rejected, refreshed twice a
second while the dialog is open). "Probe" finds the monitor type on a port by trying each
protocol. When two monitors send the same parameter, the lower part chooses which is shown.
A row may instead "Listen for a gateway (HL7/MLLP)": a TCP port the central station sends to,
and this room's bed, chosen from the beds heard so far (devices.mllp_listener).
Nothing changes until OK; then the caller applies and saves the result.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from serial.tools import list_ports

from console.core.acquisition import AcquisitionHub
from console.core.config import DeviceConfig
from console.core.vitals.device_setup import source_for
from console.ui import theme
from devices import mdc
from devices.drivers import DRIVERS, UnknownProtocol, device_name, get_driver
from devices.link import Link, LinkState
from devices.mllp_listener import DEFAULT_PORT, Hl7Listener, ListenSpec, is_listen_url, listen_url
from devices.probe import ProbeReport, probe

AUTO = ""  # preferred-source combo: "whichever was heard first"
LISTEN = "hl7-listen"  # monitor-type combo: listen for an HL7 gateway (stored as hl7:listen:…)
LISTEN_TITLE = "Listen for a gateway (HL7/MLLP)"
LISTEN_TIP = ("Central stations (Philips Information Center / PIC iX, GE CARESCAPE Gateway, "
              "Mindray eGateway / BeneVision CMS) connect to this computer and send every bed of "
              "the unit. Give the TCP port the gateway sends to and choose this room's bed: only "
              "its values are shown and stored.")
COLS = ["Monitor type", "Port", "Capture", "Link", "Last frame", "Decoded", "Rejected"]
C_TYPE, C_PORT, C_CAPTURE, C_STATE, C_LAST, C_OK, C_BAD = range(len(COLS))

STATE_COLOURS = {
    LinkState.LIVE: theme.OK,
    LinkState.CONNECTING: theme.TEXT_DIM,
    LinkState.NO_DATA: theme.ALARM_MEDIUM,
    LinkState.LOST: theme.ALARM_MEDIUM,
    LinkState.STOPPED: theme.TEXT_DIM,
}


def port_choices() -> list[tuple[str, str]]:
    """(device path, description with USB vendor/product) for every serial port present."""
    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        bits = [p.description, p.manufacturer, p.product]
        if p.vid is not None and p.pid is not None:
            bits.append(f"USB {p.vid:04x}:{p.pid:04x}")
        seen: list[str] = []
        for b in bits:
            if b and b != "n/a" and b != p.device and b not in seen:
                seen.append(b)
        out.append((p.device, " · ".join(seen)))
    return out


def ago(t: float | None, now: float) -> str:
    if t is None:
        return "never"
    d = max(0.0, now - t)
    when = time.strftime("%H:%M:%S", time.localtime(t))
    if d < 90:
        return f"{when} ({d:.0f} s ago)"
    return f"{when} ({d / 60:.0f} min ago)"


class _ProbeSignals(QObject):
    """Carries a probe's progress from its worker thread to the dialog (queued)."""

    progress = Signal(int, str)  # row, text
    done = Signal(int, object)  # row, ProbeReport


class ListenEditor(QWidget):
    """The port cell of a gateway row: the TCP port it sends to, and this room's bed."""

    def __init__(self, spec: ListenSpec) -> None:
        super().__init__()
        self.host = spec.host  # kept as configured (set by hand: host=…)
        self.tcp = QSpinBox()
        self.tcp.setRange(1, 65535)
        self.tcp.setValue(spec.port)
        self.tcp.setToolTip("The TCP port the gateway's HL7 export sends to (usually 2575).")
        self.bed = QComboBox()
        self.bed.setEditable(True)
        self.bed.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.bed.setMinimumContentsLength(10)
        line = self.bed.lineEdit()
        if line is not None:
            line.setPlaceholderText("this room's bed")
        self.bed.setEditText(spec.bed)
        self.bed.setToolTip("This room's bed as the gateway names it (PV1-3). The list shows "
                            "the beds heard so far.")
        lay = QFormLayout(self)
        lay.setContentsMargins(4, 2, 4, 2)
        lay.setVerticalSpacing(2)
        lay.addRow("Port", self.tcp)
        lay.addRow("Bed", self.bed)

    @property
    def url(self) -> str:
        return listen_url(self.tcp.value(), self.bed.currentText().strip(), self.host)

    def show_beds(self, heard: list[tuple[str, float]]) -> None:
        """Offer every bed heard, newest first, without touching what is typed."""
        typed = self.bed.currentText()
        labels = [label for label, _ in heard]
        if [self.bed.itemText(i) for i in range(self.bed.count())] != labels:
            self.bed.blockSignals(True)
            self.bed.clear()
            for label, t in heard:
                self.bed.addItem(label)
                self.bed.setItemData(self.bed.count() - 1,
                                     f"heard at {time.strftime('%H:%M:%S', time.localtime(t))}",
                                     Qt.ItemDataRole.ToolTipRole)
            self.bed.setEditText(typed)
            self.bed.blockSignals(False)


@dataclass
class _Row:
    proto: QComboBox
    port: QComboBox
    capture: QTableWidgetItem
    listen: ListenEditor  # shown instead of `port` on a gateway row

    @property
    def listening(self) -> bool:
        return self.proto.currentData() == LISTEN

    def show_kind(self) -> None:
        """The serial port chooser, or the gateway's TCP port and bed."""
        self.port.setVisible(not self.listening)
        self.listen.setVisible(self.listening)


class DeviceDialog(QDialog):
    def __init__(
        self,
        devices: list[DeviceConfig],
        parent: QWidget | None = None,
        hub: AcquisitionHub | None = None,
        preferred: dict[str, str] | None = None,
        reconnect: Callable[[DeviceConfig], object] | None = None,
        now: Callable[[], float] = time.time,
        probe_listen: float = 2.5,
    ) -> None:
        super().__init__(parent)
        self.hub = hub
        self.now = now
        self.reconnect = reconnect  # restarts a link the probe had to pause
        self.probe_listen = probe_listen
        self.setWindowTitle("Monitors in this room")
        self.setMinimumWidth(1300)
        self.rows: list[_Row] = []
        self._ports = port_choices()
        self._signals = _ProbeSignals(self)
        self._signals.progress.connect(self._probe_progress)
        self._signals.done.connect(self._probe_done)
        self._probe_thread: threading.Thread | None = None
        self._probe_cancel = threading.Event()
        self._paused: DeviceConfig | None = None
        self.last_probe: ProbeReport | None = None

        self.table = QTableWidget(0, len(COLS))
        self.table.setHorizontalHeaderLabels(COLS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setMinimumSectionSize(46)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(C_STATE, QHeaderView.ResizeMode.Stretch)
        for c, w in ((C_TYPE, 430), (C_PORT, 215), (C_CAPTURE, 70), (C_LAST, 150),
                     (C_OK, 75), (C_BAD, 75)):
            self.table.setColumnWidth(c, w)
        self.table.setWordWrap(True)
        self.table.setStyleSheet(
            "QTableWidget::indicator { width: 18px; height: 18px; border: 1px solid #6b7886; "
            "border-radius: 3px; background: #0f1318; } "
            f"QTableWidget::indicator:checked {{ background: {theme.OK}; }}"
        )

        add = QPushButton("Add monitor")
        add.clicked.connect(lambda: self._add_row(DeviceConfig(self._default_protocol(), "")))
        remove = QPushButton("Remove selected")
        remove.clicked.connect(self._remove_selected)
        self.probe_button = QPushButton("Probe port…")
        self.probe_button.setToolTip("Find the monitor type on the selected row's port by trying "
                                     "each protocol for a few seconds.")
        self.probe_button.clicked.connect(lambda: self.probe_row(self._current_row()))
        rescan = QPushButton("Rescan ports")
        rescan.clicked.connect(self._rescan)
        buttons_row = QHBoxLayout()
        for b in (add, remove, self.probe_button, rescan):
            buttons_row.addWidget(b)
        buttons_row.addStretch(1)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.others = QLabel("")
        self.others.setWordWrap(True)
        self.others.setStyleSheet(f"color: {theme.TEXT_DIM};")

        self.pref_box = QGroupBox("When two monitors send the same value, show:")
        self.pref_form = QFormLayout(self.pref_box)
        self.pref_combos: dict[int, QComboBox] = {}
        self._preferred = dict(preferred or {})
        self.pref_empty = QLabel("No value comes from two monitors at the moment. Both are "
                                 "always recorded, each with its source.")
        self.pref_empty.setStyleSheet(f"color: {theme.TEXT_DIM};")
        self.pref_form.addRow(self.pref_empty)

        ok_cancel = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        ok_cancel.accepted.connect(self._accept)
        ok_cancel.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        hint = QLabel("One row per monitor. With none, Holdspace runs its built-in simulator "
                      "(clearly marked SIMULATED). Changes take effect when you press OK; "
                      "monitors you did not change keep recording without a gap.")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons_row)
        lay.addWidget(self.message)
        lay.addWidget(self.others)
        lay.addWidget(self.pref_box)
        lay.addWidget(ok_cancel)

        for d in devices:
            self._add_row(d)
        self.table.clearSelection()
        self.result_devices: list[DeviceConfig] = list(devices)
        self.result_preferred: dict[str, str] = dict(self._preferred)


        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # ----- rows -----
    def _default_protocol(self) -> str:
        return next((n for n in sorted(DRIVERS) if n != "sim"), "sim")

    def _add_row(self, d: DeviceConfig) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        proto = QComboBox()
        for name, drv in sorted(DRIVERS.items(), key=lambda kv: (kv[0] == "sim", kv[1].title)):
            proto.addItem(f"{drv.title} · {drv.settings.baudrate} baud", name)
            proto.setItemData(proto.count() - 1, f"{drv.settings.describe()}. {drv.notes}",
                              Qt.ItemDataRole.ToolTipRole)
        proto.addItem(LISTEN_TITLE, LISTEN)
        proto.setItemData(proto.count() - 1, LISTEN_TIP, Qt.ItemDataRole.ToolTipRole)
        listening = is_listen_url(d.port)
        if listening:
            proto.setCurrentIndex(proto.findData(LISTEN))
        else:
            self._select_protocol(proto, d.protocol)
        port = QComboBox()
        port.setEditable(True)
        port.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._fill_ports(port, "" if listening else d.port)
        try:
            spec = ListenSpec.parse(d.port) if listening else ListenSpec(DEFAULT_PORT)
        except ValueError:  # a hand-edited settings file: shown as the default to correct
            spec = ListenSpec(DEFAULT_PORT)
        listen = ListenEditor(spec)
        where = QWidget()
        where_lay = QVBoxLayout(where)
        where_lay.setContentsMargins(0, 0, 0, 0)
        where_lay.addStretch(1)
        where_lay.addWidget(port)
        where_lay.addWidget(listen)
        where_lay.addStretch(1)
        capture = QTableWidgetItem("")
        capture.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                         | Qt.ItemFlag.ItemIsSelectable)
        capture.setCheckState(Qt.CheckState.Checked if d.capture else Qt.CheckState.Unchecked)
        capture.setToolTip("Write the raw bytes from this monitor to a capture file beside the "
                           "database, for support.")
        self.table.setCellWidget(r, C_TYPE, proto)
        self.table.setCellWidget(r, C_PORT, where)
        self.table.setItem(r, C_CAPTURE, capture)
        for c in (C_STATE, C_LAST, C_OK, C_BAD):
            item = QTableWidgetItem("")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            self.table.setItem(r, c, item)
        row = _Row(proto, port, capture, listen)
        row.show_kind()
        proto.currentIndexChanged.connect(lambda _i, row=row: self._kind_changed(row))
        self.rows.append(row)
        self.table.selectRow(r)
        self._refresh_row(r)
        self.table.resizeRowToContents(r)

    def _kind_changed(self, row: _Row) -> None:
        row.show_kind()
        if row in self.rows:
            self.table.resizeRowToContents(self.rows.index(row))

    @staticmethod
    def _select_protocol(combo: QComboBox, protocol: str) -> None:
        """Choose `protocol` in a row's type list; one set to other port settings than its
        usual (`contec@19200-8O1`, found by Probe) gets its own entry saying so."""
        try:
            driver = get_driver(protocol)
        except UnknownProtocol:
            combo.setCurrentIndex(0)
            return
        name = device_name(driver)
        i = combo.findData(name)
        if i < 0:
            combo.addItem(f"{driver.title} · {driver.settings.describe()}", name)
            i = combo.count() - 1
            combo.setItemData(i, f"{driver.settings.describe()}. {driver.notes}",
                              Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(i)

    def _fill_ports(self, combo: QComboBox, current: str) -> None:
        combo.clear()
        for dev, desc in self._ports:
            combo.addItem(f"{dev} — {desc}" if desc else dev, dev)
            combo.setItemData(combo.count() - 1, desc or dev, Qt.ItemDataRole.ToolTipRole)
        i = combo.findData(current)
        if i >= 0:
            combo.setCurrentIndex(i)
        else:
            combo.setEditText(current)

    def _rescan(self) -> None:
        self._ports = port_choices()
        for row in self.rows:
            self._fill_ports(row.port, self._port_of(row))
        self.message.setText(f"{len(self._ports)} serial port(s) found." if self._ports else
                             "No serial port found — plug in the USB adapter, then Rescan.")

    def _remove_selected(self) -> None:
        r = self._current_row()
        if r < 0:
            return
        self.table.removeRow(r)
        del self.rows[r]

    def _current_row(self) -> int:
        r = self.table.currentRow()
        if r < 0 and len(self.rows) == 1:
            return 0
        return r

    @staticmethod
    def _port_of(row: _Row) -> str:
        text = row.port.currentText().strip()
        i = row.port.currentIndex()
        if i >= 0 and text == row.port.itemText(i).strip():
            return str(row.port.itemData(i))
        return text

    def row_config(self, r: int) -> DeviceConfig:
        row = self.rows[r]
        capture = row.capture.checkState() == Qt.CheckState.Checked
        if row.listening:
            return DeviceConfig("hl7", row.listen.url, capture)
        return DeviceConfig(str(row.proto.currentData()), self._port_of(row), capture)

    def set_row(self, r: int, protocol: str | None = None, port: str | None = None,
                bed: str | None = None) -> None:
        """Change a row as a person would (used by probe results and tests). `protocol`
        LISTEN with `port` a TCP port number and `bed` makes it a gateway row."""
        row = self.rows[r]
        if protocol is not None:
            if protocol == LISTEN:
                row.proto.setCurrentIndex(row.proto.findData(LISTEN))
            else:
                self._select_protocol(row.proto, protocol)
        if row.listening:
            if port is not None:
                row.listen.tcp.setValue(int(port))
            if bed is not None:
                row.listen.bed.setEditText(bed)
            return
        if port is not None:
            i = row.port.findData(port)
            if i >= 0:
                row.port.setCurrentIndex(i)
            else:
                row.port.setEditText(port)

    # ----- live status -----
    def _link_for(self, r: int) -> Link | None:
        if self.hub is None:
            return None
        return self.hub.links.get(source_for(self.row_config(r)))

    def _listener_on(self, tcp_port: int) -> Hl7Listener | None:
        """The running gateway listener on this TCP port, whichever bed it was told."""
        if self.hub is None:
            return None
        for link in self.hub.links.values():
            if isinstance(link, Hl7Listener) and link.spec.port == tcp_port:
                return link
        return None

    def beds_heard(self, r: int) -> list[str]:
        row = self.rows[r]
        return [row.listen.bed.itemText(i) for i in range(row.listen.bed.count())]

    def refresh(self) -> None:
        for row in self.rows:
            if row.listening:
                listener = self._listener_on(row.listen.tcp.value())
                if listener is not None:
                    row.listen.show_beds(listener.beds_heard())
        for r in range(len(self.rows)):
            self._refresh_row(r)
        self._refresh_others()
        self._refresh_preferred()

    def _refresh_row(self, r: int) -> None:
        link = self._link_for(r)
        items = {c: self.table.item(r, c) for c in (C_STATE, C_LAST, C_OK, C_BAD)}
        if any(i is None for i in items.values()):
            return
        if link is None:
            paused = self._paused is not None and self._paused == self.row_config(r)
            text = ("Paused while the port is probed." if paused
                    else "Not connected yet — press OK to connect.")
            self._set_item(items[C_STATE], text, theme.TEXT_DIM)
            for c in (C_LAST, C_OK, C_BAD):
                self._set_item(items[c], "—", theme.TEXT_DIM)
            return
        st = link.status
        stats = link.decoder.stats  # live counters; plain ints read across threads
        colour = STATE_COLOURS.get(st.state, theme.TEXT_DIM)
        # The port is in the next column; say "this port" so the advice fits in the cell.
        msg = st.message.replace(f"Port {link.url} ", "Port ").replace(link.url, "this port")
        msg = msg.replace("bed in Devices ▸ Monitors", "bed in the Bed box")  # we are there
        text = f"● {st.state}" if st.state == LinkState.LIVE else f"● {st.state} — {msg}"
        self._set_item(items[C_STATE], text, colour, tooltip=st.message)
        self._set_item(items[C_LAST], ago(stats.last_frame_t, self.now()), theme.TEXT)
        self._set_item(items[C_OK], f"{stats.frames_ok}", theme.TEXT)
        self._set_item(items[C_BAD], f"{stats.frames_rejected}",
                       theme.ALARM_MEDIUM if stats.frames_rejected else theme.TEXT)

    @staticmethod
    def _set_item(item: QTableWidgetItem | None, text: str, colour: str,
                  tooltip: str | None = None) -> None:
        if item is None:
            return
        if item.text() != text:
            item.setText(text)
            item.tableWidget().resizeRowToContents(item.row())
        item.setForeground(QBrush(QColor(colour)))
        item.setToolTip(tooltip or text)

    def status_text(self, r: int) -> str:
        item = self.table.item(r, C_STATE)
        return item.text() if item else ""

    def _refresh_others(self) -> None:
        """Links running now that are not in the list (the built-in simulator)."""
        if self.hub is None:
            return
        mine = {source_for(self.row_config(r)) for r in range(len(self.rows))}
        parts = []
        for source, link in sorted(self.hub.links.items()):
            if source in mine:
                continue
            st = link.status
            parts.append(f"{self.source_name(source)}: {st.state}, "
                         f"{link.decoder.stats.frames_ok} frames decoded")
        text = ("Also running now (stops when a monitor is added): " + "; ".join(parts)
                if parts else "")
        if self.others.text() != text:
            self.others.setText(text)

    # ----- which source is shown -----
    def source_name(self, source: str) -> str:
        if source == "SIMULATOR":
            return "Built-in simulator"
        link = self.hub.links.get(source) if self.hub is not None else None
        if link is not None:
            return f"{link.driver.title} on {link.url}"
        return source

    def _refresh_preferred(self) -> None:
        shared: dict[int, list[str]] = self.hub.shared_codes() if self.hub is not None else {}
        for k, v in self._preferred.items():
            try:
                code = int(k)
            except ValueError:
                continue
            shared.setdefault(code, [])
            if v not in shared[code]:
                shared[code].append(v)
        for code, sources in sorted(shared.items()):
            combo = self.pref_combos.get(code)
            if combo is None:
                combo = QComboBox()
                combo.addItem("Whichever was heard first", AUTO)
                self.pref_combos[code] = combo
                self.pref_empty.hide()
                self.pref_form.addRow(f"{mdc.label(code)}:", combo)
            for s in sources:
                if combo.findData(s) < 0:
                    combo.addItem(self.source_name(s), s)
            want = self._preferred.get(str(code), AUTO)
            if combo.property("initialised") is None:
                combo.setCurrentIndex(max(0, combo.findData(want)))
                combo.setProperty("initialised", True)

    def choose_shown(self, code: int, source: str) -> None:
        """Pick the shown source for `code` as a person would (tests, keyboard users)."""
        self._refresh_preferred()
        combo = self.pref_combos[code]
        combo.setCurrentIndex(combo.findData(source))

    # ----- probe -----
    def probe_row(self, r: int) -> None:
        if r < 0 or r >= len(self.rows):
            self.message.setText("Select a monitor row first, then Probe.")
            return
        if self._probe_thread is not None and self._probe_thread.is_alive():
            self.message.setText("A probe is already running — wait a few seconds.")
            return
        d = self.row_config(r)
        if self.rows[r].listening:
            self.message.setText("A gateway connects to Holdspace by itself: nothing to probe. "
                                 "Choose this room's bed from the beds heard.")
            return
        if not d.port:
            self.message.setText(f"Row {r + 1}: choose the port first.")
            return
        busy = self._our_link_on(d.port)
        if busy is not None:
            if self.reconnect is None or self.hub is None:
                self.message.setText(f"{d.port} is in use by Holdspace itself — remove that "
                                     "monitor and press OK first, then probe.")
                return
            self._paused = busy
            self.hub.remove_device(source_for(busy), reason="paused while its port is probed")
        self.probe_button.setEnabled(False)
        self._set_message(f"Probing {d.port}…", theme.TEXT)
        self._probe_cancel.clear()
        sig = self._signals
        listen = self.probe_listen

        def work() -> None:
            rep = probe(d.port, listen=listen, cancel=self._probe_cancel,
                        progress=lambda drv: sig.progress.emit(r, f"Probing {d.port}: trying "
                                                                   f"{drv.title}…"))
            sig.done.emit(r, rep)

        self._probe_thread = threading.Thread(target=work, name="probe", daemon=True)
        self._probe_thread.start()

    def _our_link_on(self, port: str) -> DeviceConfig | None:
        if self.hub is None:
            return None
        for link in self.hub.links.values():
            if link.url == port:
                return DeviceConfig(device_name(link.driver), link.url, link.capture is not None)
        return None

    def _probe_progress(self, r: int, text: str) -> None:
        self._set_message(text, theme.TEXT)

    def _probe_done(self, r: int, rep: ProbeReport) -> None:
        self.probe_button.setEnabled(True)
        self.last_probe = rep
        best = rep.best
        if best is not None and 0 <= r < len(self.rows):
            self.set_row(r, protocol=best.device)
            self._set_message(rep.summary() + " The monitor type is set; press OK to use it.",
                              theme.OK)
        else:
            self._set_message(rep.summary(), theme.ALARM_MEDIUM)
        self._resume_paused()

    def _resume_paused(self) -> None:
        if self._paused is not None and self.reconnect is not None:
            self.reconnect(self._paused)
        self._paused = None

    def probe_running(self) -> bool:
        return self._probe_thread is not None and self._probe_thread.is_alive()

    def _set_message(self, text: str, colour: str) -> None:
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    # ----- closing -----
    def _stop_probe(self) -> None:
        self._probe_cancel.set()
        if self._probe_thread is not None:
            self._probe_thread.join(5)
        self._resume_paused()

    def done(self, result: int) -> None:  # accept and reject both end here
        self.timer.stop()
        self._stop_probe()
        super().done(result)

    def _accept(self) -> None:
        out: list[DeviceConfig] = []
        seen: dict[str, int] = {}
        for r in range(len(self.rows)):
            d = self.row_config(r)
            if self.rows[r].listening:
                key = f"TCP port {self.rows[r].listen.tcp.value()}"
                if key in seen:
                    self._set_message(f"Rows {seen[key] + 1} and {r + 1} listen on the same "
                                      f"{key}; one port takes every gateway, give one row per "
                                      "port.", theme.ALARM_MEDIUM)
                    return
                seen[key] = r
                out.append(d)
                continue
            if not d.port:
                self._set_message(f"Row {r + 1}: choose or type the port (e.g. /dev/ttyUSB0 or "
                                  "COM3).", theme.ALARM_MEDIUM)
                return
            if d.port in seen:
                self._set_message(f"Rows {seen[d.port] + 1} and {r + 1} use the same port "
                                  f"{d.port}; one port carries one monitor.", theme.ALARM_MEDIUM)
                return
            seen[d.port] = r
            out.append(d)
        self.result_devices = out
        prefs: dict[str, str] = {}
        for code, combo in self.pref_combos.items():
            src = str(combo.currentData() or AUTO)
            if src != AUTO:
                prefs[str(code)] = src
        self.result_preferred = prefs
        self.accept()
