"""The whole-session vitals chart, drawn as vectors with fpdf2's line drawing.

Three panels share one time axis: HR and pulse rate, SpO2, and NIBP (each cuff reading a bar
from diastolic to systolic with its mean as a dot). Markers cross all panels: doses (solid,
labelled in mg), alarms (red, with their priority) and music phases (dashed, named below).
An 8-hour session has ~30 000 values per parameter; each line is reduced to the lowest and the
highest value per 0.25 mm column (so a one-minute desaturation still shows at its true depth)
and broken wherever the monitor sent nothing, so a gap in the record stays a gap on paper.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from console.core.report import model as m
from console.core.report.pdf_base import DIM, INK, RULE, ClinicalPDF

HR_COLOUR = (25, 120, 70)
SPO2_COLOUR = (25, 85, 165)
BP_COLOUR = (160, 40, 40)
DOSE_COLOUR = (30, 34, 40)
ALARM_COLOUR = (200, 30, 30)
PHASE_COLOUR = (120, 90, 160)
COLUMN_MM = 0.25
MIN_GAP_S = 60.0


def segments(t: np.ndarray, v: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The series cut where no value came for a while (a gap stays a gap)."""
    if t.size == 0:
        return []
    if t.size == 1:
        return [(t, v)]
    dt = np.diff(t)
    gap = max(MIN_GAP_S, 5.0 * float(np.median(dt)))
    cuts = np.nonzero(dt > gap)[0] + 1
    return list(zip(np.split(t, cuts), np.split(v, cuts), strict=True))


