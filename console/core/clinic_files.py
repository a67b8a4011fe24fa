"""One guard in front of every hand-edited file, so no file can stop the console.

Clinic files (templates, playlists, the music program, checklists, quick tags) and the
workstation settings are edited by hand and copied between computers. Before any of them is
parsed, its size, its bytes (NUL, UTF-8), its line length and its nesting depth are checked
here, and anything a parser could still choke on (recursion, XML entities) is caught; what
cannot be read comes back as an `UnreadableFile` naming the file, the line if known, and a
reason in plain words. The loaders turn it into a `FileProblem` and use their default.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

MAX_BYTES = 1 << 20  # a clinic file is a few kB; 1 MiB leaves room and refuses a wrong file
MAX_LINE = 4096  # characters in one line
MAX_DEPTH = 20  # brackets or elements inside each other; real files need 5 at most
NAME_MAX = 120  # characters in a title, a name, an id or a label


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file (or part of one) that was not used: where, why, and what is used instead."""

    path: Path
    line: int | None
    reason: str
    outcome: str = ""  # e.g. "the standard checklist is used"

    @property
    def where(self) -> str:
        return f"{self.path.name}, line {self.line}" if self.line else self.path.name

    def __str__(self) -> str:
        text = f"{self.where}: {self.reason}"
        return f"{text} — {self.outcome}" if self.outcome else text


class UnreadableFile(ValueError):
    """A file the guard or the parser refused, with the line where that is known."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path.name}, line {line}" if line else path.name
        super().__init__(f"{where}: {reason}")

    def problem(self, outcome: str = "") -> FileProblem:
        return FileProblem(self.path, self.line, self.reason, outcome)


def _line_at(data: bytes, index: int) -> int:
    return data.count(b"\n", 0, max(0, index)) + 1


# ---------------------------------------------------------------- bytes and text
def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, at most `max_bytes`; FileNotFoundError is left to the caller."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a folder or a pipe would block or fail later
            raise UnreadableFile(path, None, "is not an ordinary file")
        if st.st_size > max_bytes:
            raise UnreadableFile(path, None, f"is {_size(st.st_size)}; a file of this kind is at "
                                             f"most {_size(max_bytes)} — is it the right file?")
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path itself
        if isinstance(e, UnreadableFile):
            raise
        raise UnreadableFile(path, None, "cannot be opened (no permission or a disk "
                                         "problem)") from e
    if len(raw) > max_bytes:  # it grew while being read
        raise UnreadableFile(path, None, f"is larger than {_size(max_bytes)}")
    return raw


def decode_text(raw: bytes, path: Path, max_line: int = MAX_LINE) -> str:
    """UTF-8 text without NUL bytes or absurd lines, or UnreadableFile naming the line."""
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise UnreadableFile(path, _line_at(raw, nul), "contains a NUL byte, so it is damaged "
                                                       "or is not a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UnreadableFile(path, _line_at(raw, e.start), "is not saved as UTF-8 text — open "
                                                           "it and save it again as UTF-8") from e
    check_lines(text, path, max_line)
    return text


def check_lines(text: str, path: Path, max_line: int = MAX_LINE) -> None:
    if len(text) <= max_line:
        return
    m = re.compile(r"[^\r\n]{" + str(max_line + 1) + ",}").search(text)
    if m is not None:
        raise UnreadableFile(path, text.count("\n", 0, m.start()) + 1,
                             f"this line is {len(m.group())} characters long; at most "
                             f"{max_line} are read")


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    return decode_text(read_bytes(path, max_bytes), path)


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{max(1, n // 1024)} kB"


# ---------------------------------------------------------------- nesting depth
_TOML_TOKENS = re.compile(r"\"\"\"|'''|[\"'#\[\]{}\n]")
_JSON_TOKENS = re.compile(r"[\"\[\]{}\n]")


def _escaped(text: str, at: int) -> bool:
    """Is the quote at `at` preceded by an odd number of backslashes?"""
    n = 0
    while at - n - 1 >= 0 and text[at - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def check_nesting(text: str, path: Path, syntax: str, limit: int = MAX_DEPTH) -> None:
    """Refuse brackets nested deeper than `limit` before a recursive parser sees them.

    A cheap scan that skips strings and comments: TOML ("toml") or JSON ("json").
    """
    tokens = _TOML_TOKENS if syntax == "toml" else _JSON_TOKENS
    depth, line = 0, 1
    inside: str | None = None  # the quote or comment mark we are inside of
    for m in tokens.finditer(text):
        tok = m.group()
        if tok == "\n":
            line += 1
            if inside in ('"', "'", "#"):  # single-line strings and comments end here
                inside = None
            continue
        if inside is not None:
            if inside != "#" and tok[0] == inside[0] and len(tok) >= len(inside) and not (
                    inside[0] == '"' and _escaped(text, m.start())):
                inside = None
            continue
        if tok in ('"', "'", '"""', "'''") or (tok == "#" and syntax == "toml"):
            inside = tok
        elif tok in "[{":
            depth += 1
            if depth > limit:
                raise UnreadableFile(path, line, f"brackets are nested more than {limit} deep "
                                                 "here; the file is damaged or not a clinic file")
        elif tok in "]}":
            depth = max(0, depth - 1)


