"""Protocol templates: every clinical number of a dosing day as data a clinic can edit.

KAP has no single standard protocol, so drug, dose range, boosters, check schedule, gate and
alarm limits live in TOML files: the ones shipped in `console/templates/` and the clinic's
own in `<data dir>/templates/` (a clinic file with the same name replaces the shipped one).
Each value can carry a `source` so the UI can say where a default came from. A file with a
typo is rejected with its file name, line and a reason a clinician can act on; the other
templates still load. Files pass the clinic-file guard first (size, bytes, line length,
nesting), and nothing in here raises anything but TemplateError, whatever the file holds.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.core import clinic_files
from console.core.clinic_files import NAME_MAX, FileProblem
from console.core.vitals_table import VITALS, check_kinds

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "templates"

# Derived from the one table (core/vitals_table.py): name in templates -> (MDC code, label, unit).
PARAMS: dict[str, tuple[int, str, str]] = {v.key: (v.code, v.label, v.unit) for v in VITALS}
# Every code that counts as the parameter: a heart rate may come from the ECG, the oximeter
# (an oximeter-only monitor) or a hand count; all of them feed the same alarm and gate.
PARAM_CODES: dict[str, tuple[int, ...]] = {v.key: v.codes for v in VITALS}
# What a check may ask for: a vital (from the table) or a score the notes record.
SCORED_CHECKS = ("sedation", "dissociation")
CHECK_KINDS = (*check_kinds(), *SCORED_CHECKS)
METHODS = ("bolus", "infusion", "tablets", "nasal_devices")
PRIORITIES = ("high", "medium", "low")
CHECKLIST_KINDS = ("confirm", "text", "hours")


class TemplateError(ValueError):
    """A template file that cannot be used, with where and why."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        where = f"{path.name}, line {line}" if line else path.name
        super().__init__(f"Protocol template {where}: {reason}")

    def problem(self) -> FileProblem:
        """For the "problems with clinic files" view: this template is not offered."""
        return FileProblem(self.path, self.line, self.reason,
                           "this template is not offered; the others are")


@dataclass(frozen=True, slots=True)
class Drug:
    name: str
    formulation: str
    route: str


@dataclass(frozen=True, slots=True)
class DoseRule:
    basis: str  # "mg" or "mg/kg": the unit of min/max/default
    min: float
    max: float
    default: float | None
    method: str  # bolus | infusion | tablets | nasal_devices
    infusion_minutes: float | None = None
    hold_minutes: float | None = None  # tablets held in the mouth
    unit_mg: float | None = None  # mg per tablet or per nasal device
    rest_minutes: float | None = None  # between nasal devices
    plausible_factor: float = 10.0  # above max x this is refused, not just questioned
    # The hard ceiling: above it a second named person must confirm the dose. It is
    # `ceiling_factor` x the maximum single dose, or `ceiling_mg_per_kg` if that is lower.
    ceiling_factor: float = 2.0
    ceiling_mg_per_kg: float | None = None
    ceiling_source: str = ""
    source: str = ""

    @property
    def per_kg(self) -> bool:
        return self.basis == "mg/kg"


@dataclass(frozen=True, slots=True)
class BoosterRule:
    max_count: int = 0
    earliest_minutes: float | None = None
    max_cumulative_mg: float | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class CheckRule:
    what: str  # one of CHECK_KINDS: a vital's check (bp, hr, temp...) or a score
    label: str
    at_minutes: tuple[float, ...] = ()
    every_minutes: float | None = None
    from_minutes: float = 0.0
    until_minutes: float | None = None  # None: until the end of minimum observation
    before_end_minutes: float | None = None
    grace_minutes: float = 5.0  # "due" for this long, then "overdue"
    early_minutes: float = 3.0  # a value this much before the due time still counts
    source: str = ""


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    id: str
    label: str
    kind: str = "confirm"  # confirm | text | hours
    min: float | None = None  # for hours: at least this many
    help: str = ""


@dataclass(frozen=True, slots=True)
class GateRule:
    sys_max: float | None = None
    dia_max: float | None = None
    hr_max: float | None = None
    spo2_min: float | None = None
    baseline_max_age_minutes: float = 30.0
    source: str = ""


