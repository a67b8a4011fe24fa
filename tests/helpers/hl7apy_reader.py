"""hl7apy as a reference reader for HL7 v2 text, for tests only.

Holdspace reads HL7 with its own parser (devices.protocols.hl7_er7); the tests hold it equal to
this well-kept library on generated and vendor messages, and check the segment-id table
against the library's tables for every version.
"""

from __future__ import annotations

import importlib
from typing import Any

from devices.protocols.hl7_er7 import Segment

FALLBACK_VERSION = "2.6"  # parse with this when MSH-12 names a version hl7apy lacks


def _num(name: str) -> int:
    tail = name.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _trim(comps: list[str]) -> list[str]:
    while len(comps) > 1 and comps[-1] == "":
        comps.pop()
    return comps


def components(field: Any) -> list[str]:
    """The component values of one hl7apy field repetition, by position (1-based -> [0])."""
    kids = getattr(field, "children", None)
    if not kids:
        return [str(field.value or "")]
    out: list[str] = []
    for c in kids:
        n = _num(c.name) or 1  # simple types name their one component without a number
        while len(out) < n:
            out.append("")
        out[n - 1] = str(c.value or "")
    return _trim(out)


def segment(seg: Any) -> Segment:
    fields: dict[int, list[list[str]]] = {}
    for f in seg.children:
        fields.setdefault(_num(f.name), []).append(components(f))
    return Segment(seg.name, fields)


def parse_with_hl7apy(text: str) -> list[Segment]:
    """All segments, read by hl7apy (tolerant); versions it lacks are read as 2.6."""
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.exceptions import UnsupportedVersion
    from hl7apy.parser import parse_message, parse_segments

    try:
        msg = parse_message(text, validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=False)
        segs = list(msg.children)
    except UnsupportedVersion:
        segs = list(parse_segments(text, version=FALLBACK_VERSION,
                                   validation_level=VALIDATION_LEVEL.TOLERANT))
    return [segment(s) for s in segs]


def known_segments() -> frozenset[str]:
    """Every three-letter segment id in hl7apy's tables, all versions."""
    from hl7apy import SUPPORTED_LIBRARIES

    names: set[str] = set()
    for module in SUPPORTED_LIBRARIES.values():
        table = importlib.import_module(f"{module}.segments").SEGMENTS
        names.update(k for k in table if len(k) == 3)
    return frozenset(names)
