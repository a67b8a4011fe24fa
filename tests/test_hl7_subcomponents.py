"""Gateways' IHE-style messages (PCD-01): sub-components in PID-3's assigning authority and in
OBX-18's equipment identifier, escapes in names and texts. Holdspace reads them itself (no
other library at run time); on generated messages every field the decoder and the tests read
must come out as the reference library (hl7apy) splits it, with each component's
sub-components and escapes then resolved as HL7 v2.x Chapter 2 says."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.protocols import hl7
from devices.protocols.hl7_er7 import parse, unescape
from tests.helpers.hl7apy_reader import parse_with_hl7apy

WORD = st.text("abXY019.-_", min_size=1, max_size=6)  # hl7apy treats blanks unevenly
ESCAPE = st.sampled_from(["\\F\\", "\\S\\", "\\T\\", "\\R\\", "\\E\\"])


def text() -> st.SearchStrategy[str]:
    """A value with escapes now and then."""
    return st.lists(st.one_of(WORD, ESCAPE), min_size=1, max_size=3).map("".join).filter(
        lambda s: not s.startswith("\\") or len(s) > 3)


def subs() -> st.SearchStrategy[str]:
    """A component of sub-components: an assigning authority (HOSP&1.2.3&ISO) or a text."""
    return st.lists(text(), min_size=1, max_size=3).map("&".join)


# HR, SpO2, PR, RR with their units: one row each (a repeated code and time is sent once)
ROWS = [("147842", "264864"), ("150456", "262688"), ("149530", "264864"), ("151578", "264928")]


@st.composite
def ihe_message(draw: st.DrawFn) -> str:
    pid3 = f"{draw(WORD)}^^^{draw(subs())}^MR"
    segs = [f"MSH|^~\\&|{draw(WORD)}^{draw(WORD)}^EUI-64|{draw(WORD)}|||20241124101530||"
            f"ORU^R01^ORU_R01|{draw(WORD)}|P|2.6|||AL|NE",
            f"PID|||{pid3}||{draw(text())}^{draw(text())}",
            f"PV1||I|{draw(WORD)}^^{draw(subs())}",
            "OBR|1||X1|182777000^monitoring of patient^SNOMED-CT|||20241124101530"]
    for i in range(1, draw(st.integers(1, len(ROWS))) + 1):
        code, unit = ROWS[i - 1]
        segs.append(f"OBX|{i}|NM|{code}^{draw(text())}^MDC|1.1.{i}.1|{draw(st.integers(0, 300))}|"
                    f"{unit}^{draw(text())}^MDC|||||R|||20241124101530||||"
                    f"{draw(WORD)}^^{draw(subs())}^EUI-64")
    return "\r".join(segs)


READ = {"MSH": (3, 4, 7, 9, 10, 11, 12, 15), "PID": (3, 5), "PV1": (3,), "OBR": (7,),
        "OBX": (2, 3, 4, 5, 6, 11, 14, 18)}


def resolved(raw: str) -> list[str]:
    return [unescape(s) if s.strip() else "" for s in raw.split("&")]


def assert_same(text: str) -> None:
    ours, ref = parse(text), parse_with_hl7apy(text)
    assert [s.name for s in ours] == [s.name for s in ref]
    for a, b in zip(ours, ref, strict=True):
        for n in READ.get(a.name, ()):
            got, want = a.reps(n), b.reps(n)
            assert len(got) == len(want), (a.name, n)
            for r, (got_rep, want_rep) in enumerate(zip(got, want, strict=True), start=1):
                assert len(got_rep) == len(want_rep), (a.name, n, text)
                for c, raw in enumerate(want_rep, start=1):
                    pieces = resolved(raw)
                    assert a.subs(n, c, r) == pieces, (a.name, n, c, text)
                    assert got_rep[c - 1] == (pieces[0] if pieces[0].strip() else "")


@settings(max_examples=100, deadline=None)
@given(ihe_message())
def test_ihe_messages_read_as_the_reference_library_splits_them(text: str) -> None:
    assert_same(text)


@settings(max_examples=50, deadline=None)
@given(ihe_message())
def test_ihe_messages_are_decoded(text: str) -> None:
    """The sub-components and escapes cost nothing: every OBX gives its SpO2 value."""
    d = hl7.Hl7Decoder("gw")
    out = d.feed(hl7.mllp(text), 1.0)
    assert d.stats.frames_rejected == 0
    assert len(out) == text.count("\rOBX|")


def test_a_subcomponent_field_next_to_plain_ones() -> None:
    seg = parse("MSH|^~\\&|A|B|||20241124||ORU^R01|1|P|2.6\r"
                "PID|||X1^^^HOSP&1.2.3&ISO^MR||O\\T\\Brien^Ann\r")[1]
    assert seg.comps(3) == ["X1", "", "", "HOSP", "MR"]
    assert seg.subs(3, 4) == ["HOSP", "1.2.3", "ISO"]
    assert seg.subs(3, 1) == ["X1"]
    assert seg.comps(5) == ["O&Brien", "Ann"]
    assert seg.reps(7) == [] and seg.subs(7) == []
