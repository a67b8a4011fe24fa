"""OBX-3 and OBX-6 codings to MDC codes and units.

One code space, however it is written (devices.mdc explains the sources):
- MDC (IHE PCD-01): the 32-bit code in decimal, "147842^MDC_ECG_HEART_RATE^MDC";
- MDIL (Philips Information Center / PIC iX, SureSigns, Efficia): partition and term in
  hexadecimal joined by a dash, "0002-4182^HR^MDIL", units "0004-0aa0^bpm^MDIL" (Efficia CM
  Series Data Export Guide, "MDIL Coding"); the partition-colon form "2::4182" is read the same
  way (hexadecimal term: UNVERIFIED which senders use it, one constant below);
- a vendor's own system (99MNDRY, …) carrying a known MDC number, or any coding naming a known
  MDC reference id as its text.
Every code then goes through mdc.canonical, which also applies the Philips remap the IntelliVue
decoder uses (0x4822, the SpO2 pulse rate, is stored as MDC_PULS_OXIM_PULS_RATE).
"""

from __future__ import annotations

import re

from devices import mdc

# Every MDC reference id we know, by name, for vendor codings that carry it as text.
CODE_BY_NAME: dict[str, int] = {
    k: v for k, v in vars(mdc).items()
    if k.startswith("MDC_") and not k.startswith("MDC_DIM_") and isinstance(v, int)
}
KNOWN_CODES = frozenset(CODE_BY_NAME.values()) | frozenset(mdc.CANONICAL)
UNIT_BY_NAME: dict[str, int] = {
    k: v for k, v in vars(mdc).items() if k.startswith("MDC_DIM_") and isinstance(v, int)
}
UNIT_BY_NAME["MDC_DIM_DIMLESS"] = mdc.MDC_DIM_DIMLESS
PER_MIN = -1  # "/min" without saying of what: the parameter decides (beats or breaths)
UNIT_BY_TEXT: dict[str, int] = {
    "%": mdc.MDC_DIM_PERCENT,
    "bpm": mdc.MDC_DIM_BEAT_PER_MIN,
    "{beats}/min": mdc.MDC_DIM_BEAT_PER_MIN,
    "{beat}/min": mdc.MDC_DIM_BEAT_PER_MIN,
    "rpm": mdc.MDC_DIM_RESP_PER_MIN,
    "brpm": mdc.MDC_DIM_RESP_PER_MIN,
    "{breaths}/min": mdc.MDC_DIM_RESP_PER_MIN,
    "{breath}/min": mdc.MDC_DIM_RESP_PER_MIN,
    "{resp}/min": mdc.MDC_DIM_RESP_PER_MIN,
    "/min": PER_MIN,
    "1/min": PER_MIN,
    "min-1": PER_MIN,
    "mmhg": mdc.MDC_DIM_MMHG,
    "mm[hg]": mdc.MDC_DIM_MMHG,
    "cel": mdc.MDC_DIM_DEGC,
    "degc": mdc.MDC_DIM_DEGC,
    "°c": mdc.MDC_DIM_DEGC,
}
# Coding systems whose identifiers are MDC codes in one of the forms below; a unit sent with
# no coding system at all is read as MDC too (a code is not: it could be anyone's).
MDC_SYSTEMS = frozenset({"MDC", "MDIL"})
UNIT_SYSTEMS = MDC_SYSTEMS | {""}
_DASH = re.compile(r"([0-9A-Fa-f]{1,4})-([0-9A-Fa-f]{1,4})")  # MDIL "0002-4182"
_COLON = re.compile(r"(\d{1,5})::([0-9A-Fa-f]{1,4})")  # "2::4182"
COLON_TERM_BASE = 16  # the term after "::" is hexadecimal, as in MDIL (UNVERIFIED)


def code_number(ident: str, system: str, systems: frozenset[str] = MDC_SYSTEMS) -> int | None:
    """The 32-bit MDC code an identifier spells under an MDC-like system, not yet canonical.

    Decimal ("147842"), partition-dash hexadecimal ("0002-4182", MDIL) or partition-colon
    ("2::4182"). A decimal under 65536 is a partition-0 attribute id (IHE PCD sends
    "0^MDC_ATTR_SAMP_RATE"), never a measurement: None.
    """
    if system not in systems:
        return None
    if ident.isdigit():
        n = int(ident)
        return n if 65536 <= n <= 0xFFFF_FFFF else None
    m = _DASH.fullmatch(ident)
    if m:
        return (int(m.group(1), 16) << 16) | int(m.group(2), 16)
    m = _COLON.fullmatch(ident)
    if m and int(m.group(1)) <= 0xFFFF:
        return (int(m.group(1)) << 16) | int(m.group(2), COLON_TERM_BASE)
    return None


def mdc_number(ident: str, system: str) -> int | None:
    """An MDC code (canonical) from one coding's identifier and system, or None."""
    code = code_number(ident, system)
    if code is None and ident.isdigit() and int(ident) in KNOWN_CODES:
        code = int(ident)  # a known MDC number under a vendor's own system (99MNDRY)
    return None if code is None else mdc.canonical(code)


def coded(reps: list[list[str]]) -> tuple[int | None, bool]:
    """(canonical MDC code of OBX-3, whether a coding contradicted itself).

    Every repetition and both the primary and the alternate coding are tried. A coding whose
    number and reference id name different parameters is not guessed at.
    """
    conflict = False
    for rep in reps:
        padded = [*rep, "", "", "", "", "", ""]
        for ident, text, system in (padded[0:3], padded[3:6]):
            by_number = mdc_number(ident.strip(), system.strip().upper())
            name = CODE_BY_NAME.get(text.strip().upper())
            by_name = None if name is None else mdc.canonical(name)
            if by_number is not None and by_name is not None and by_number != by_name:
                conflict = True
                continue
            code = by_name if by_name is not None else by_number
            if code is not None:
                return code, False
    return None, conflict


def unit_of(comps: list[str]) -> int | None:
    """The MDC unit an OBX-6 names (PER_MIN for a bare "/min"), or None if unreadable.

    Empty OBX-6 is for the caller to decide (the parameter's own unit, if plausible).
    """
    ident, text, system = [*comps, "", "", ""][:3]
    ident, text, system = ident.strip(), text.strip(), system.strip().upper()
    unit = code_number(ident, system, UNIT_SYSTEMS)
    if unit is not None:
        return mdc.MDC_DIM_DIMLESS if unit == mdc.MDC_DIM_DIMLESS_10101 else unit
    for word in (ident, text):
        if word.upper() in UNIT_BY_NAME:
            return UNIT_BY_NAME[word.upper()]
        if word.lower() in UNIT_BY_TEXT:
            return UNIT_BY_TEXT[word.lower()]
    return None
