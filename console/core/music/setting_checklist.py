"""The set & setting checklist: the room and the person, ticked and recorded as it happens.

The room is part of the treatment, so what was prepared, and when, belongs in the record.
Items come from a TOML file (shipped default, or the clinic's own in
`<data dir>/checklists/setting.toml`); each change is a `setting.*` event at once. The
state can be rebuilt from a session's events, so a restarted console shows what was done.
A clinic file that cannot be used (see console/core/clinic_files.py) leaves the standard
checklist in place, described in `Checklist.file_problem`; loading never raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from console.core import clinic_files
from console.core.clinic_files import FileProblem
from console.core.observers import Observers
from console.store.events import Event

Record = Callable[[str, dict[str, Any]], Any]
KINDS = ("check", "yesno", "contact", "text")
SHIPPED = Path(__file__).resolve().parents[2] / "checklists" / "default_setting.toml"
CLINIC_FILE = Path("checklists") / "setting.toml"
STANDARD_USED = "the standard checklist is used"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    label: str
    kind: str = "check"
    group: str = "room"


@dataclass
class Checklist:
    title: str
    items: list[Item]
    problems: list[str] = field(default_factory=list)
    file_problem: FileProblem | None = None  # the clinic's file could not be used


@dataclass
class ItemState:
    done: bool = False
    t: float | None = None
    answer: str | None = None  # yesno: "yes" / "no"
    name: str = ""
    phone: str = ""
    text: str = ""


def parse_checklist(raw: dict[str, Any], label: str) -> Checklist:
    problems: list[str] = []
    items: list[Item] = []
    seen: set[str] = set()
    entries = raw.get("item", [])
    if not isinstance(entries, list):
        problems.append(f"Checklist '{label}': items must be written as [[item]] tables.")
        entries = []
    for i, it in enumerate(entries):
        if not isinstance(it, dict) or not _text(it.get("id")) or not _text(it.get("label")):
            problems.append(f"Checklist '{label}': item {i + 1} needs an id and a label — "
                            "left out.")
            continue
        item_id, item_label = it["id"], it["label"]
        if clinic_files.too_long(item_id):
            problems.append(f"Checklist '{label}': item {i + 1} has an id of {len(item_id)} "
                            f"characters (at most {clinic_files.NAME_MAX}) — left out.")
            continue
        if clinic_files.too_long(item_label):
            problems.append(f"Checklist '{label}': item '{item_id}' has a label of "
                            f"{len(item_label)} characters — shortened.")
            item_label = clinic_files.shorten(item_label)
        kind = it.get("kind", "check")
        if kind not in KINDS:
            problems.append(f"Checklist '{label}': item '{item_label}' has an unknown kind "
                            f"'{clinic_files.shorten(str(kind), 40)}' — shown as a tick box.")
            kind = "check"
        if item_id in seen:
            problems.append(f"Checklist '{label}': item id '{item_id}' appears twice — the "
                            "second is left out.")
            continue
        seen.add(item_id)
        group = it.get("group", "room")
        items.append(Item(item_id, item_label, kind,
                          clinic_files.shorten(group) if isinstance(group, str) else "room"))
    title = raw.get("title", "Set and setting")
    if not isinstance(title, str) or not title.strip():
        title = "Set and setting"
    return Checklist(clinic_files.shorten(title), items, problems)


def _text(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def load_checklist(data_dir: Path | None = None) -> Checklist:
    """The clinic's checklist if it has a usable one, else the shipped default."""
    problems: list[str] = []
    unusable: FileProblem | None = None
    p = data_dir / CLINIC_FILE if data_dir is not None else None
    if p is not None and (p.exists() or p.is_symlink()):
        try:
            cl = parse_checklist(clinic_files.load_toml(p), p.name)
        except (FileNotFoundError, clinic_files.UnreadableFile) as e:
            reason = e.reason if isinstance(e, clinic_files.UnreadableFile) else "was not found"
            problems.append(f"The clinic checklist '{p}' could not be read ({reason}); using "
                            "the standard one.")
            unusable = FileProblem(p, getattr(e, "line", None), reason, STANDARD_USED)
        except Exception as e:  # a bug here must not cost the checklist or the console
            log.exception("checklist %s could not be loaded", p.name)
            problems.append(f"The clinic checklist '{p}' could not be read; using the standard "
                            "one.")
            unusable = FileProblem(p, None, f"could not be read ({type(e).__name__})",
                                   STANDARD_USED)
        else:
            if cl.items:
                return cl
            problems += [*cl.problems, f"The clinic checklist '{p}' has no usable items; "
                         "using the standard one."]
            why = cl.problems[0].removeprefix(f"Checklist '{p.name}': ") if cl.problems else ""
            unusable = FileProblem(p, None, "has no usable items" + (f" ({why})" if why else ""),
                                   STANDARD_USED)
    cl = parse_checklist(clinic_files.load_toml(SHIPPED), SHIPPED.name)
    cl.problems = problems + cl.problems
    cl.file_problem = unusable
    return cl