@dataclass(frozen=True, slots=True)
class AlarmRule:
    id: str
    param: str  # a key of VITALS: hr | spo2 | sys | dia | rr | temp
    above: float | None
    below: float | None
    priority: str
    sustain_minutes: float = 0.0
    label: str = ""
    source: str = ""

    @property
    def code(self) -> int:
        return PARAMS[self.param][0]

    @property
    def codes(self) -> tuple[int, ...]:
        return PARAM_CODES[self.param]

    @property
    def limit(self) -> float:
        v = self.above if self.above is not None else self.below
        assert v is not None
        return v

    def describe(self) -> str:
        name, unit = PARAMS[self.param][1], PARAMS[self.param][2]
        op = ">" if self.above is not None else "<"
        text = f"{name} {op} {self.limit:g} {unit}"
        if self.sustain_minutes:
            text += f" for {sustain_text(self.sustain_minutes)}"
        return text


def sustain_text(minutes: float) -> str:
    """'15 s', '5 min', '1 min 30 s': how long a condition must hold, in words."""
    s = round(minutes * 60)
    if s < 60:
        return f"{s} s"
    m, rest = divmod(s, 60)
    return f"{m} min" + (f" {rest} s" if rest else "")


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    title: str
    path: Path
    origin: str  # "shipped" or "clinic"
    sha256: str
    drug: Drug
    dose: DoseRule
    boosters: BoosterRule
    observation_minutes: float
    observation_from: str  # "first_dose" or "last_dose"
    observation_source: str
    checks: tuple[CheckRule, ...]
    gate: GateRule
    checklist: tuple[ChecklistItem, ...]
    alarms: tuple[AlarmRule, ...]
    stale_seconds: float = 30.0
    technical_priority: str = "medium"
    # No HR/SpO2 this long with a technical alarm on: it escalates (to `technical_escalate_to`).
    technical_escalate_minutes: float = 2.0
    technical_escalate_to: str = "high"
    discharge: tuple[str, ...] = ()
    discharge_source: str = ""
    rems: bool = False
    unverified: bool = False
    summary: str = ""
    source: str = ""

    @property
    def provenance(self) -> str:
        """One line for the UI: which file these defaults came from."""
        flag = " — UNVERIFIED values, check before use" if self.unverified else ""
        return f"{self.title} ({self.origin} template {self.path.name}){flag}"


@dataclass
class Catalog:
    templates: dict[str, Template] = field(default_factory=dict)
    errors: list[TemplateError] = field(default_factory=list)

    def choices(self) -> list[tuple[str, str]]:
        return sorted(((t.id, t.title) for t in self.templates.values()), key=lambda c: c[1])

    def get(self, template_id: str | None) -> Template | None:
        return self.templates.get(template_id) if template_id else None


# ---------------------------------------------------------------- locating lines in the file
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


class _Lines:
    """Where each table and key sits in the text, so errors can name a line."""

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        cur: tuple[str, int] = ("", 0)
        for n, line in enumerate(text.splitlines(), start=1):
            m = _HEADER.match(line)
            if m:
                name = m.group(2)
                idx = counts.get(name, 0)
                counts[name] = idx + 1 if m.group(1) == "[[" else idx
                cur = (name, idx)
                self.tables.setdefault(cur, n)
                continue
            k = _KEY.match(line)
            if k:
                self.keys.setdefault((cur[0], cur[1], k.group(1)), n)

    def of(self, table: str, idx: int = 0, key: str | None = None) -> int | None:
        if key is not None and (table, idx, key) in self.keys:
            return self.keys[(table, idx, key)]
        if key is not None:  # the key may be a table of its own: [observaton]
            sub = self.tables.get((f"{table}.{key}" if table else key, 0))
            if sub is not None:
                return sub
        return self.tables.get((table, idx))


