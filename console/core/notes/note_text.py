"""The whole dosing day as one readable text: what the signer reads before signing.

Built from the current view (amendments applied and marked), so what is signed is exactly
what the record says. Plain text, so it can be shown, printed or exported as it is.
"""

from __future__ import annotations

import os

from console.core.notes.scales import clock_text
from console.core.notes.sections import sections_for
from console.core.session_record import SessionRecord
from console.store import chain

# Timestamped entries shown inside a section, oldest first.
TIMED: dict[str, tuple[str, ...]] = {
    "observations": ("note.observation", "score."),
    "adverse_events": ("ae.",),
}
OTHER_TIMED: dict[str, tuple[str, ...]] = {
    "observations": ("check.recorded", "vitals.manual"),
}


def altered_line(db_path: str | os.PathLike[str]) -> str:
    """What the last hash-chain check of this file found, in one line ("" when intact or not
    checked yet); see console/store/chain.py."""
    st = chain.remembered(db_path)
    if st is None or st.ok:
        return ""
    return f"{st.headline()} — " + "; ".join(st.details(3))


def note_text(rec: SessionRecord, template: str | None, title: str = "",
              altered: str = "") -> str:
    """The note as plain text; `altered` (the hash chain's "Record altered outside Holdspace
    after …" with what changed) heads it, so no copy of the text passes for intact."""
    out: list[str] = [title] if title else []
    if altered:
        out.append(f"!! {altered}")
    for sec in sections_for(template):
        out.append(f"\n== {sec.title} ==")
        if sec.derived:
            doses, voided = rec.doses(), rec.voided()
            out += [f"{clock_text(d.t)}  {d.payload.get('summary', d.kind)}  "
                    f"(given by {d.payload.get('given_by') or d.author or '?'})"
                    + (f"  [ENTERED IN ERROR {clock_text(v.t)} by {v.author or '?'}: "
                       f"{v.payload.get('reason', '')} — not counted]"
                       if (v := voided.get(d.uid)) is not None else "")
                    for d in doses] or ["No dose recorded."]
            continue
        timed = [(e.t, f"{clock_text(e.t)}  {e.summary}  — {e.author or '?'}"
                  f"{'  (amended)' if e.amended else ''}")
                 for e in rec.of_kind("") if e.kind.startswith(TIMED.get(sec.key, ("-",)))]
        # Checks other features record (vitals by hand, sedation) belong with observations.
        timed += [(e.t, f"{clock_text(e.t)}  {e.payload.get('summary', e.kind)}  "
                        f"— {e.author or '?'}")
                  for e in rec.events if e.kind in OTHER_TIMED.get(sec.key, ())]
        out += [line for _t, line in sorted(timed, key=lambda x: x[0])]
        entry = rec.section(sec.key)
        if entry is None:
            if not timed:
                out.append("—")
            continue
        cur = entry.current
        labels = {f.key: f.label for f in sec.fields}
        for k, v in cur.get("fields", {}).items():
            shown = clock_text(v) if k == "time" and isinstance(v, float) else (
                f"{v:g}" if isinstance(v, float) else v)
            out.append(f"{labels.get(k, k)}: {shown}")
        if cur.get("text"):
            out.append(str(cur["text"]))
        out.append(f"[{entry.author}{' · amended' if entry.amended else ''}]")
    course = [e for e in rec.of_kind("") if e.kind.startswith(("outcome.", "course."))]
    if course:
        out.append("\n== Course and outcome measures ==")
        out += [f"{e.summary}  — {e.author or '?'}{'  (amended)' if e.amended else ''}"
                for e in course]
    if rec.signature is not None:
        s = rec.signature
        out.append(f"\nSigned by {s.name} ({s.role}) at {clock_text(s.t)}.")
    for a in rec.addenda:
        out.append(f"Addendum {clock_text(a.t)} by {a.payload.get('name')} "
                   f"({a.payload.get('role')}): {a.payload.get('text')}")
    return "\n".join(out)
