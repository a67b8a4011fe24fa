"""An infusion's progress, computed only from its stored events.

Start, rate changes, pauses and stop are events with absolute times; mg delivered so far is
the rate integrated over running time, so a restarted console shows the right figure at once.
The infusion is complete when the planned mg has run in (as the pump stops at its volume).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.store.events import Event


@dataclass(frozen=True, slots=True)
class InfusionStatus:
    state: str  # running | paused | complete | stopped
    started: float
    elapsed_s: float  # wall time since start
    running_s: float  # time actually running
    planned_s: float
    planned_mg: float
    mg_so_far: float
    rate_mg_per_h: float
    ends_at: float | None  # when it completed/stopped, or is expected to (None while paused)


@dataclass
class Infusion:
    dose_uid: str
    started: float
    planned_mg: float
    planned_minutes: float
    rate_mg_per_h: float
    changes: list[tuple[float, str, float]] = field(default_factory=list)  # (t, what, rate)

    @classmethod
    def from_events(cls, start: Event, later: list[Event]) -> Infusion:
        p = start.payload
        inf = cls(start.refers_to or start.uid, start.t, float(p["planned_mg"]),
                  float(p["planned_minutes"]), float(p["rate_mg_per_h"]))
        for e in later:
            inf.apply(e)
        return inf

    def apply(self, e: Event) -> None:
        kind = e.kind.removeprefix("infusion.")
        rate = float(e.payload.get("rate_mg_per_h", 0.0) or 0.0)
        self.changes.append((e.t, kind, rate))
        self.changes.sort(key=lambda c: c[0])

    def status(self, now: float) -> InfusionStatus:
        rate = self.rate_mg_per_h
        running = True
        t_prev = self.started
        mg = 0.0
        run_s = 0.0
        stopped_at: float | None = None
        for t, kind, new_rate in [*self.changes, (now, "now", 0.0)]:
            t = min(max(t, t_prev), now)
            if running and rate > 0:
                # does it complete inside this segment?
                need_h = (self.planned_mg - mg) / rate
                seg_h = (t - t_prev) / 3600.0
                if seg_h >= need_h:
                    done_at = t_prev + need_h * 3600.0
                    run_s += done_at - t_prev
                    return self._st("complete", now, run_s, self.planned_mg, rate, done_at)
                mg += rate * seg_h
                run_s += t - t_prev
            t_prev = t
            if kind == "now":
                break
            if kind == "stopped":
                stopped_at = t
                return self._st("stopped", now, run_s, mg, rate, stopped_at)
            if kind == "paused":
                running = False
            elif kind == "resumed":
                running = True
            elif kind == "rate_changed" and new_rate > 0:
                rate = new_rate
        if not running:
            return self._st("paused", now, run_s, mg, rate, None)
        ends = now + (self.planned_mg - mg) / rate * 3600.0 if rate > 0 else None
        return self._st("running", now, run_s, mg, rate, ends)

    def _st(self, state: str, now: float, run_s: float, mg: float, rate: float,
            ends: float | None) -> InfusionStatus:
        return InfusionStatus(state, self.started, max(0.0, now - self.started), run_s,
                              self.planned_minutes * 60.0, self.planned_mg, mg, rate, ends)