class _Reader:
    """Typed access to one table with precise complaints (unknown keys catch typos)."""

    def __init__(self, path: Path, lines: _Lines, data: Any, table: str, idx: int = 0) -> None:
        self.path, self.lines, self.table, self.idx = path, lines, table, idx
        name = f"[{table}]" if table else "the top level"
        if not isinstance(data, dict):
            raise TemplateError(path, lines.of(table, idx), f"{name} must be a table")
        self.data: dict[str, Any] = data
        self.used: set[str] = set()
        self.name = name

    def fail(self, key: str | None, reason: str) -> TemplateError:
        return TemplateError(self.path, self.lines.of(self.table, self.idx, key), reason)

    def _get(self, key: str, required: bool) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                near = difflib.get_close_matches(key, list(self.data), n=1, cutoff=0.7)
                if near:
                    raise self.fail(near[0], f"unknown setting `{near[0]}` in {self.name} — "
                                             f"did you mean `{key}`?")
                raise self.fail(None, f"{self.name} needs `{key}`")
            return None
        return self.data[key]

    def text(self, key: str, required: bool = False, default: str = "",
             longest: int | None = NAME_MAX) -> str:
        """Text; names, ids and labels (`longest`) are refused when absurdly long."""
        v = self._get(key, required)
        if v is None:
            return default
        if not isinstance(v, str) or (required and not v.strip()):
            raise self.fail(key, f"`{key}` in {self.name} must be text in quotes")
        if longest is not None and len(v) > longest:
            raise self.fail(key, f"`{key}` in {self.name} is {len(v)} characters long; "
                                 f"keep it under {longest}")
        return v

    def num(self, key: str, required: bool = False, default: float | None = None,
            minimum: float | None = 0.0) -> float | None:
        v = self._get(key, required)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise self.fail(key, f"`{key}` in {self.name} must be a number, not "
                                 f"{clinic_files.shorten(repr(v), 40)}")
        if minimum is not None and v < minimum:
            raise self.fail(key, f"`{key}` in {self.name} must be at least {minimum:g}")
        return float(v)

    def flag(self, key: str, default: bool = False) -> bool:
        v = self._get(key, False)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.fail(key, f"`{key}` in {self.name} must be true or false")
        return v

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        v = self._get(key, default is None)
        if v is None:
            assert default is not None
            return default
        if v not in options:
            raise self.fail(key, f"`{key}` in {self.name} is "
                                 f"{clinic_files.shorten(repr(v), 40)}; use one of: "
                                 + ", ".join(options))
        return str(v)

    def nums(self, key: str) -> tuple[float, ...]:
        v = self._get(key, False)
        if v is None:
            return ()
        if isinstance(v, int | float) and not isinstance(v, bool):
            v = [v]
        if not isinstance(v, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
            and x >= 0 for x in v
        ):
            raise self.fail(key, f"`{key}` in {self.name} must be a list of minutes, e.g. [40]")
        return tuple(float(x) for x in v)

    def texts(self, key: str) -> tuple[str, ...]:
        v = self._get(key, False)
        if v is None:
            return ()
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.fail(key, f"`{key}` in {self.name} must be a list of texts")
        return tuple(v)

    def sub(self, key: str, required: bool = False) -> _Reader | None:
        v = self._get(key, required)
        if v is None:
            return None
        return _Reader(self.path, self.lines, v, key if not self.table else f"{self.table}.{key}")

    def subs(self, key: str) -> list[_Reader]:
        v = self._get(key, False)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.fail(key, f"`{key}` must be written as [[{key}]] tables")
        return [_Reader(self.path, self.lines, x, key, i) for i, x in enumerate(v)]

    def done(self) -> None:
        """Refuse keys nobody asked for: almost always a typo that would silently do nothing."""
        for key in self.data:
            if key not in self.used:
                known = ", ".join(sorted(self.used))
                raise self.fail(key, f"unknown setting `{clinic_files.shorten(key, 40)}` in "
                                     f"{self.name} (a typo?). "
                                     f"Known here: {known}")


