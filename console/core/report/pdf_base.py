"""The page every Holdspace PDF shares: fonts, the header and footer, tables, headings.

fpdf2 draws the pages (pure Python, tables that repeat their header row, "page x of y" through
its `{nb}` alias). Text is set in DejaVu Sans, a Unicode TTF (fonts-dejavu-core on Debian and
Ubuntu, installed by scripts/setup.sh), so names, arrows and dashes print as written. Where no
DejaVu is found (`HOLDSPACE_PDF_FONT_DIR` names another folder holding DejaVuSans*.ttf), the
PDF falls back to the built-in Helvetica and every character it cannot show is replaced by a
plain one (“ → ", – → -, ⚠ → !, → → ->, unknown → ?), so a report is never refused for a font.
"""

from __future__ import annotations

import os
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace

from console import __version__

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/local/share/fonts/dejavu"), Path("/Library/Fonts"),
             Path("C:/Windows/Fonts"))
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
              "BI": "DejaVuSans-BoldOblique.ttf"}
PLAIN = {"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "...", "→": "->",
         "⚠": "!", "▼": "v", "▲": "^", "┆": "|", "×": "x", "≥": ">=", "≤": "<=", "·": "-", "•": "*", "✎": "",
         "°": " deg", "\u00a0": " "}

INK = (30, 34, 40)
DIM = (95, 102, 112)
RULE = (185, 190, 198)
SHADE = (238, 240, 243)
ALERT = (165, 28, 28)
OK = (25, 110, 60)
WARN = (150, 90, 0)


def font_dir() -> Path | None:
    """The folder with the DejaVu Sans TTFs, or None (then Helvetica is used)."""
    own = os.environ.get("HOLDSPACE_PDF_FONT_DIR")
    for d in ([Path(own)] if own else []) + list(FONT_DIRS):
        if all((d / f).is_file() for f in FONT_FILES.values()):
            return d
    return None


@dataclass(frozen=True, slots=True)
class PageInfo:
    """What every page says about whose record this is and which version of it."""

    clinic: str
    title: str  # "Session report", "REMS Patient Monitoring Form"
    patient: str
    identifier: str
    birth_date: str
    session_date: str
    generated: float
    signed: str  # "SIGNED by Dr Lee (physician) 2027-01-15 14:02" or "NOT SIGNED"
    is_signed: bool
    record_hash: str  # full SHA-256 hex
    altered: str = ""  # "Record altered outside Holdspace after <time>" (hash chain), or ""


def when(t: float | None, seconds: bool = False) -> str:
    if t is None:
        return "—"
    return time.strftime("%H:%M:%S" if seconds else "%H:%M", time.localtime(t))


def date_time(t: float | None) -> str:
    if t is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def day(t: float | None) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(t)) if t is not None else "—"


