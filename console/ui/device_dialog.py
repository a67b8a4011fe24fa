"""Choose the room's monitors: protocol and port for each, remembered per workstation."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)
from serial.tools import list_ports

from console.core.config import DeviceConfig
from console.ui import theme
from devices.drivers import DRIVERS


def port_choices() -> list[tuple[str, str]]:
    """(device path, description with USB vendor/product) for every serial port present."""
    out = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        desc = " · ".join(x for x in (p.description, p.manufacturer, p.product) if x and x != "n/a")
        out.append((p.device, desc or p.device))
    return out


class DeviceDialog(QDialog):
    def __init__(self, devices: list[DeviceConfig], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Monitors in this room")
        self.setMinimumWidth(760)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Monitor type", "Port"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 320)
        self.error = QLabel("")
        self.error.setStyleSheet(f"color: {theme.ALARM_MEDIUM};")
        add = QPushButton("Add monitor")
        add.clicked.connect(lambda: self._add_row(DeviceConfig("sim", "")))
        remove = QPushButton("Remove selected")
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("With no monitor configured, Holdspace runs its built-in simulator "
                             "(clearly marked SIMULATED)."))
        lay.addWidget(self.table)
        lay.addLayout(row)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        for d in devices:
            self._add_row(d)
        self.result_devices: list[DeviceConfig] = list(devices)

    def _add_row(self, d: DeviceConfig) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        proto = QComboBox()
        for name, drv in sorted(DRIVERS.items()):
            proto.addItem(f"{drv.title} — {drv.settings.describe()}", name)
        i = proto.findData(d.protocol)
        proto.setCurrentIndex(max(0, i))
        port = QComboBox()
        port.setEditable(True)
        for dev, desc in port_choices():
            port.addItem(f"{dev}", dev)
            port.setItemData(port.count() - 1, desc, 3)  # tooltip
        port.setEditText(d.port)
        self.table.setCellWidget(r, 0, proto)
        self.table.setCellWidget(r, 1, port)

    def _accept(self) -> None:
        out: list[DeviceConfig] = []
        for r in range(self.table.rowCount()):
            proto = self.table.cellWidget(r, 0)
            port = self.table.cellWidget(r, 1)
            assert isinstance(proto, QComboBox) and isinstance(port, QComboBox)
            p = port.currentText().strip()
            if not p:
                self.error.setText(f"Row {r + 1}: choose or type the port (e.g. /dev/ttyUSB0 or COM3).")
                return
            out.append(DeviceConfig(str(proto.currentData()), p))
        self.result_devices = out
        self.accept()