# ---------------------------------------------------------------- parsing
def parse_template(path: Path, text: str, origin: str = "shipped") -> Template:
    """Build a Template from TOML text, or raise TemplateError naming the line."""
    try:
        clinic_files.check_lines(text, path)
        data = clinic_files.parse_toml(text, path)
    except clinic_files.UnreadableFile as e:
        raise TemplateError(path, e.line, e.reason) from e
    lines = _Lines(text)
    top = _Reader(path, lines, data, "")
    title = top.text("title", required=True)
    template_id = top.text("id", default=path.stem)
    unverified = top.flag("unverified")
    summary = top.text("summary", longest=None)
    source = top.text("source", longest=None)
    rems = top.flag("rems")

    d = top.sub("drug", required=True)
    assert d is not None
    drug = Drug(d.text("name", True), d.text("formulation", True), d.text("route", True))
    d.done()

    r = top.sub("dose", required=True)
    assert r is not None
    dose = DoseRule(
        basis=r.choice("basis", ("mg", "mg/kg")),
        min=r.num("min", True) or 0.0,
        max=r.num("max", True) or 0.0,
        default=r.num("default"),
        method=r.choice("method", METHODS),
        infusion_minutes=r.num("infusion_minutes"),
        hold_minutes=r.num("hold_minutes"),
        unit_mg=r.num("unit_mg"),
        rest_minutes=r.num("rest_minutes"),
        plausible_factor=r.num("plausible_factor", default=10.0) or 10.0,
        ceiling_factor=r.num("ceiling_factor", default=2.0, minimum=1.0) or 2.0,
        ceiling_mg_per_kg=r.num("ceiling_mg_per_kg"),
        ceiling_source=r.text("ceiling_source", longest=None),
        source=r.text("source", longest=None),
    )
    if dose.max <= 0 or dose.min > dose.max:
        raise r.fail("max", "the dose range needs 0 < min <= max")
    if dose.ceiling_mg_per_kg is not None and dose.ceiling_mg_per_kg <= 0:
        raise r.fail("ceiling_mg_per_kg", "`ceiling_mg_per_kg` must be more than 0")
    if dose.method == "infusion" and not dose.infusion_minutes:
        raise r.fail("method", "an infusion template needs `infusion_minutes`")
    r.done()

    b = top.sub("boosters")
    boosters = BoosterRule()
    if b is not None:
        boosters = BoosterRule(
            max_count=int(b.num("max_count", default=0) or 0),
            earliest_minutes=b.num("earliest_minutes"),
            max_cumulative_mg=b.num("max_cumulative_mg"),
            source=b.text("source", longest=None),
        )
        b.done()

    o = top.sub("observation", required=True)
    assert o is not None
    obs_minutes = o.num("minimum_minutes", True) or 0.0
    obs_from = o.choice("from", ("first_dose", "last_dose"), "last_dose")
    obs_source = o.text("source", longest=None)
    o.done()

    checks: list[CheckRule] = []
    for c in top.subs("checks"):
        rule = CheckRule(
            what=c.choice("what", CHECK_KINDS),
            label=c.text("label", True),
            at_minutes=c.nums("at_minutes"),
            every_minutes=c.num("every_minutes"),
            from_minutes=c.num("from_minutes", default=0.0) or 0.0,
            until_minutes=c.num("until_minutes"),
            before_end_minutes=c.num("before_end_minutes"),
            grace_minutes=c.num("grace_minutes", default=5.0) or 0.0,
            early_minutes=c.num("early_minutes", default=3.0) or 0.0,
            source=c.text("source", longest=None),
        )
        if not (rule.at_minutes or rule.every_minutes or rule.before_end_minutes is not None):
            raise c.fail(None, "a check needs `at_minutes`, `every_minutes` or "
                               "`before_end_minutes`")
        if rule.every_minutes is not None and rule.every_minutes <= 0:
            raise c.fail("every_minutes", "`every_minutes` must be more than 0")
        c.done()
        checks.append(rule)

    gate = GateRule()
    g = top.sub("gate")
    if g is not None:
        gate = GateRule(
            sys_max=g.num("sys_max"), dia_max=g.num("dia_max"), hr_max=g.num("hr_max"),
            spo2_min=g.num("spo2_min"),
            baseline_max_age_minutes=g.num("baseline_max_age_minutes", default=30.0) or 30.0,
            source=g.text("source", longest=None),
        )
        g.done()

    checklist: list[ChecklistItem] = []
    for c in top.subs("checklist"):
        item = ChecklistItem(
            id=c.text("id", True), label=c.text("label", True),
            kind=c.choice("kind", CHECKLIST_KINDS, "confirm"), min=c.num("min"),
            help=c.text("help", longest=None),
        )
        c.done()
        if any(i.id == item.id for i in checklist):
            raise c.fail("id", f"checklist id {item.id!r} is used twice")
        checklist.append(item)

    alarms: list[AlarmRule] = []
    for a in top.subs("alarms"):
        param = a.choice("param", tuple(PARAMS))
        above, below = a.num("above"), a.num("below")
        if (above is None) == (below is None):
            raise a.fail(None, "an alarm needs exactly one of `above` or `below`")
        rule_id = a.text("id", default=f"{param}-{'high' if above is not None else 'low'}")
        alarm = AlarmRule(
            id=rule_id, param=param, above=above, below=below,
            priority=a.choice("priority", PRIORITIES),
            sustain_minutes=a.num("sustain_minutes", default=0.0) or 0.0,
            label=a.text("label"), source=a.text("source", longest=None),
        )
        a.done()
        if any(x.id == alarm.id for x in alarms):
            raise a.fail("id", f"alarm id {alarm.id!r} is used twice; give each an `id`")
        alarms.append(alarm)

    stale, tech_prio, esc_min, esc_to = 30.0, "medium", 2.0, "high"
    t = top.sub("technical")
    if t is not None:
        stale = t.num("stale_seconds", default=30.0) or 30.0
        tech_prio = t.choice("priority", PRIORITIES, "medium")
        esc_min = t.num("escalate_after_minutes", default=2.0) or 2.0
        esc_to = t.choice("escalate_to", PRIORITIES, "high")
        t.done()

    discharge: tuple[str, ...] = ()
    discharge_source = ""
    dc = top.sub("discharge")
    if dc is not None:
        discharge = dc.texts("criteria")
        discharge_source = dc.text("source", longest=None)
        dc.done()
    top.done()

    return Template(
        id=template_id, title=title, path=path, origin=origin,
        sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), drug=drug, dose=dose,
        boosters=boosters, observation_minutes=obs_minutes, observation_from=obs_from,
        observation_source=obs_source, checks=tuple(checks), gate=gate,
        checklist=tuple(checklist), alarms=tuple(alarms), stale_seconds=stale,
        technical_priority=tech_prio, technical_escalate_minutes=esc_min,
        technical_escalate_to=esc_to, discharge=discharge, discharge_source=discharge_source,
        rems=rems, unverified=unverified,
        summary=summary, source=source,
    )