class ClinicalPDF(FPDF):
    """A4 portrait with the clinic's header and the record's footer on every page."""

    def __init__(self, info: PageInfo) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.page_info = info
        self.has_unicode = False
        self.set_margins(14, 30, 14)
        self.set_auto_page_break(True, margin=20)
        self.set_title(f"{info.title} — {info.patient}" if info.patient else info.title)
        self.set_author(info.clinic)
        self.set_creator("Holdspace")
        d = font_dir()
        if d is not None:
            for style, name in FONT_FILES.items():
                self.add_font("DejaVu", style, str(d / name))
            self.face = "DejaVu"
            self.has_unicode = True
        else:
            self.face = "Helvetica"
        self.set_font(self.face, "", 9)
        self.alias_nb_pages()

    # ----- text that the font can show -----
    def tx(self, text: object) -> str:
        s = "" if text is None else str(text)
        if self.has_unicode:
            return s
        out = []
        for ch in s:
            if ord(ch) < 256:
                out.append(ch)
            elif ch in PLAIN:
                out.append(PLAIN[ch])
            else:
                base = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore").decode(
                    "latin-1")
                out.append(base or "?")
        return "".join(out)

    def use_font(self, style: str = "", size: float = 9, color: tuple[int, int, int] = INK) -> None:
        self.set_font(self.face, style, size)
        self.set_text_color(*color)

    # ----- every page -----
    def header(self) -> None:
        i = self.page_info
        self.set_y(9)
        self.use_font("B", 11)
        self.cell(0, 5, self.tx(i.clinic), new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.use_font("", 9, DIM)
        self.cell(0, 5, self.tx(i.title), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.use_font("B", 10)
        who = f"{i.patient}   ·   ID {i.identifier or '—'}   ·   born {i.birth_date or '—'}"
        self.cell(0, 5.5, self.tx(who), new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.use_font("", 9)
        self.cell(0, 5.5, self.tx(f"Session of {i.session_date}"), align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.use_font("B" if not i.is_signed else "", 8.5, OK if i.is_signed else ALERT)
        self.cell(0, 4.5, self.tx(i.signed), new_x=XPos.LMARGIN,
                  new_y=YPos.TOP if i.altered else YPos.NEXT)
        if i.altered:  # on every page: a page alone must not pass for an unaltered record
            self.use_font("B", 8.5, ALERT)
            self.cell(0, 4.5, self.tx(i.altered.upper()), align="R", new_x=XPos.LMARGIN,
                      new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(self.l_margin, 27, self.w - self.r_margin, 27)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        i = self.page_info
        self.set_y(-15)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_y(-13.5)
        self.use_font("", 7.5, DIM)
        left = (f"{i.patient} · ID {i.identifier or '—'} · born {i.birth_date or '—'} · "
                f"session {i.session_date} · generated {date_time(i.generated)}")
        self.cell(0, 4, self.tx(left), new_x=XPos.LMARGIN, new_y=YPos.TOP)
        self.use_font("B", 8, INK)
        self.cell(0, 4, self.tx(f"page {self.page_no()} of {{nb}}"), align="R",
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.use_font("", 7.5, DIM)
        state = "signed" if i.is_signed else "NOT SIGNED"
        self.cell(0, 4, self.tx(f"{state} · record SHA-256 {i.record_hash} · Holdspace {__version__}"),
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # ----- building blocks -----
    def heading(self, text: str, note: str = "") -> None:
        if self.get_y() > self.h - 60:
            self.add_page()
        self.ln(3)
        self.use_font("B", 12)
        self.multi_cell(0, 6.5, self.tx(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if note:
            self.use_font("", 8, DIM)
            self.multi_cell(0, 4, self.tx(note), align="L", new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y() + 0.5, self.w - self.r_margin, self.get_y() + 0.5)
        self.ln(2)

    def para(self, text: str, style: str = "", size: float = 9,
             color: tuple[int, int, int] = INK, h: float = 4.6) -> None:
        self.use_font(style, size, color)
        self.multi_cell(0, h, self.tx(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def pairs(self, rows: Sequence[tuple[str, str]], label_w: float = 48) -> None:
        """Label and value, one per line, values wrapping in their own column; a pair is
        never split across pages."""
        for label, value in rows:
            self.use_font("", 9.5)
            need = self.multi_cell(self.epw - label_w, 4.8, self.tx(value), dry_run=True,
                                   output="HEIGHT")
            assert isinstance(need, float | int)
            if self.get_y() + float(need) > self.page_break_trigger:
                self.add_page()
            y = self.get_y()
            self.use_font("", 9, DIM)
            self.multi_cell(label_w, 4.8, self.tx(label), align="L", new_x=XPos.RIGHT,
                            new_y=YPos.TOP)
            self.use_font("", 9.5)
            self.multi_cell(0, 4.8, self.tx(value), align="L", new_x=XPos.LMARGIN,
                            new_y=YPos.NEXT)
            self.set_y(max(self.get_y(), y + 4.8))

    def grid(self, head: Sequence[str], rows: Sequence[Sequence[object]],
             widths: Sequence[float],
             styles: Sequence[FontFace | Sequence[FontFace | None] | None] | None = None,
             size: float = 8.5) -> None:
        """A table whose header row repeats on every page it runs onto; a row style can
        strike an entry through (entered in error) or colour it."""
        self.use_font("", size)
        self.set_draw_color(*RULE)
        self.set_fill_color(255, 255, 255)
        self.set_line_width(0.15)
        with self.table(col_widths=tuple(widths), width=self.epw, text_align="LEFT",
                        v_align="TOP",
                        line_height=4.4, padding=(0.9, 1.2),
                        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
                        headings_style=FontFace(emphasis="B", color=DIM, fill_color=SHADE),
                        repeat_headings=1, first_row_as_headings=True) as table:
            r = table.row()
            for h in head:
                r.cell(self.tx(h))
            for i, row in enumerate(rows):
                style = styles[i] if styles is not None and i < len(styles) else None
                r = table.row()
                for j, v in enumerate(row):
                    cell_style = style[j] if isinstance(style, list | tuple) else style
                    r.cell(self.tx(v), style=cell_style if isinstance(cell_style, FontFace)
                           else None)
        self.ln(1.5)

    def quiet(self, text: str) -> None:
        self.para(text, "I", 9, DIM)


STRUCK = FontFace(emphasis="S", color=DIM)
ALERT_ROW = FontFace(color=ALERT)
WARN_ROW = FontFace(color=WARN)