def envelope(t: np.ndarray, v: np.ndarray, t0: float, t1: float,
             columns: int) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest value per column, in the order they happened (min/max decimation)."""
    if t.size <= 2 * columns:
        return t, v
    span = max(t1 - t0, 1e-9)
    col = np.clip(((t - t0) / span * columns).astype(np.int64), 0, columns - 1)
    starts = np.flatnonzero(np.r_[True, col[1:] != col[:-1]])
    lo = np.minimum.reduceat(v, starts)
    hi = np.maximum.reduceat(v, starts)
    ends = np.r_[starts[1:], t.size] - 1
    rising = v[ends] >= v[starts]
    first = np.where(rising, lo, hi)
    second = np.where(rising, hi, lo)
    tt = np.repeat((t[starts] + t[ends]) / 2.0, 2)
    vv = np.empty(tt.size)
    vv[0::2], vv[1::2] = first, second
    return tt, vv


def _nice_step(span_s: float) -> float:
    for step in (300, 600, 900, 1800, 3600, 7200, 10800):
        if span_s / step <= 10:
            return float(step)
    return 21600.0


class Panel:
    def __init__(self, pdf: ClinicalPDF, x: float, y: float, w: float, h: float, t0: float,
                 t1: float, lo: float, hi: float) -> None:
        self.pdf, self.x, self.y, self.w, self.h = pdf, x, y, w, h
        self.t0, self.t1, self.lo, self.hi = t0, t1, lo, hi

    def px(self, t: float) -> float:
        return self.x + (t - self.t0) / max(self.t1 - self.t0, 1e-9) * self.w

    def py(self, v: float) -> float:
        v = min(max(v, self.lo), self.hi)
        return self.y + self.h - (v - self.lo) / (self.hi - self.lo) * self.h

    def frame(self, title: str, ticks: Sequence[float], colour: tuple[int, int, int]) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.1)
        for v in ticks:
            y = self.py(v)
            pdf.set_dash_pattern(0.6, 0.8)
            pdf.line(self.x, y, self.x + self.w, y)
            pdf.set_dash_pattern()
            pdf.use_font("", 6.5, DIM)
            pdf.text(self.x - 7.5, y + 1.0, f"{v:g}")
        pdf.set_line_width(0.2)
        pdf.rect(self.x, self.y, self.w, self.h)
        pdf.use_font("B", 7, colour)
        pdf.text(self.x + 1.2, self.y + 3.0, pdf.tx(title))

    def line(self, s: m.Series, colour: tuple[int, int, int], width: float = 0.3,
             dash: bool = False) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*colour)
        pdf.set_line_width(width)
        if dash:
            pdf.set_dash_pattern(1.0, 0.7)
        columns = max(1, int(self.w / COLUMN_MM))
        for t, v in segments(s.t, s.v):
            tt, vv = envelope(t, v, self.t0, self.t1, columns)
            pts = [(self.px(a), self.py(b)) for a, b in zip(tt.tolist(), vv.tolist(), strict=True)]
            if len(pts) == 1:
                x, y = pts[0]
                pdf.line(x - 0.3, y, x + 0.3, y)
            else:
                pdf.polyline(pts)
        pdf.set_dash_pattern()


def draw_chart(pdf: ClinicalPDF, r: m.SessionReport, height: float = 112.0) -> None:
    """The chart at the current position, full width; moves below it."""
    v = r.vitals
    t0 = r.started
    t1 = max(r.end, t0 + 60.0)
    x = pdf.l_margin + 9.0
    w = pdf.epw - 9.0
    top = pdf.get_y()
    lane = 7.0  # dose and alarm labels above the panels
    gap = 2.5
    heights = (0.36, 0.24, 0.40)
    usable = height - lane - 2 * gap - 12.0  # 12: time axis and phase names below
    y = top + lane
    hr_all = [s for s in v.hr]
    hr_lo, hr_hi = _range(hr_all, 40, 140, 10)
    sp_lo, sp_hi = _range(v.spo2, 85, 100, 5)
    sp_hi = 100.0
    bp_lo, bp_hi = _range(v.sys + v.dia, 40, 180, 20)
    panels = []
    for (lo, hi), frac in zip(((hr_lo, hr_hi), (sp_lo, sp_hi), (bp_lo, bp_hi)), heights,
                              strict=True):
        p = Panel(pdf, x, y, w, usable * frac, t0, t1, lo, hi)
        panels.append(p)
        y += usable * frac + gap
    hr_p, sp_p, bp_p = panels
    hr_p.frame("HR / PR  /min", _ticks(hr_lo, hr_hi, 20), HR_COLOUR)
    sp_p.frame("SpO2  %", _ticks(sp_lo, sp_hi, 5), SPO2_COLOUR)
    bp_p.frame("NIBP  mmHg  (bar: dia–sys, dot: mean)", _ticks(bp_lo, bp_hi, 20), BP_COLOUR)
    for s in v.hr:
        hr_p.line(s, HR_COLOUR, 0.3 if s.label == "HR" else 0.2, dash=s.label != "HR")
    for s in v.spo2:
        sp_p.line(s, SPO2_COLOUR)
    _nibp(bp_p, v)
    bottom = bp_p.y + bp_p.h
    _markers(pdf, r, panels, top, bottom)
    _time_axis(pdf, bp_p, bottom)
    _legend(pdf, v, x, bottom + 8.5)
    pdf.set_y(bottom + 13.0)


def _range(series: Sequence[m.Series], lo: float, hi: float,
           step: float) -> tuple[float, float]:
    vals = [s.v for s in series if len(s)]
    if vals:
        allv = np.concatenate(vals)
        lo = min(lo, math.floor(float(allv.min()) / step) * step)
        hi = max(hi, math.ceil(float(allv.max()) / step) * step)
    return lo, hi


def _ticks(lo: float, hi: float, step: float) -> list[float]:
    n = int((hi - lo) / step)
    while n > 6:
        step *= 2
        n = int((hi - lo) / step)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(n + 1) if first + i * step <= hi]


def _nibp(p: Panel, v: m.Vitals) -> None:
    pdf = p.pdf
    dia = {(s.source, round(float(t), 1)): float(val) for s in v.dia
           for t, val in zip(s.t.tolist(), s.v.tolist(), strict=True)}
    mean = {(s.source, round(float(t), 1)): float(val) for s in v.mean
            for t, val in zip(s.t.tolist(), s.v.tolist(), strict=True)}
    pdf.set_draw_color(*BP_COLOUR)
    pdf.set_fill_color(*BP_COLOUR)
    for s in v.sys:
        for t, sys_v in zip(s.t.tolist(), s.v.tolist(), strict=True):
            key = (s.source, round(float(t), 1))
            x = p.px(t)
            top = p.py(sys_v)
            d = dia.get(key)
            pdf.set_line_width(0.45)
            if d is not None:
                pdf.line(x, top, x, p.py(d))
                pdf.line(x - 0.7, p.py(d), x + 0.7, p.py(d))
            pdf.line(x - 0.7, top, x + 0.7, top)
            mv = mean.get(key)
            if mv is not None:
                style = "D" if s.source == "manual" else "F"
                pdf.set_line_width(0.2)
                pdf.ellipse(x - 0.55, p.py(mv) - 0.55, 1.1, 1.1, style=style)


def _markers(pdf: ClinicalPDF, r: m.SessionReport, panels: list[Panel], top: float,
             bottom: float) -> None:
    first = panels[0]
    label_x_free = -1e9
    for mk in r.vitals.markers:
        x = first.px(mk.t)
        if mk.kind == "dose":
            pdf.set_draw_color(*DOSE_COLOUR)
            pdf.set_line_width(0.35)
            pdf.line(x, top + 5.2, x, bottom)
            label = f"▼ {mk.label}"
            pdf.use_font("B", 6.5, DOSE_COLOUR)
            lx = max(x - 1.0, label_x_free)
            pdf.text(lx, top + 2.6, pdf.tx(label))
            label_x_free = lx + pdf.get_string_width(pdf.tx(label)) + 1.0
        elif mk.kind == "alarm":
            pdf.set_draw_color(*ALARM_COLOUR)
            pdf.set_fill_color(*ALARM_COLOUR)
            pdf.set_line_width(0.2)
            pdf.line(x, top + 5.2, x, bottom)
            pdf.polygon([(x - 1.1, top + 3.4), (x + 1.1, top + 3.4), (x, top + 5.4)],
                        style="F")
        elif mk.kind == "phase":
            pdf.set_draw_color(*PHASE_COLOUR)
            pdf.set_line_width(0.2)
            pdf.set_dash_pattern(0.8, 0.8)
            pdf.line(x, top + 5.2, x, bottom + 7.0)
            pdf.set_dash_pattern()
            pdf.use_font("I", 6.5, PHASE_COLOUR)
            pdf.text(x + 0.6, bottom + 7.0, pdf.tx(mk.label))


def _time_axis(pdf: ClinicalPDF, p: Panel, bottom: float) -> None:
    span = p.t1 - p.t0
    step = _nice_step(span)
    lt = time.localtime(p.t0)
    offset = lt.tm_gmtoff if hasattr(lt, "tm_gmtoff") else 0
    first = math.ceil((p.t0 + offset) / step) * step - offset
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.2)
    pdf.use_font("", 6.5, DIM)
    t = first
    while t <= p.t1 + 1e-6:
        x = p.px(t)
        pdf.line(x, bottom, x, bottom + 1.2)
        label = time.strftime("%H:%M", time.localtime(t))
        pdf.text(x - pdf.get_string_width(label) / 2, bottom + 3.6, label)
        t += step


def _legend(pdf: ClinicalPDF, v: m.Vitals, x: float, y: float) -> None:
    pdf.use_font("", 6.5, DIM)
    src = ", ".join(v.sources) or "no monitor values recorded"
    text = ("▼ dose   ▲ alarm (red)   ┆ music phase   solid HR (ECG), dashed PR (oximeter); "
            f"hollow dot: NIBP typed by hand.  Sources: {src}")
    pdf.set_xy(x, y)
    pdf.multi_cell(0, 3, pdf.tx(text))
