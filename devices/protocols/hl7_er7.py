"""HL7 v2 text ("ER7", pipes and hats) to segments, for every version 2.1-2.8.

Written from HL7 v2.x Chapter 2, "Message construction rules": MSH-1 is the field separator,
MSH-2 the encoding characters (component, repetition, escape, subcomponent and, from v2.7, the
truncation character); segments end in CR. Fields are kept by their number only, never checked
against a version's field table, so a field one version does not define (v2.2's MSH-18
"8859/1") is simply one more field and the message reads as any other.

Escape sequences (Chapter 2, "Use of escape sequences in text fields") are resolved in every
value: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\P\\ give the delimiter characters, \\Xhh..\\ hex data (one character
per byte), highlighting (\\H\\ \\N\\), character-set switches (\\C..\\ \\M..\\) and formatting
commands (\\.sp\\, \\.in\\, ...) carry no value and are dropped, \\.br\\ is a line break; an escape
we do not know is kept as it came rather than guessed at.

Components are given as text (their first subcomponent); `Segment.subs` gives all of a
component's subcomponents. A message is split into segments and fields at once; each field is
read (repetitions, components, subcomponents, escapes) only when it is first asked for, and a
field with no escape or subcomponent character (nearly every field, also in gateways'
IHE-style messages with `&` in PID-3 or OBX-18) is split directly. That, not handing such
messages to another library, is what keeps the decoder far above the serial line rate.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from devices.protocols.hl7_segments import SEGMENT_IDS

PLAIN_MSH = "MSH|^~\\&|"


class Delimiters(NamedTuple):
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = "#"


DEFAULT = Delimiters()


def delimiters(text: str) -> Delimiters:
    """The delimiters a message declares in MSH-1 and MSH-2; raises ValueError if unusable."""
    if not text.startswith("MSH") or len(text) < 5:
        raise ValueError("message does not start with MSH")
    fs = text[3]
    end = text.find(fs, 4)
    enc = text[4:] if end < 0 else text[4:end]
    enc = enc.split("\r", 1)[0]
    chars = [fs, *enc]
    if (not 1 <= len(enc) <= 5 or len(set(chars)) != len(chars)
            or any(c.isalnum() or c.isspace() for c in chars)):
        raise ValueError("MSH-1/MSH-2 do not declare usable delimiters")
    # An absent character is one no text can contain, so splitting on it splits nothing.
    comp, rep, esc, sub, trunc = (c or "\0" for c in [*enc, "", "", "", ""][:5])
    return Delimiters(fs, comp, rep, esc, sub, trunc)


def is_plain(text: str) -> bool:
    """Default delimiters and, past MSH-2, no escape or subcomponent character at all."""
    return text.startswith(PLAIN_MSH) and "\\" not in text[9:] and "&" not in text[9:]


def _trim(comps: list[str]) -> list[str]:
    """Drop trailing empty components, so "%^^" and "%" read alike."""
    while len(comps) > 1 and comps[-1] == "":
        comps.pop()
    return comps


# --- escapes ------------------------------------------------------------------------------------

_FORMATTING = re.compile(r"\.(sp|fi|nf|in|ti|sk|ce)[+-]?\d*")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def _escape_value(seq: str, d: Delimiters) -> str | None:
    """What one escape sequence (without its escape characters) stands for; None if unknown."""
    simple = {"F": d.field, "S": d.component, "T": d.subcomponent, "R": d.repetition,
              "E": d.escape, "P": d.truncation}
    if seq in simple:
        return simple[seq]
    if seq in ("H", "N"):
        return ""  # start / end of highlighting: how to show it, not what it says
    if seq == ".br":
        return "\n"
    if _FORMATTING.fullmatch(seq):
        return ""
    if seq[:1] == "X" and _HEX.fullmatch(seq[1:]):
        return bytes.fromhex(seq[1:]).decode("latin-1")
    if seq[:1] in ("C", "M") and _HEX.fullmatch(seq[1:]):
        return ""  # a character-set switch (ISO 2022): the text around it is already decoded
    return None


def unescape(text: str, d: Delimiters = DEFAULT) -> str:
    """`text` with its escape sequences resolved (see the module docstring)."""
    esc = d.escape
    if esc not in text:
        return text
    out: list[str] = []
    i = 0
    while True:
        j = text.find(esc, i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k = text.find(esc, j + 1)
        if k < 0:  # a lone escape character: kept as it came
            out.append(text[j:])
            break
        value = _escape_value(text[j + 1 : k], d)
        out.append(text[j : k + 1] if value is None else value)
        i = k + 1
    return "".join(out)


def escape(text: str, d: Delimiters = DEFAULT) -> str:
    """`text` made safe as one HL7 value (for the words we send back in an ACK)."""
    out = text.replace(d.escape, f"{d.escape}E{d.escape}")
    for ch, code in ((d.field, "F"), (d.component, "S"), (d.subcomponent, "T"),
                     (d.repetition, "R")):
        out = out.replace(ch, f"{d.escape}{code}{d.escape}")
    return "".join(c if c >= " " else " " for c in out)  # no CR inside a segment


# --- segments -----------------------------------------------------------------------------------


def _field(text: str, d: Delimiters) -> tuple[list[list[str]], list[list[list[str]]]]:
    """One field's repetitions of components, and of components' subcomponents, with every
    escape resolved (a component's text is its first subcomponent)."""
    reps: list[list[str]] = []
    rep_subs: list[list[list[str]]] = []
    for rep in text.split(d.repetition):
        comps: list[str] = []
        comp_subs: list[list[str]] = []
        for comp in rep.split(d.component):
            pieces = [unescape(s, d) if s.strip() else "" for s in comp.split(d.subcomponent)]
            comps.append(pieces[0] if pieces[0].strip() else "")
            comp_subs.append(pieces)
        reps.append(_trim(comps))
        rep_subs.append(comp_subs)
    return reps, rep_subs



class Segment:
    """One segment's fields by number: repetitions of components (unescaped text).

    A segment from `parse` keeps its fields as they came and reads each one (components,
    subcomponents, escapes) the first time it is asked for: a decoder reads a dozen fields
    of a message, not all of them, and most fields of a gateway's message hold no
    subcomponent or escape at all, so they are split as fast as a plain message's.
    """

    __slots__ = ("_d", "_fields", "_first", "_raw", "_subs", "name")

    def __init__(self, name: str, fields: dict[int, list[list[str]]],
                 subs: dict[int, list[list[list[str]]]] | None = None) -> None:
        self.name = name
        self._fields = fields
        self._subs = subs
        self._raw: list[str] | None = None  # the fields as they came (read on demand)
        self._first = 1
        self._d = DEFAULT

    @classmethod
    def from_text(cls, line: str, d: Delimiters = DEFAULT) -> Segment:
        """A segment in delimiters `d`, its fields read when first asked for."""
        parts = line.split(d.field)
        seg = cls(parts[0], {}, {})
        # MSH-1 is the field separator itself and MSH-2 the encoding characters: MSH-3 is
        # the third part, where any other segment's field 3 is the fourth.
        seg._first = 3 if parts[0] == "MSH" else 1
        seg._raw = parts[2:] if parts[0] == "MSH" else parts[1:]
        seg._d = d
        return seg

    def _read(self, n: int) -> list[list[str]]:
        """Field n read from its text (and kept): [] when absent or blank."""
        raw = self._raw
        assert raw is not None and self._subs is not None
        i = n - self._first
        text = raw[i] if 0 <= i < len(raw) else ""
        if not text.strip():
            reps: list[list[str]] = []
        else:
            d = self._d
            if d.escape not in text and d.subcomponent not in text:  # as a plain message
                reps = [_trim([c if c.strip() else "" for c in rep.split(d.component)])
                        for rep in text.split(d.repetition)]
            else:
                reps, self._subs[n] = _field(text, d)
        self._fields[n] = reps
        return reps

    @classmethod
    def from_plain_er7(cls, line: str) -> Segment:
        """A segment in default delimiters with no escapes or subcomponents (see `parse`)."""
        return cls.from_text(line)

    @classmethod
    def from_er7(cls, line: str, d: Delimiters) -> Segment:
        """A segment in any delimiters, with escapes and subcomponents resolved."""
        return cls.from_text(line, d)

    def reps(self, n: int) -> list[list[str]]:
        got = self._fields.get(n)
        if got is None:
            return [] if self._raw is None else self._read(n)
        return got

    def comps(self, n: int) -> list[str]:
        r = self.reps(n)
        return r[0] if r else []

    def get(self, n: int, comp: int = 1) -> str:
        c = self.comps(n)
        return c[comp - 1].strip() if len(c) >= comp else ""

    def subs(self, n: int, comp: int = 1, rep: int = 1) -> list[str]:
        """Every subcomponent of one component (1-based numbers); [] if it is not there."""
        reps = self.reps(n)
        if self._subs is None or n not in self._subs:  # no subcomponent or escape in it
            if len(reps) < rep or len(reps[rep - 1]) < comp:
                return []
            return [reps[rep - 1][comp - 1]]
        all_reps = self._subs[n]
        if len(all_reps) < rep or len(all_reps[rep - 1]) < comp:
            return []
        return all_reps[rep - 1][comp - 1]


_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


def segment_ok(line: str, field_sep: str = "|") -> bool:
    """A line that starts with a segment id of HL7 (or a vendor's Z-segment) and a separator."""
    name = line[:3]
    return (bool(_SEGMENT_ID.fullmatch(name)) and (len(line) == 3 or line[3] == field_sep)
            and (name[0] == "Z" or name in SEGMENT_IDS))


def parse(text: str) -> list[Segment]:
    """All segments of one message (CR-separated); raises ValueError on what cannot be read."""
    text = text.rstrip("\r")
    d = DEFAULT if text.startswith(PLAIN_MSH) else delimiters(text)
    out = [Segment.from_text(line, d) for line in text.split("\r")]
    if not out or out[0].name != "MSH":
        raise ValueError("message does not start with MSH")
    if any(s.name == "MSH" for s in out[1:]):
        raise ValueError("two messages in one frame (a frame end was lost)")
    return out