def depth_of(value: Any) -> int:
    """How deeply lists and tables sit inside each other (without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v)
    return deepest


def _too_deep(path: Path) -> UnreadableFile:
    return UnreadableFile(path, None, f"tables or lists are nested more than {MAX_DEPTH} deep; "
                                      "the file is damaged or not a clinic file")


# ---------------------------------------------------------------- TOML, JSON, XML
def parse_toml(text: str, path: Path) -> dict[str, Any]:
    check_nesting(text, path, "toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise UnreadableFile(path, int(m.group(1)) if m else None,
                             f"not valid TOML ({reason}). Check quotes, brackets and '='.") from e
    except RecursionError as e:  # dotted keys can nest without brackets
        raise _too_deep(path) from e
    if depth_of(data) > MAX_DEPTH:
        raise _too_deep(path)
    return data


def load_toml(path: Path) -> dict[str, Any]:
    return parse_toml(read_text(path), path)


def parse_json(text: str, path: Path) -> Any:
    check_nesting(text, path, "json")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UnreadableFile(path, e.lineno, f"is not valid JSON ({e.msg})") from e
    except (RecursionError, ValueError) as e:  # ValueError: a number too long to convert
        raise UnreadableFile(path, None, f"could not be read ({type(e).__name__})") from e


def load_json(path: Path) -> Any:
    return parse_json(read_text(path), path)


class _TooDeep(Exception):
    pass


class _DepthLimitedBuilder(ET.TreeBuilder):
    """Builds the element tree, refusing elements nested deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooDeep
        return super().start(tag, attrs)

    def end(self, tag: Any) -> ET.Element:
        self.depth -= 1
        return super().end(tag)


def parse_xml(raw: bytes, path: Path) -> ET.Element:
    """An XML document without entities, DTD tricks or runaway nesting."""
    parser = DET.XMLParser(target=_DepthLimitedBuilder())
    try:
        parser.feed(raw)
        root: ET.Element = parser.close()
        return root
    except _TooDeep as e:
        line = getattr(getattr(parser, "parser", None), "CurrentLineNumber", None)
        raise UnreadableFile(path, line, f"elements are nested more than {MAX_DEPTH} deep; the "
                                         "file is damaged or not a playlist") from e
    except DefusedXmlException as e:
        raise UnreadableFile(path, None, "uses XML entities or outside references, which are "
                                         "not read (a safety measure)") from e
    except SyntaxError as e:  # ElementTree's ParseError, from either of its two modules
        pos = getattr(e, "position", None)
        raise UnreadableFile(path, pos[0] if pos else None,
                             "is damaged and could not be read (XML error)") from e
    except (RecursionError, ValueError) as e:
        raise UnreadableFile(path, None, "is damaged and could not be read") from e


# ---------------------------------------------------------------- names
def too_long(value: str, limit: int = NAME_MAX) -> bool:
    return len(value) > limit


def shorten(value: str, limit: int = NAME_MAX) -> str:
    """A name cut to `limit` characters, marked with an ellipsis."""
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"