def load_file(path: Path, origin: str = "shipped") -> Template:
    try:
        text = clinic_files.read_text(path)
    except FileNotFoundError as e:
        raise TemplateError(path, None, "was not found") from e
    except clinic_files.UnreadableFile as e:
        raise TemplateError(path, e.line, e.reason) from e
    return parse_template(path, text, origin)


def load_catalog(data_dir: Path | None = None, shipped_dir: Path = SHIPPED_DIR) -> Catalog:
    """Shipped templates, then the clinic's own (which replace a shipped one of the same id)."""
    cat = Catalog()
    dirs: list[tuple[Path, str]] = [(shipped_dir, "shipped")]
    if data_dir is not None:
        dirs.append((Path(data_dir) / "templates", "clinic"))
    for folder, origin in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                tpl = load_file(path, origin)
            except TemplateError as e:
                cat.errors.append(e)
                continue
            except Exception as e:  # a bug here must not cost the other templates or the console
                log.exception("template %s could not be loaded", path.name)
                cat.errors.append(TemplateError(path, None, f"could not be read ({type(e).__name__})"))
                continue
            cat.templates[tpl.id] = tpl
    return cat


def template_choices(data_dir: Path | None = None) -> list[tuple[str, str]]:
    """(id, title) of every usable template, for the start-session dialog."""
    return load_catalog(data_dir).choices()
