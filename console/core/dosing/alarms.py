"""Alarm rules for the session: limits, sustained conditions, technical alarms, acknowledgement.

Holdspace is an adjunct display, not a certified alarm system; the bedside monitor's own
alarms stay on. Still, these alarms must be right:
- a limit alarm needs the condition to hold for the rule's `sustain_minutes` on consecutive
  valid readings (HR > 120 for 5 min; BP over a limit on two readings 5 min apart), so one
  artefact does not alarm; questionable/invalid/demo values neither raise nor clear;
- a technical alarm sounds when a monitor link is lost or data go stale once a dose is given;
  with no HR/SpO2 for the template's `escalate_after_minutes` (default 2 min) it escalates
  (default to high), recorded as `alarm.escalated`, and sounds again even if silenced;
- what an active alarm says is kept current: the value now ("SpO2 88 %", not the first value
  that raised it) and how long the monitor has been silent ("No HR/SpO2 for 20 min");
- acknowledging silences the sound for a set time; the alarm stays visible until it clears;
- every raise, clear, escalation, acknowledgement and limit change is written as an event
  through `record`, and `restore` rebuilds the active set from those events after a restart.
  Stored readings only `prime` the sustain timers then: nothing is ever recorded for the past.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from console.core.dosing.templates import PARAMS, AlarmRule
from console.core.vitals_table import VITALS
from console.store.events import Event
from devices import mdc
from devices.link import LinkState, LinkStatus
from devices.reading import Quality, Reading

Recorder = Callable[[str, dict[str, Any], float, str | None], Event]
TRUSTED = (Quality.VALID, Quality.MANUAL)
PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}
DEFAULT_SILENCE_S = 120.0
DEFAULT_ESCALATE_S = 120.0  # no HR/SpO2 this long: a technical alarm goes up to `escalate_to`
# Codes whose silence means the monitor is not sending (the table's watched vitals).
STALE_CODES = tuple(c for v in VITALS if v.watched for c in v.codes)


@dataclass
class ActiveAlarm:
    key: str  # rule id, or "tech:link:<source>" / "tech:stale"
    uid: str  # of the alarm.raised event
    priority: str
    code: int | None
    summary: str
    since: float
    silenced_until: float | None = None
    acked_by: str | None = None

    def audible(self, now: float) -> bool:
        return self.silenced_until is None or now >= self.silenced_until


LOCKED_ACK = "someone at the locked screen"  # silenced there without a PIN


def _violates(rule: AlarmRule, v: float) -> bool:
    if rule.above is not None:
        return v > rule.above
    return rule.below is not None and v < rule.below


def _value_text(rule: AlarmRule, v: float) -> str:
    return f"{PARAMS[rule.param][1]} {v:g} {PARAMS[rule.param][2]}"


def duration_text(seconds: float) -> str:
    """"31 s", "20 min", "1 h 05 min": how long, in words for the banner."""
    s = max(0, int(seconds))
    if s < 90:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class AlarmEngine:
    def __init__(self, rules: Iterable[AlarmRule], record: Recorder,
                 stale_seconds: float = 30.0, technical_priority: str = "medium",
                 escalate_after_s: float = DEFAULT_ESCALATE_S,
                 escalate_to: str = "high") -> None:
        self.rules: dict[str, AlarmRule] = {r.id: r for r in rules}
        self.record = record
        self.stale_seconds = stale_seconds
        self.technical_priority = technical_priority
        self.escalate_after_s = escalate_after_s
        self.escalate_to = escalate_to
        self._limit_t: dict[str, float] = {}  # rule id -> when its limit was last changed
        self.active: dict[str, ActiveAlarm] = {}
        self.armed = False  # technical alarms only once a dose is given
        self._since: dict[str, float] = {}  # rule id -> first of the current violating run
        self._links: dict[str, LinkStatus] = {}
        self._last_vital: float | None = None

    # ----- limits -----
    def set_limit(self, rule_id: str, value: float, t: float, author: str | None = None,
                  reason: str = "") -> Event:
        """Move one limit for this patient; recorded with old and new value."""
        rule = self.rules[rule_id]
        old = rule.limit
        new = replace(rule, above=value) if rule.above is not None else replace(rule, below=value)
        ev = self.record("limits.changed", {
            "rule": rule_id, "param": rule.param, "old": old, "new": value, "reason": reason,
            "summary": f"Alarm limit changed: {rule.describe()} → {new.describe()}"
                       + (f" ({reason})" if reason else ""),
        }, t, None)
        self.rules[rule_id] = new
        self._limit_t[rule_id] = t
        return ev

    # ----- inputs -----
    def observe(self, readings: Iterable[Reading]) -> list[Event]:
        out: list[Event] = []
        for r in readings:
            if r.quality not in TRUSTED:
                continue
            if mdc.canonical(r.code) in STALE_CODES and r.source != "manual":
                self._last_vital = max(self._last_vital or r.t, r.t)
                if "tech:stale" in self.active:
                    out += self._clear("tech:stale", r.t, "Monitor data are arriving again.")
            code = mdc.canonical(r.code)
            for rule in self.rules.values():
                if code not in rule.codes:
                    continue
                if _violates(rule, r.value):
                    start = self._since.setdefault(rule.id, r.t)
                    held = r.t - start >= rule.sustain_minutes * 60 - 1e-6
                    if rule.id in self.active:
                        self.active[rule.id].summary = self._limit_what(rule, r)  # value now
                    elif held:
                        out.append(self._raise_limit(rule, r))
                else:
                    self._since.pop(rule.id, None)
                    if rule.id in self.active:
                        out += self._clear(rule.id, r.t,
                                           f"{_value_text(rule, r.value)} — back within limits.")
        return out

    def link(self, st: LinkStatus) -> list[Event]:
        self._links[st.source] = st
        return self.tick(st.since)

    def tick(self, now: float) -> list[Event]:
        """Time-driven technical alarms (link lost, stale data), their words and escalation."""
        out: list[Event] = []
        for src, st in self._links.items():
            key = f"tech:link:{src}"
            bad = st.state in (LinkState.LOST, LinkState.NO_DATA)
            if bad and self.armed and key not in self.active:
                t = max(now, st.since)
                out.append(self._raise(key, self._tech_priority(t, t), None,
                                       self._link_what(st, t), t, {"source": src}))
            elif not bad and key in self.active:
                out += self._clear(key, now, f"Monitor link {src} is live again.")
            elif bad and key in self.active:
                self.active[key].summary = self._link_what(st, now)
        if self._last_vital is not None and now - self._last_vital > self.stale_seconds:
            if self.armed and "tech:stale" not in self.active:
                out.append(self._raise("tech:stale", self._tech_priority(now, now), None,
                                       self._stale_what(now), now, {}))
            elif "tech:stale" in self.active:
                self.active["tech:stale"].summary = self._stale_what(now)
        out += self._escalate(now)
        return out

    def _no_vitals_s(self, now: float, since: float) -> float:
        """How long no HR/SpO2 has arrived (from `since` if none ever did)."""
        return now - (self._last_vital if self._last_vital is not None else since)

    def _tech_priority(self, now: float, since: float) -> str:
        late = self._no_vitals_s(now, since) >= self.escalate_after_s
        return self.escalate_to if late and self._higher(self.escalate_to,
                                                         self.technical_priority) else (
            self.technical_priority)

    @staticmethod
    def _higher(a: str, b: str) -> bool:
        return PRIORITY_ORDER[a] < PRIORITY_ORDER[b]

    def _stale_what(self, now: float) -> str:
        age = now - (self._last_vital or now)
        return (f"No HR/SpO2 from the monitor for {duration_text(age)} — check the sensor "
                "and the cable.")

    def _link_what(self, st: LinkStatus, now: float) -> str:
        what = f"Monitor link {st.state}: {st.message}"
        if self._last_vital is not None and now - self._last_vital > self.stale_seconds:
            what += f" No HR/SpO2 for {duration_text(now - self._last_vital)}."
        return what

    def _escalate(self, now: float) -> list[Event]:
        """A technical alarm with no HR/SpO2 for the escalation time goes up, and sounds."""
        out: list[Event] = []
        for a in list(self.active.values()):
            if a.code is not None or not self._higher(self.escalate_to, a.priority):
                continue
            if self._no_vitals_s(now, a.since) < self.escalate_after_s:
                continue
            old, a.priority, a.silenced_until = a.priority, self.escalate_to, None
            out.append(self.record("alarm.escalated", {
                "rule": a.key, "priority": a.priority, "previous_priority": old,
                "code": None,
                "summary": f"Alarm escalated to {a.priority.upper()} (no HR/SpO2 for "
                           f"{duration_text(self._no_vitals_s(now, a.since))}): {a.summary}",
            }, now, a.uid))
        return out

    def acknowledge(self, by: str, now: float, silence_s: float = DEFAULT_SILENCE_S,
                    keys: Iterable[str] | None = None,
                    at_locked_screen: bool = False) -> list[Event]:
        """Silence the sound of active alarms for `silence_s`; they stay visible. At the
        locked screen `by` may be empty (nobody gave a PIN): the record says so."""
        out: list[Event] = []
        for key in list(keys) if keys is not None else list(self.active):
            a = self.active.get(key)
            if a is None:
                continue
            if at_locked_screen:
                who = f"{by} at the locked screen" if by else "at the locked screen (no PIN given)"
            else:
                who = f"by {by}"
            payload: dict[str, object] = {
                "by": by or None, "silence_seconds": silence_s, "priority": a.priority,
                "code": a.code, "rule": key,
                "summary": f"Alarm acknowledged {who}: {a.summary} — sound silenced "
                           f"{silence_s / 60:g} min",
            }
            if at_locked_screen:
                payload["at_locked_screen"] = True
            out.append(self.record("alarm.acknowledged", payload, now, a.uid))
            a.silenced_until = now + silence_s
            a.acked_by = by or LOCKED_ACK
        return out

    # ----- queries -----
    def ordered(self) -> list[ActiveAlarm]:
        return sorted(self.active.values(), key=lambda a: (PRIORITY_ORDER[a.priority], a.since))

    def sounding(self, now: float) -> str | None:
        """The highest priority that should be heard now, if any."""
        for a in self.ordered():
            if a.audible(now):
                return a.priority
        return None

    def priority_for_code(self, code: int) -> str | None:
        best = [a for a in self.ordered() if a.code == code]
        return best[0].priority if best else None

    # ----- rebuilding after a restart -----
    def restore(self, events: Iterable[Event]) -> None:
        """Active alarms, acknowledgements, escalations and limit changes from the stored
        events: the alarm state is the record's, never recomputed from readings."""
        by_uid: dict[str, str] = {}
        for e in events:
            p = e.payload
            if e.kind == "limits.changed" and p.get("rule") in self.rules:
                r = self.rules[p["rule"]]
                v = float(p["new"])
                self.rules[r.id] = replace(r, above=v) if r.above is not None else replace(
                    r, below=v)
                self._limit_t[r.id] = e.t
            elif e.kind == "alarm.escalated" and e.refers_to in by_uid:
                esc = self.active.get(by_uid[e.refers_to])
                if esc is not None and p.get("priority") in PRIORITY_ORDER:
                    esc.priority, esc.silenced_until = p["priority"], None
            elif e.kind == "alarm.raised":
                key = str(p.get("rule"))
                self.active[key] = ActiveAlarm(key, e.uid, p["priority"], p.get("code"),
                                               p.get("what", p["summary"]), e.t)
                by_uid[e.uid] = key
                if key in self.rules:
                    self._since[key] = float(p.get("violating_since", e.t))
            elif e.kind == "alarm.cleared" and e.refers_to in by_uid:
                self.active.pop(by_uid[e.refers_to], None)
                self._since.pop(by_uid[e.refers_to], None)
            elif e.kind == "alarm.acknowledged" and e.refers_to in by_uid:
                a = self.active.get(by_uid[e.refers_to])
                if a is not None:
                    a.silenced_until = e.t + float(p.get("silence_seconds", DEFAULT_SILENCE_S))
                    a.acked_by = p.get("by") or (LOCKED_ACK if p.get("at_locked_screen")
                                                 else None)

    def prime(self, readings: Iterable[Reading]) -> None:
        """Stored readings (after a restart) restart the sustain timers and the time of the
        last HR/SpO2, and record nothing: a condition still present raises on the next live
        reading, at its time. A reading from before a limit was changed never counts for it."""
        for r in readings:
            if r.quality not in TRUSTED:
                continue
            code = mdc.canonical(r.code)
            if code in STALE_CODES and r.source != "manual":
                self._last_vital = max(self._last_vital or r.t, r.t)
            for rule in self.rules.values():
                if (code not in rule.codes or rule.id in self.active
                        or r.t < self._limit_t.get(rule.id, r.t)):
                    continue
                if _violates(rule, r.value):
                    self._since.setdefault(rule.id, r.t)
                else:
                    self._since.pop(rule.id, None)

    # ----- internals -----
    @staticmethod
    def _limit_what(rule: AlarmRule, r: Reading) -> str:
        what = f"{_value_text(rule, r.value)} — limit {rule.describe()}"
        if rule.label:
            what += f" ({rule.label})"
        if r.source == "manual":
            what += " [manual entry]"
        return what

    def _raise_limit(self, rule: AlarmRule, r: Reading) -> Event:
        what = self._limit_what(rule, r)
        return self._raise(rule.id, rule.priority, rule.code, what, r.t,
                           {"value": r.value, "limit": rule.limit,
                            "violating_since": self._since.get(rule.id, r.t),
                            "source": r.source})

    def _raise(self, key: str, priority: str, code: int | None, what: str, t: float,
               extra: dict[str, Any]) -> Event:
        kind = "technical" if code is None else "patient"
        ev = self.record("alarm.raised", {
            "rule": key, "priority": priority, "code": code, "what": what, "type": kind,
            "summary": f"{priority.upper()} alarm: {what}", **extra,
        }, t, None)
        self.active[key] = ActiveAlarm(key, ev.uid, priority, code, what, t)
        return ev

    def _clear(self, key: str, t: float, why: str) -> list[Event]:
        a = self.active.pop(key, None)
        if a is None:
            return []
        return [self.record("alarm.cleared", {
            "rule": key, "priority": a.priority, "code": a.code,
            "summary": f"Alarm cleared: {why} (was: {a.summary})",
        }, t, a.uid)]
