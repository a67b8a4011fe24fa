"""The session report as plain typed data: everything a signed record of one dosing day says.

Built once from the database (`build.build_report`) and then only read: the PDF renderer lays
it out, and other exports (FHIR) map it onto their resources, so no exporter reads the event
log a second way. Times are epoch seconds (UTC); text is what the record says, in the words
it was written with. Nothing here imports Qt or knows about pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class PatientInfo:
    id: int | None
    name: str
    identifier: str | None
    birth_date: str | None  # as stored (ISO date)
    weight_kg: float | None  # the weight now on the patient's record
    weight_changes: tuple[WeightChange, ...] = ()


@dataclass(frozen=True, slots=True)
class WeightChange:
    t: float
    weight_kg: float
    previous_kg: float | None
    author: str | None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """A moment in the session's life: started, interrupted, resumed, the discharge
    sign-off, ended."""

    t: float
    kind: str  # started | interrupted | resumed | discharge | ended
    author: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Protocol:
    template_id: str | None
    title: str
    file: str | None
    origin: str | None  # shipped | clinic
    sha256: str | None  # of the template file used in the session
    unverified: bool
    source: str  # the template's citation (its top-level `source`)
    drug: str | None
    route: str | None
    dose_rule: str  # e.g. "25–100 mg (source …)"
    observation: str  # e.g. "120 min from the first dose (source …)"
    gate_rule: str
    file_changed: bool | None  # the file on disk now differs from the one used (None: unknown)
    rems: bool


@dataclass(frozen=True, slots=True)
class ChecklistAnswer:
    item: str
    label: str
    value: str  # as shown: "done", "6 h", the typed text, or "not answered"
    t: float | None
    author: str | None
    answered: bool


@dataclass(frozen=True, slots=True)
class GateOverride:
    t: float
    author: str | None
    reason: str
    failed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Gate:
    checked_t: float | None  # when the gate was checked (at the first dose)
    passed: bool | None  # None: no dose was given, the gate was never checked
    reasons: tuple[str, ...]
    baseline: dict[str, float | None]
    overrides: tuple[GateOverride, ...]


@dataclass(frozen=True, slots=True)
class Void:
    """A dose marked entered in error: it stays in the record, struck through."""

    t: float
    author: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Dose:
    uid: str
    t: float
    recorded: float | None
    drug: str
    formulation: str | None
    route: str | None
    mg: float
    mg_per_kg: float | None
    lot: str | None
    given_by: str | None
    author: str | None
    role: str  # initial | booster | rescue
    method: str | None  # bolus | infusion | tablets | nasal_devices
    units: float | None  # devices or tablets
    late_entry: bool
    cumulative_mg: float | None  # running total of the protocol drug; None if voided/rescue
    outside_protocol: tuple[str, ...]  # the confirmation questions passed
    out_of_range: str | None  # "above" / "below"
    protocol_range: str | None
    confirmed_by: str | None
    above_ceiling: bool
    ceiling_mg: float | None
    second_person: str | None
    summary: str
    voided: Void | None
    for_adverse_event: str | None  # a rescue drug: the adverse event's uid
    infusion: str | None  # e.g. "stopped — 31.0 mg of 35 mg given"

    @property
    def counts(self) -> bool:
        return self.voided is None and self.role != "rescue"


@dataclass(frozen=True, slots=True)
class CheckResult:
    label: str
    what: str
    due: float
    grace_s: float
    state: str  # met | late | missed | overdue | due | upcoming | not reached
    done_at: float | None


@dataclass(frozen=True, slots=True)
class AlarmAck:
    t: float
    by: str | None
    silence_s: float | None


@dataclass(frozen=True, slots=True)
class Alarm:
    uid: str
    rule: str
    priority: str  # the priority it was raised with
    type: str  # patient | technical
    what: str  # includes the value and the limit ("SpO2 89 % — limit SpO2 < 92 %")
    raised: float
    value: float | None
    limit: float | None
    source: str | None
    acks: tuple[AlarmAck, ...]
    escalations: tuple[tuple[float, str], ...]  # (t, new priority)
    cleared: float | None
    cleared_text: str | None


@dataclass(frozen=True, slots=True)
class LimitChange:
    t: float
    author: str | None
    rule: str
    old: float | None
    new: float | None
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a plain timed log (music, set and setting, display, links)."""

    t: float
    kind: str
    author: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Amendment:
    t: float  # when it was written
    author: str | None
    reason: str
    changes: dict[str, Any]
    text: str  # the amended entry as it read after this amendment


@dataclass(frozen=True, slots=True)
class NoteEntry:
    """A timed entry of the note (observation, quote, score, check, manual vitals)."""

    uid: str
    t: float
    kind: str
    author: str | None
    text: str  # as it reads now
    original_text: str  # as first written
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True, slots=True)
class Score:
    uid: str
    t: float
    scale: str  # moaas | cadss | cadss6 | rass
    label: str
    value: float
    author: str | None
    amended: bool