class SettingChecklist:
    """Ticks, answers, contact and intention for the open session, each recorded at once."""

    def __init__(self, checklist: Checklist, record: Record,
                 now: Callable[[], float]) -> None:
        self.checklist = checklist
        self._record = record
        self._now = now
        self.state: dict[str, ItemState] = {it.id: ItemState() for it in checklist.items}
        self.changed: Observers[str] = Observers()  # item id

    def item(self, item_id: str) -> Item:
        for it in self.checklist.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def _mark(self, item: Item, done: bool, **fields: Any) -> None:
        st = self.state[item.id]
        st.done = done
        st.t = self._now()
        summary = fields.pop("summary", None) or (
            f"✓ {item.label}" if done else f"✗ {item.label} (unticked)")
        kind = "setting.item_checked" if done else "setting.item_unchecked"
        self._record(kind, {"summary": summary, "item": item.id, "label": item.label,
                            **fields})
        self.changed.emit(item.id)

    def check(self, item_id: str, on: bool) -> None:
        item = self.item(item_id)
        if self.state[item_id].done != on:
            self._mark(item, on)

    def answer(self, item_id: str, yes: bool) -> None:
        """A yes/no item: both answers are recorded (a "no" to touch matters as much)."""
        item, st = self.item(item_id), self.state[item_id]
        ans = "yes" if yes else "no"
        if st.answer == ans:
            return
        st.answer = ans
        self._mark(item, True, answer=ans, summary=f"{item.label}: {ans}")

    def set_contact(self, item_id: str, name: str, phone: str) -> None:
        item, st = self.item(item_id), self.state[item_id]
        name, phone = name.strip(), phone.strip()
        if (name, phone) == (st.name, st.phone):
            return
        st.name, st.phone = name, phone
        done = bool(name and phone)
        text = f"{item.label}: {name or '—'}, {phone or 'no phone number'}"
        self._mark(item, done, name=name, phone=phone, summary=text)

    def set_text(self, item_id: str, text: str) -> None:
        """Free text (the intention): recorded in full as a `setting.intention` event."""
        item, st = self.item(item_id), self.state[item_id]
        text = text.strip()
        if text == st.text:
            return
        st.text, st.done, st.t = text, bool(text), self._now()
        self._record("setting.intention", {
            "summary": f"{item.label}: “{text}”" if text else f"{item.label}: cleared",
            "item": item.id, "label": item.label, "text": text})
        self.changed.emit(item.id)

    @property
    def intention(self) -> str:
        for it in self.checklist.items:
            if it.kind == "text" and self.state[it.id].text:
                return self.state[it.id].text
        return ""

    def done_count(self) -> tuple[int, int]:
        return sum(1 for s in self.state.values() if s.done), len(self.state)

    def restore(self, events: Iterable[Event]) -> None:
        """Rebuild the state from a session's `setting.*` events (after a restart)."""
        for it in self.checklist.items:
            self.state[it.id] = ItemState()
        for ev in events:
            p = ev.payload
            st = self.state.get(str(p.get("item", "")))
            if st is None:
                continue
            if ev.kind == "setting.intention":
                st.text = str(p.get("text", ""))
                st.done = bool(st.text)
            elif ev.kind in ("setting.item_checked", "setting.item_unchecked"):
                st.done = ev.kind == "setting.item_checked"
                st.answer = p.get("answer", st.answer)
                st.name = str(p.get("name", st.name))
                st.phone = str(p.get("phone", st.phone))
            st.t = ev.t
        self.changed.emit("")

    def reset(self) -> None:
        for it in self.checklist.items:
            self.state[it.id] = ItemState()
        self.changed.emit("")
