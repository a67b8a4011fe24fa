"""Render assets/icon/holdspace.svg to the PNG sizes the desktop launchers use (hicolor 48,
128, 256). Run after editing the SVG: `python assets/make_icon.py` (needs PySide6)."""

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent / "icon"

if __name__ == "__main__":
    app = QGuiApplication([])
    svg = QSvgRenderer(str(HERE / "holdspace.svg"))
    for size in (48, 128, 256):
        img = QImage(size, size, QImage.Format.Format_ARGB32)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        svg.render(p)
        p.end()
        img.save(str(HERE / f"holdspace-{size}.png"))