@dataclass(frozen=True, slots=True)
class AdverseEvent:
    uid: str
    t: float
    what: str
    severity: str
    intervention: str
    drug: str | None
    mg: float | None
    route: str | None
    outcome: str
    author: str | None
    text: str
    original_text: str
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True, slots=True)
class SectionNote:
    key: str
    title: str
    fields: tuple[tuple[str, str], ...]  # (label, value as shown)
    text: str
    author: str | None
    t: float | None
    original: tuple[tuple[str, str], ...] = ()  # fields+text as first saved, if amended
    amendments: tuple[Amendment, ...] = ()


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    name: str
    role: str
    t: float
    statement: str
    uid: str
    chain_seq: int | None = None  # the hash chain's head the signer saw (what it covers)
    chain_hash: str | None = None


@dataclass(frozen=True, slots=True)
class Integrity:
    """The hash chain check (console/store/chain.py) at the time the report was made."""

    intact: bool
    headline: str  # "Record intact: …" or "Record altered outside Holdspace after <time>"
    details: tuple[str, ...]  # what was changed, this session's first
    head_seq: int
    head_hash: str


@dataclass(frozen=True, slots=True)
class Addendum:
    t: float
    name: str
    role: str
    text: str


@dataclass(frozen=True, slots=True)
class ExportMade:
    """A copy that left the record before this report (a report, a form, an export)."""

    t: float
    kind: str
    author: str | None
    what: str
    where: str


@dataclass
class Series:
    """One parameter from one monitor: times and values, time order, trusted values only."""

    code: int
    label: str
    unit: str
    source: str
    t: np.ndarray  # float64 epoch seconds
    v: np.ndarray  # float64

    def __len__(self) -> int:
        return int(self.t.size)


@dataclass(frozen=True, slots=True)
class Marker:
    t: float
    kind: str  # dose | alarm | phase
    label: str


@dataclass
class Vitals:
    """The numerics behind the whole-session chart (and the FHIR export), per parameter (the
    source with the most values first; others kept as they were recorded)."""

    hr: list[Series] = field(default_factory=list)  # ECG heart rate and pulse rates
    spo2: list[Series] = field(default_factory=list)
    sys: list[Series] = field(default_factory=list)
    dia: list[Series] = field(default_factory=list)
    mean: list[Series] = field(default_factory=list)
    rr: list[Series] = field(default_factory=list)
    temp: list[Series] = field(default_factory=list)
    etco2: list[Series] = field(default_factory=list)
    sources: tuple[str, ...] = ()  # every monitor that sent a value (and "manual")
    markers: tuple[Marker, ...] = ()

    def all(self) -> list[Series]:
        return [*self.hr, *self.spo2, *self.sys, *self.dia, *self.mean, *self.rr, *self.temp,
                *self.etco2]


@dataclass
class SessionReport:
    clinic: str
    generated: float
    session_id: int
    started: float
    ended: float | None
    state: str
    title: str | None
    patient: PatientInfo
    lifecycle: tuple[Lifecycle, ...]
    protocol: Protocol | None
    checklist: tuple[ChecklistAnswer, ...]
    gate: Gate
    doses: tuple[Dose, ...]  # the protocol drug and rescue drugs, in time order
    checks: tuple[CheckResult, ...]
    alarms: tuple[Alarm, ...]
    limit_changes: tuple[LimitChange, ...]
    music: tuple[LogLine, ...]
    setting: tuple[LogLine, ...]
    other_log: tuple[LogLine, ...]  # monitor links, display source changes, staff, REMS
    timed_notes: tuple[NoteEntry, ...]
    scores: tuple[Score, ...]
    adverse_events: tuple[AdverseEvent, ...]
    sections: tuple[SectionNote, ...]
    outcomes: tuple[NoteEntry, ...]
    signature: SignatureInfo | None
    addenda: tuple[Addendum, ...]
    exports: tuple[ExportMade, ...]
    vitals: Vitals
    record_hash: str  # console.core.report.record_hash over the session's events
    event_count: int
    authors: tuple[str, ...]  # everyone who wrote in this record
    last_data: float  # the newest data stored for the session
    integrity: Integrity | None = None  # None: not checked (a report made without the file)

    @property
    def signed(self) -> bool:
        return self.signature is not None

    @property
    def end(self) -> float:
        """Where the session's record stops (its end, else its last data)."""
        return self.ended if self.ended is not None else self.last_data

    def protocol_doses(self) -> list[Dose]:
        return [d for d in self.doses if d.role != "rescue"]

    def rescue_doses(self) -> list[Dose]:
        return [d for d in self.doses if d.role == "rescue"]

    def cumulative_mg(self) -> float:
        return sum(d.mg for d in self.doses if d.counts)
