"""Masimo's full exception bitmask: each documented bit decides quality and says why in words.

The bits are those of the Radical-5/7 serial interface's exception field (EXC, hex), as listed
in MD PnP OpenICE `poxrad_discrete.h` (exceptionmessage(): 000001 No Sensor ... 400000 SpMET
Low Confidence) and in /work/shared/reference/protocols.md, Masimo section (001 no sensor ...
800 full SET mode). Lines are Rad-8 "ASCII 1" lines as in protocol-samples (d); the trend-dump
form `EXC=828:Search,OffPat,SET` is sample (a) of the same file.
"""

from __future__ import annotations

import math

import pytest

from devices import mdc
from devices.protocols import masimo
from devices.protocols.masimo import MasimoDecoder
from devices.reading import Quality, Reading

LINE = ("03/19/16 13:37:12 SN=0000093112 SPO2=097% BPM=064 PI=00.80% SPCO=--.-% SPMET=--.-% "
        "DESAT=-- PIDELTA=+-- ALARM=0000 EXC={exc}\r\n")
V, Q, X = Quality.VALID, Quality.QUESTIONABLE, Quality.INVALID


def decode(text: str) -> list[Reading]:
    out = MasimoDecoder("t").feed(text.encode("ascii"), 1.0)
    rs = [s for s in out if isinstance(s, Reading)]
    assert [r.code for r in rs] == [mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_PULS_OXIM_PULS_RATE,
                                    mdc.MDC_PULS_OXIM_PERF_REL]
    return rs


# (bit, quality, words in the reason) — OpenICE poxrad_discrete.h exceptionmessage().
BITS = [
    (0x000001, X, "no sensor"),  # No Sensor
    (0x000002, X, "sensor defective"),  # Defective Sensor
    (0x000004, Q, "low perfusion"),  # Low Perfusion
    (0x000008, X, "searching for pulse"),  # Pulse Search
    (0x000010, Q, "interference"),  # Interference
    (0x000020, X, "sensor off patient"),  # Sensor Off
    (0x000040, Q, "ambient light"),  # Ambient Light
    (0x000080, X, "sensor not recognised"),  # Unrecognized Sensor
    (0x000100, X, "incompatible sensor"),  # Incompatible Sensor
    (0x000400, Q, "low signal IQ"),  # Low Signal IQ
    (0x001000, X, "no cable"),  # No Cable Connected
    (0x002000, X, "cable life expired"),  # Cable Life Expired
    (0x004000, X, "incompatible cable"),  # Incompatible Cable
    (0x008000, X, "cable not recognised"),  # Unrecognized Cable
    (0x010000, X, "cable defective"),  # Defective Cable
    (0x020000, X, "sensor calibrating"),  # Sensor Calibrating
    (0x040000, X, "sensor life expired"),  # Sensor Life Expired
    (0x080000, X, "sensor temperature"),  # Emitter Temp Out of Range
    (0x100000, X, "sensor current"),  # Sensor Current Limit Exceeded
]


@pytest.mark.parametrize(("bit", "quality", "words"), BITS)
def test_each_documented_bit_sets_quality_and_reason(bit: int, quality: Quality,
                                                     words: str) -> None:
    """Each bit alone, in the 6-digit ASCII 1 form and the 7-digit rainbow form (sample c)."""
    for exc in (f"{bit:06X}", f"{bit:07X}", f"{bit | 0x800:06X}"):
        rs = decode(LINE.format(exc=exc))
        assert {r.quality for r in rs} == {quality}, exc
        assert all(r.reason is not None and words in r.reason for r in rs), rs[0].reason
        assert all(r.reason is not None and r.reason.startswith("monitor: ") for r in rs)
        if quality == X:
            assert all(math.isnan(r.value) and not r.quality.displayable for r in rs)
        else:
            assert [r.value for r in rs] == [97, 64, pytest.approx(0.8)]


@pytest.mark.parametrize("bit", [0x000800, 0x200000, 0x400000, 0x000200, 0x800000, 0])
def test_information_and_other_parameters_bits_leave_values_valid(bit: int) -> None:
    """Full SET mode (800) is information; SpCO / SpMET low confidence (200000, 400000)
    concern parameters not read here; 200 and 800000 are reserved."""
    rs = decode(LINE.format(exc=f"{bit:06X}"))
    assert {r.quality for r in rs} == {V} and all(r.reason is None for r in rs)


def test_several_bits_are_all_named_and_invalid_wins() -> None:
    """EXC=050424: low perfusion + low signal IQ + cable defective + sensor life expired."""
    rs = decode(LINE.format(exc="050424"))
    assert {r.quality for r in rs} == {X}
    reason = rs[0].reason or ""
    assert "cable defective" in reason and "sensor life expired" in reason
    assert "low perfusion" not in reason  # what makes it invalid is what the room must fix


def test_several_questionable_bits_are_all_named() -> None:
    rs = decode(LINE.format(exc="000414"))  # low perfusion, interference, low signal IQ
    assert {r.quality for r in rs} == {Q}
    assert rs[0].reason == "monitor: low perfusion, interference, low signal IQ"


@pytest.mark.parametrize(("words", "quality", "said"), [
    ("OffPat,SET", X, "sensor off patient"),
    ("Search,OffPat,SET", X, "searching for pulse, sensor off patient"),
    ("LowSigIQ,SET", Q, "low signal IQ"),
])
def test_trend_dump_words_give_the_same_reason(words: str, quality: Quality, said: str) -> None:
    """Sample (a), Rad-8 trend dump: the words after the colon, even when the hex lacks them."""
    out = MasimoDecoder("t").feed(
        f"09/21/08 09:56:12 SpO2=097 PR=069 PI=04.69 EXC=800:{words}\n".encode(), 1.0)
    rs = [s for s in out if isinstance(s, Reading)]
    assert {r.quality for r in rs} == {quality}
    assert rs[0].reason == f"monitor: {said}"


def test_rainbow_exc1_field_is_read_past() -> None:
    """Sample (c): `EXC=0000C00 EXC1=00000000` — the second field does not change the first."""
    line = ("03/17/16 19:19:36 SN=---------- SPO2=098% BPM=123 PI=00.55 SPCO=--% SPMET=--.-% "
            "SPHB=--.- SPOC=-- RESVD=--- DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 "
            "EXC=0000C00 EXC1=00000400\r\n")
    rs = decode(line)
    assert {r.quality for r in rs} == {Q} and "low signal IQ" in (rs[0].reason or "")


def test_missing_exc_zero_and_dashes_each_say_why() -> None:
    rs = decode(LINE.replace(" EXC={exc}", ""))
    assert {r.reason for r in rs} == {masimo.NO_EXC_REASON}
    rs = decode(LINE.format(exc="000000").replace("SPO2=097%", "SPO2=000%"))
    assert {r.reason for r in rs} == {"monitor: no reading (zero)"}
    rs = decode(LINE.format(exc="000000").replace("PI=00.80%", "PI=--.--%"))
    assert rs[0].reason is None and rs[2].reason == "monitor: no value (dashes)"


def test_every_named_bit_is_in_the_table() -> None:
    named = {v for k, v in vars(masimo).items() if k.startswith("EXC_")}
    info = {masimo.EXC_SET_MODE, masimo.EXC_SPCO_LOW_CONFIDENCE, masimo.EXC_SPMET_LOW_CONFIDENCE}
    assert named - info == set(masimo.EXCEPTIONS)
    assert masimo.INVALID_BITS & masimo.QUESTIONABLE_BITS == 0
