"""Real HL7 from monitors and gateways (issue 12, items 1-6): vendor coding systems, every
version, row-by-row decoding, waveform gaps and attributes, vendor vocabulary, timestamps.

Every message here is written for this test from the format the cited document describes.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.store import records
from console.store.db import connect_file, open_db, sync_parameters
from console.store.writer import StoreWriter
from devices import mdc, plausibility
from devices.protocols import hl7_er7, intellivue
from devices.protocols.hl7 import Hl7Decoder, mllp
from devices.protocols.hl7_er7 import Delimiters, parse, unescape
from devices.protocols.hl7_segments import SEGMENT_IDS
from devices.protocols.hl7_time import parse_hl7_time
from devices.reading import Quality, Reading, Sample, WaveChunk
from tests.helpers.hl7apy_reader import known_segments, parse_with_hl7apy

T0 = datetime(2024, 11, 24, 10, 15, 30, tzinfo=UTC).timestamp()


def msg(*obx: str, version: str = "2.6", msh_tail: str = "", pv1: str = "PV1||I|KAP^^1",
        processing: str = "P") -> str:
    head = [
        f"MSH|^~\\&|SENDER|FAC|||20241124101530+0000||ORU^R01|C1|{processing}|{version}"
        + msh_tail,
        "PID|||12345^^^HOSP^PI||Doe^Jane",
        pv1,
        "OBR|1||C1|MONITOR|||20241124101530+0000",
    ]
    return "\r".join(head + [f"OBX|{i}|{o}" for i, o in enumerate(obx, start=1)]) + "\r"


def feed(*messages: str, decoder: Hl7Decoder | None = None) -> tuple[Hl7Decoder, list[Sample]]:
    d = decoder or Hl7Decoder("field")
    out: list[Sample] = []
    for m in messages:
        out += d.feed(mllp(m), 500.0)
    return d, out


def readings(out: list[Sample]) -> dict[int, Reading]:
    return {s.code: s for s in out if isinstance(s, Reading)}


def chunks(out: list[Sample]) -> list[WaveChunk]:
    return [s for s in out if isinstance(s, WaveChunk)]


# --- 1. Philips MDIL ---------------------------------------------------------------------------


def test_mdil_codes_and_units_from_the_efficia_guide() -> None:
    """Philips Efficia CM Series Data Export Guide, "ORF Message Syntax" (p. 3-18) and "MDIL
    Coding" (p. 3-27): OBX-3 is <partition>-<term> in hexadecimal with coding system MDIL
    (0002 SCADA, 0004 dimensions), e.g. 0002-4182^HR^MDIL with unit 0004-0aa0^bpm^MDIL."""
    _, out = feed(msg(
        "NM|0002-4182^HR^MDIL||72|0004-0aa0^bpm^MDIL|||||F",
        "NM|0002-4bb8^SpO2^MDIL||97|0004-0220^%^MDIL|||||F",
        "NM|0002-4a05^NBPs^MDIL||121|0004-0f20^mmHg^MDIL|||||F",
        "NM|0002-4a06^NBPd^MDIL||79|0004-0f20^mmHg^MDIL|||||F",
        "NM|0002-4a07^NBPm^MDIL||93|0004-0f20^mmHg^MDIL|||||F",
        "NM|0002-480a^Pulse^MDIL||71|0004-0aa0^bpm^MDIL|||||F",
        "NM|0002-50b0^etCO2^MDIL||36|0004-0f20^mmHg^MDIL|||||F",
    ))
    got = {c: (r.value, r.unit, r.quality) for c, r in readings(out).items()}
    assert got == {
        mdc.MDC_ECG_HEART_RATE: (72, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        mdc.MDC_PULS_OXIM_SAT_O2: (97, mdc.MDC_DIM_PERCENT, Quality.VALID),
        mdc.MDC_PRESS_BLD_NONINV_SYS: (121, mdc.MDC_DIM_MMHG, Quality.VALID),
        mdc.MDC_PRESS_BLD_NONINV_DIA: (79, mdc.MDC_DIM_MMHG, Quality.VALID),
        mdc.MDC_PRESS_BLD_NONINV_MEAN: (93, mdc.MDC_DIM_MMHG, Quality.VALID),
        mdc.MDC_PULS_RATE: (71, mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID),
        mdc.MDC_AWAY_CO2_ET: (36, mdc.MDC_DIM_MMHG, Quality.VALID),
    }


def test_mdil_question_mark_on_screen_is_no_value() -> None:
    """Efficia guide p. 3-18: "the empty Observation Value field (OBX-5) indicates that HR pane
    on the monitor screen contains a question mark (?). The X in OBX-11 indicates an invalid
    measurement": OBX||NM|0002-4182^HR^MDIL|||0004-0aa0^bpm^MDIL|||||X."""
    _, out = feed(msg("NM|0002-4182^HR^MDIL|||0004-0aa0^bpm^MDIL|||||X"))
    hr = readings(out)[mdc.MDC_ECG_HEART_RATE]
    assert math.isnan(hr.value) and hr.quality == Quality.INVALID


def test_pleth_pulse_rate_remap_is_the_intellivue_decoders() -> None:
    """Philips Data Export Programming Guide rev G, "Physiological Identifier": the SpO2 pulse
    rate is NOM_PLETH_PULS_RATE 0x4822; the IntelliVue decoder stores it as
    MDC_PULS_OXIM_PULS_RATE, and so must HL7 in MDIL (0002-4822) or MDC (149538) form."""
    _, out = feed(msg("NM|0002-4822^PRpl^MDIL||64|0004-0aa0^bpm^MDIL|||||F"))
    (code,) = readings(out)
    assert code == mdc.MDC_PULS_OXIM_PULS_RATE == intellivue.mdc_code(0x4822)
    _, out = feed(msg("NM|149538^MDC_PLETH_PULS_RATE^MDC||64|264864^^MDC|||||F"))
    assert list(readings(out)) == [mdc.MDC_PULS_OXIM_PULS_RATE]
    assert mdc.from_partition(mdc.SCADA, 0x4822) == mdc.MDC_PULS_OXIM_PULS_RATE


@pytest.mark.parametrize("coding", ["0002-4182^HR^MDIL", "0002-4182^^MDC", "2::4182^^MDC",
                                    "2::4182^HR^MDIL", "147842^^MDC", "147842^HR^MDIL",
                                    "2-4182^^MDIL"])
def test_every_code_form_is_one_code_space(coding: str) -> None:
    """Issue 12 item 1: MDIL and MDC, partition-dash, partition-colon and plain numeric codes
    are the same MDC code space (code = partition << 16 | term); Efficia guide p. 3-27."""
    _, out = feed(msg(f"NM|{coding}||70|264864^^MDC|||||F"))
    assert list(readings(out)) == [mdc.MDC_ECG_HEART_RATE]


def test_codes_of_no_coding_system_are_not_taken_for_mdc() -> None:
    """An identifier under a vendor's own system is only taken when it is a known MDC number
    (protocols.md, HL7: vendors send their own code systems, e.g. 99MNDRY)."""
    d, out = feed(msg("NM|0002-4182^HR^99PHL||70|264864^^MDC|||||F",
                      "NM|123456^X^99V||1|264864^^MDC|||||F"))
    assert readings(out) == {} and sum(d.unknown_codes.values()) == 2


# --- 2. every version, fields a version does not define -----------------------------------------


@pytest.mark.parametrize("version", ["2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6",
                                     "2.7", "2.7.1", "2.8", "2.8.2"])
def test_every_version_decodes(version: str) -> None:
    """HL7 v2.x Chapter 2 (message construction rules are the same in 2.1-2.8): MSH-12 names the
    version; the fields we read are in the same places in each."""
    _, out = feed(msg("NM|147842^HR^MDC||72|264864^^MDC|||||F", version=version))
    assert readings(out)[mdc.MDC_ECG_HEART_RATE].value == 72


@pytest.mark.parametrize("escaped", [False, True])
def test_v22_with_a_character_set_field_decodes(escaped: bool) -> None:
    """HL7 v2.2 defines MSH up to MSH-17; a sender's MSH-18 character set "8859/1" (defined
    from v2.3, Chapter 2 MSH-18) is one more field, not an error. With an escape sequence in
    the message too, so the general reader (not only the plain splitter) is exercised."""
    text = msg("NM|0002-4182^HR^MDIL||72|0004-0aa0^bpm^MDIL|||||F", version="2.2",
               msh_tail="|||AL|NE||8859/1")
    if escaped:
        text = text.replace("^HR^", "^H\\T\\R^")
        assert not hl7_er7.is_plain(text.rstrip("\r"))
    d, out = feed(text)
    assert readings(out)[mdc.MDC_ECG_HEART_RATE].value == 72
    assert d.stats.frames_rejected == 0 and d.stats.frames_ok == 1
    assert parse(text)[0].get(18) == "8859/1"


def test_other_delimiters_are_read_from_msh() -> None:
    """HL7 v2.x Chapter 2, MSH-1/MSH-2: the field separator and encoding characters are the
    sender's choice; here '#' separates fields and '$' components."""
    text = msg("NM|147842^HR^MDC||72|264864^^MDC|||||F").replace("|", "#").replace("^", "$")
    text = text.replace("MSH#$~\\&#", "MSH#$~\\&#")
    _, out = feed(text)
    assert readings(out)[mdc.MDC_ECG_HEART_RATE].value == 72


@pytest.mark.parametrize(("raw", "text"), [
    ("a\\F\\b", "a|b"), ("a\\S\\b", "a^b"), ("a\\T\\b", "a&b"), ("a\\R\\b", "a~b"),
    ("a\\E\\b", "a\\b"), ("\\X41\\\\X4243\\", "ABC"), ("\\H\\bold\\N\\", "bold"),
    ("one\\.br\\two", "one\ntwo"), ("\\.sp2\\x", "x"), ("\\C2842\\x", "x"),
    ("\\Zlocal\\", "\\Zlocal\\"), ("lone\\", "lone\\"), ("2.73x10\\S\\-7", "2.73x10^-7"),
])
def test_escape_sequences(raw: str, text: str) -> None:
    """HL7 v2.x Chapter 2, "Use of escape sequences in text fields": \\F\\ \\S\\ \\T\\ \\R\\ \\E\\,
    \\Xdddd\\ hex data, \\H\\/\\N\\ highlighting, formatting commands; an unknown escape is kept."""
    assert unescape(raw, Delimiters()) == text


def test_subcomponents_are_kept_apart() -> None:
    """HL7 v2.x Chapter 2: '&' separates subcomponents; a component's text is its first."""
    seg = parse("MSH|^~\\&|A|B|||20241124||ORU^R01|1|P|2.6\rPV1||I|KAP^^1^HOSP&1.2.3&ISO\r")[1]
    assert seg.comps(3)[:4] == ["KAP", "", "1", "HOSP"]
    assert seg.subs(3, 4) == ["HOSP", "1.2.3", "ISO"]


def test_segment_table_is_every_versions() -> None:
    """The segment ids of HL7 v2.1-2.8.2 (each version's segment table) as the reference
    library lists them."""
    assert known_segments() == SEGMENT_IDS


TEXT = st.text("abXY019.-+_ ", max_size=8)


@st.composite
def escaped_message(draw: st.DrawFn) -> str:
    """Messages with escapes of delimiters in component values."""
    def value() -> str:
        parts = draw(st.lists(st.sampled_from(["ab", "9", "\\S\\", "\\T\\", "\\F\\", "\\R\\",
                                               "\\E\\", "x"]), min_size=1, max_size=4))
        return "".join(parts)
    obx = [f"OBX|{i}|ST|{value()}^{value()}^MDC||{value()}|{value()}|||||F"
           for i in range(1, draw(st.integers(1, 4)) + 1)]
    return "\r".join(["MSH|^~\\&|A|B|||20241124||ORU^R01|1|P|2.6", *obx])


@settings(max_examples=100, deadline=None)
@given(escaped_message())
def test_escapes_read_as_the_reference_library_unescapes(text: str) -> None:
    """Our reader resolves escapes where the reference library keeps them escaped: resolving
    the library's text with our unescape gives our value (OBX-3, -5, -6)."""
    ours, ref = parse(text), parse_with_hl7apy(text)
    for a, b in zip(ours, ref, strict=True):
        if a.name != "OBX":
            continue
        for n in (3, 5, 6):
            assert a.comps(n) == [unescape(c) for c in b.comps(n)], (n, text)


# --- 3. one bad row costs one row ---------------------------------------------------------------


def test_one_bad_obx_costs_that_row_and_is_counted_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """Issue 12 item 3; HL7 v2.x Chapter 7 (each OBX one observation) and Chapter 2A (NM: an
    optional sign, digits and a decimal point): an escaped "2.73x10\\S\\-7" is not a number.
    The row is skipped, SpO2 and HR in the same message are kept; the log names the reason,
    never a value or anything from PID/PV1."""
    caplog.set_level(logging.INFO, logger="devices.protocols.hl7")
    d, out = feed(msg("NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|262688^^MDC|||||F",
                      "NM|0^MDC_X^99LAB||2.73x10\\S\\-7|^mol/L|||||F",
                      "NM|150000^MDC_LAB^MDC||2.73x10\\S\\-7|^mol/L|||||F",
                      "NM|147842^MDC_ECG_HEART_RATE^MDC||72|264864^^MDC|||||F"))
    assert {c: r.value for c, r in readings(out).items()} == {
        mdc.MDC_PULS_OXIM_SAT_O2: 97, mdc.MDC_ECG_HEART_RATE: 72}
    assert d.stats.rows_skipped == 1 and d.skipped_rows == {"NM value is not a number": 1}
    assert d.stats.frames_ok == 1 and d.stats.frames_rejected == 0
    ack = parse(d.outgoing(0.0)[1:-2].decode())
    assert ack[1].get(1) == "AA"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "NM value is not a number" in logged
    for private in ("Doe", "Jane", "12345", "KAP", "2.73", "97", "72"):
        assert private not in logged, private
    feed(msg("NM|150000^MDC_LAB^MDC||1x|^mol/L|||||F",
             "NM|147842^MDC_ECG_HEART_RATE^MDC||72|264864^^MDC|||||F"), decoder=d)
    assert d.stats.rows_skipped == 2
    assert logged.count("skipped") == 1 and len([
        r for r in caplog.records if "skipped" in r.getMessage()]) == 1  # once per reason


def test_damaged_frame_is_answered_ar_with_the_reason() -> None:
    """HL7 v2.x Chapter 2, original acknowledgment mode: AR rejects a message that cannot be
    processed (the sender sends it again); the reason in MSA-3 and ERR (table 0357)."""
    cut = msg("NM|147842^HR^MDC||72|264864^^MDC|||||F").rstrip("\r")  # last CR lost
    d = Hl7Decoder("field")
    out = d.feed(b"\x0b" + cut.encode() + b"\x1c\r", 500.0)
    assert out == [] and d.stats.frames_rejected == 1
    ack = parse(d.outgoing(0.0)[1:-2].decode())
    assert [s.name for s in ack] == ["MSH", "MSA", "ERR"]
    assert (ack[1].get(1), ack[1].get(2)) == ("AR", "C1") and "cut short" in ack[1].get(3)
    assert ack[2].get(3) == "100"  # v2.5+: ERR-3 HL7 error code


def test_ae_err_layout_follows_the_senders_version() -> None:
    """HL7 v2.1-2.4: ERR-1 "error code and location" (ELD, the code as subcomponents of its 4th
    component); v2.5+: ERR-3 error code, ERR-4 severity."""
    d, _ = feed(msg("NM|147842^HR^MDC||7x|264864^^MDC|||||F", version="2.3.1"))
    ack = parse(d.outgoing(0.0)[1:-2].decode())
    assert ack[1].get(1) == "AE" and ack[2].subs(1, 4) == ["102", "Data type error", "HL70357"]
    assert ack[0].get(9, 1) == "ACK" and ack[0].get(12) == "2.3.1"


# --- 4. waveforms -------------------------------------------------------------------------------

PLETH = "150452^MDC_PULS_OXIM_PLETH^MDC"


def wave(values: str, sub: str = "1.3.1.150452", status: str = "R") -> str:
    return f"NA|{PLETH}|{sub}|{values}|262656^MDC_DIM_DIMLESS^MDC|||||{status}"


def attr(name: str, sub: str, value: str, vtype: str = "NM", unit: str = "") -> str:
    return f"{vtype}|{name}|{sub}|{value}|{unit}|||||R"


RATE = attr("0^MDC_ATTR_SAMP_RATE^MDC", "1.3.1.150452.1", "100", unit="264608^MDC_DIM_PER_SEC^MDC")


def test_no_data_markers_become_gaps_with_the_samples_kept_in_place() -> None:
    """IHE PCD-01 waveform rows (NA samples, attributes in child rows): a sample of 32767, the
    top of a 16-bit sample, is the sender's "no data" (issue 12 item 4), stored as NaN so the
    samples around it keep their times."""
    _, out = feed(msg(wave("10^20^32767^32767^30"), RATE))
    (w,) = chunks(out)
    np.testing.assert_array_equal(w.samples, np.array([10, 20, np.nan, np.nan, 30], np.float32))
    assert w.samples.dtype == np.float32 and w.rate_hz == 100 and w.quality == Quality.VALID


def test_inop_row_names_the_no_data_value() -> None:
    """A Mindray-style INOP attribute row (MDC_EVT_INOP with a number, under the wave's sub-id)
    names the sample value that means "no data" (UNVERIFIED reading, one rule in hl7_obx)."""
    _, out = feed(msg(wave("0^5^-1^-1^7"), RATE,
                      attr("262196^MDC_EVT_INOP^MDC", "1.3.1.150452.3", "-1")))
    np.testing.assert_array_equal(chunks(out)[0].samples, [0, 5, np.nan, np.nan, 7])


def test_inop_row_with_a_status_makes_the_chunk_invalid() -> None:
    """An INOP row that carries a status, not a value: none of the samples is data."""
    _, out = feed(msg(wave("1^2^3"), RATE,
                      attr("0^MDC_EVT_INOP^MDC", "1.3.1.150452.3", "LEADS OFF", vtype="ST")))
    assert chunks(out)[0].quality == Quality.INVALID


def test_samples_outside_or_at_the_top_of_the_stated_range_are_gaps() -> None:
    """IHE PCD Waveform Content Module: MDC_ATTR_DATA_RANGE (NR "low^high") in a child row. A
    sample outside it is not data; at its top when the top is an all-ones 12-bit code (4095)."""
    _, out = feed(msg(wave("0^100^4095^5000^-3"), RATE,
                      attr("0^MDC_ATTR_DATA_RANGE^MDC", "1.3.1.150452.2", "0^4095", "NR")))
    np.testing.assert_array_equal(chunks(out)[0].samples, [0, 100, np.nan, np.nan, np.nan])
    _, out = feed(msg(wave("-0.5^1.25^0.25"), RATE,
                      attr("0^MDC_ATTR_DATA_RANGE^MDC", "1.3.1.150452.2", "-0.5^1.25", "NR")))
    np.testing.assert_array_equal(chunks(out)[0].samples, [-0.5, 1.25, 0.25])  # a real maximum


def test_waveform_attribute_rows_are_never_readings() -> None:
    """Sample rate, resolution (MDC_ATTR_NU_MSMT_RES, code 2327), INOP, filter and any child
    row of a wave are the wave's metadata (issue 12 item 4), not observations."""
    d, out = feed(msg(
        wave("1^2^3"), RATE,
        attr("2327^MDC_ATTR_NU_MSMT_RES^MDC", "1.3.1.150452.2", "1.000000",
             unit="262656^MDC_DIM_DIMLESS^MDC"),
        attr("262196^MDC_EVT_INOP^MDC", "1.3.1.150452.3", "32767"),
        attr("0^MDC_ATTR_FILTER_LOW_PASS^MDC", "1.3.1.150452.4", "40"),
        attr("150500^VENDOR_THING^MDC", "1.3.1.150452.5", "12"),
        "NM|147842^MDC_ECG_HEART_RATE^MDC|1.1.1.1|72|264864^^MDC|||||F",
    ))
    assert list(readings(out)) == [mdc.MDC_ECG_HEART_RATE]
    assert len(chunks(out)) == 1 and d.unknown_codes == {} and d.stats.rows_skipped == 0


def test_gaps_are_stored_as_nan_in_the_float32_waveform(db_path: Path) -> None:
    """The store keeps float32 samples (console/store/writer.py): a gap stays NaN in SQLite."""
    _, out = feed(msg(wave("10^32767^30"), RATE))
    w = StoreWriter(str(db_path))
    w.start()
    sid = w.call(lambda c: records.start_session(c, None, 100.0)).result(5)
    w.add_samples(sid, chunks(out))
    w.flush()
    w.stop()
    conn = open_db(db_path)
    (blob,) = conn.execute("SELECT samples FROM waveforms").fetchone()
    np.testing.assert_array_equal(np.frombuffer(blob, dtype="<f4"), [10, np.nan, 30])


# --- 5. vendor codes, LOINC, the parameters table -----------------------------------------------


@pytest.mark.parametrize(("coding", "unit", "code"), [
    # GE CARESCAPE/B40 HL7 reference 2062665-001, PCD-01 examples
    ("151712^MDC_CONC_AWAY_CO2_EXP^MDC", "266016^MDC_DIM_MMHG^MDC", mdc.MDC_AWAY_CO2_ET),
    ("151716^MDC_CONC_AWAY_CO2_INSP^MDC", "266016^MDC_DIM_MMHG^MDC", mdc.MDC_CONC_AWAY_CO2_INSP),
    ("151708^MDC_CONC_AWAY_CO2_ET^MDC", "266016^MDC_DIM_MMHG^MDC", mdc.MDC_AWAY_CO2_ET),
    ("149522^MDC_BLD_PULS_RATE_INV^MDC", "264864^^MDC", mdc.MDC_BLD_PULS_RATE_INV),
    # Philips Data Export Programming Guide rev G, "Physiological Identifier", sent as MDIL
    ("0002-50ba^imCO2^MDIL", "0004-0f20^mmHg^MDIL", mdc.MDC_CONC_AWAY_CO2_INSP),
    ("0002-5284^inO2^MDIL", "0004-0220^%^MDIL", mdc.MDC_CONC_AWAY_O2_INSP),
    ("0002-7498^FIO2^MDIL", "0004-0220^%^MDIL", mdc.MDC_CONC_AWAY_O2_INSP),
    ("0002-5378^etO2^MDIL", "0004-0220^%^MDIL", mdc.MDC_CONC_AWAY_O2_ET),
    ("0002-f0e5^NBP-PR^MDIL", "0004-0aa0^bpm^MDIL", mdc.MDC_PULS_RATE_NON_INV),
    ("0002-4b48^Tbody^MDIL", "0004-17a0^°C^MDIL", mdc.MDC_TEMP),
    ("0002-4b60^Tcore^MDIL", "0004-17a0^°C^MDIL", mdc.MDC_TEMP_CORE),
    ("0002-4b74^Tskin^MDIL", "0004-17a0^°C^MDIL", mdc.MDC_TEMP_SKIN),
    ("0002-4b78^Ttymp^MDIL", "0004-17a0^°C^MDIL", mdc.MDC_TEMP_TYMP),
    ("0002-e004^Trect^MDIL", "0004-17a0^°C^MDIL", mdc.MDC_TEMP_RECT),
    ("0002-f110^pToral^MDIL", "0004-17a0^°C^MDIL", mdc.MDC_TEMP_ORAL),
    ("0002-f118^pTaxil^MDIL", "0004-17a0^°C^MDIL", mdc.MDC_TEMP_AXIL),
    # ISO/IEEE 11073-10101 (RTMMS): NIBP in the cuff family, ventilator FiO2
    ("150302^MDC_PRESS_CUFF_DIA^MDC", "266016^MDC_DIM_MMHG^MDC", mdc.MDC_PRESS_BLD_NONINV_DIA),
    ("151920^MDC_VENT_CONC_AWAY_O2_INSP^MDC", "262688^^MDC", mdc.MDC_CONC_AWAY_O2_INSP),
])
def test_vendor_codes_map_onto_one_parameter(coding: str, unit: str, code: int) -> None:
    """Issue 12 item 5; each code's source is named in devices/mdc.py."""
    value = {mdc.MDC_DIM_DEGC: "36.8", mdc.MDC_DIM_PERCENT: "40"}.get(mdc.PARAMETERS[code].unit,
                                                                       "38")
    _, out = feed(msg(f"NM|{coding}||{value}|{unit}|||||F"))
    r = readings(out)[code]
    assert (r.value, r.unit, r.quality) == (float(value), mdc.PARAMETERS[code].unit,
                                            Quality.VALID)


def test_every_folded_code_lands_on_a_parameter_with_a_plausible_range() -> None:
    """devices/mdc.py CANONICAL: each family ends on a known parameter that the plausibility
    gate checks (waves aside)."""
    for target in set(mdc.CANONICAL.values()):
        assert target in mdc.PARAMETERS and target not in mdc.CANONICAL
    unchecked = (mdc.MDC_PULS_OXIM_PLETH, mdc.MDC_ECG_ELEC_POTL_II, mdc.MDC_ECG_ELEC_POTL,
                 mdc.MDC_PULS_OXIM_PERF_REL)  # waves, and perfusion (a ratio)
    for code, p in mdc.PARAMETERS.items():
        if code not in unchecked and code not in mdc.CANONICAL:  # folded codes: never stored
            assert code in plausibility.DEFAULT_LIMITS, p.name
            assert plausibility.DEFAULT_LIMITS[code].unit == p.unit, p.name


def test_end_tidal_co2_loinc_is_the_partial_pressure() -> None:
    """LOINC 19891-1: CO2 [partial pressure] in exhaled gas at end expiration (mmHg); 19889-5
    is the volume fraction, not what Holdspace stores."""
    assert mdc.PARAMETERS[mdc.MDC_AWAY_CO2_ET].loinc == "19891-1"
    assert mdc.PARAMETERS[mdc.MDC_AWAY_CO2_ET].unit == mdc.MDC_DIM_MMHG


def test_an_existing_database_gets_the_current_vocabulary(db_path: Path) -> None:
    """console/store/db.py: the parameters table is synced with devices.mdc at every open, so
    a file created before a code or a LOINC fix was added receives it."""
    open_db(db_path).close()
    old = connect_file(db_path, isolation_level=None)
    old.execute("UPDATE parameters SET loinc='19889-5' WHERE code=?", (mdc.MDC_AWAY_CO2_ET,))
    old.execute("DELETE FROM parameters WHERE code=?", (mdc.MDC_CONC_AWAY_O2_INSP,))
    old.execute("INSERT INTO parameters VALUES (999999, 'OLD', 'old', 0, '', NULL)")
    old.close()
    conn = open_db(db_path)
    rows = dict(conn.execute("SELECT code, loinc FROM parameters").fetchall())
    assert rows[mdc.MDC_AWAY_CO2_ET] == "19891-1" and rows[mdc.MDC_CONC_AWAY_O2_INSP] == "3150-0"
    assert 999999 in rows  # a code old readings may use is never removed
    assert set(mdc.PARAMETERS) <= set(rows)
    assert sync_parameters(conn) == 0  # nothing new: nothing written


# --- 6. timestamps ------------------------------------------------------------------------------


def local(*args: int) -> float:
    return datetime(*args).timestamp()  # type: ignore[arg-type]


PLUS8 = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("text", "expect"), [
    ("2024", local(2024, 1, 1)),
    ("202411", local(2024, 11, 1)),
    ("20241124", local(2024, 11, 24)),
    ("2024112410", local(2024, 11, 24, 10)),
    ("202411241015", local(2024, 11, 24, 10, 15)),
    ("20241124101530", local(2024, 11, 24, 10, 15, 30)),
    ("20241124101530.2", local(2024, 11, 24, 10, 15, 30) + 0.2),
    ("20241124101530.2500", local(2024, 11, 24, 10, 15, 30) + 0.25),
    ("20241124101530+0000", T0),
    ("202411241015+0000", T0 - 30),
    ("20241124101530.25-0000", T0 + 0.25),
    ("20241124181530250+0800", datetime(2024, 11, 24, 18, 15, 30, 250000, PLUS8).timestamp()),
    ("20241124101530250", local(2024, 11, 24, 10, 15, 30) + 0.25),
    ("20241124101530250-0530", T0 + 0.25 + 5.5 * 3600),
])
def test_every_dtm_precision_and_mindrays_milliseconds(text: str, expect: float) -> None:
    """HL7 v2.x Chapter 2A, DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; Mindray's
    YYYYMMDDHHMMSSfff[+/-ZZZZ] (milliseconds without a point, issue 12 item 6)."""
    assert parse_hl7_time(text) == pytest.approx(expect, abs=1e-6)


@pytest.mark.parametrize("text", ["", "soon", "20241124101530.", "2024112410153",
                                  "20241324", "20240230", "202411241015250",
                                  "20241124101530+2400", "20241124101530+01", "20241124101530.1234567"])
def test_times_that_name_no_moment_are_none(text: str) -> None:
    """HL7 v2.x Chapter 2A DTM: anything else is not a time; never guessed."""
    assert parse_hl7_time(text) is None


def test_mindray_observation_time_reaches_the_reading() -> None:
    """OBX-14 (date/time of the observation) in Mindray's form is the reading's device time."""
    _, out = feed(msg("NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|262688^^MDC|||||F|||"
                      "20241124101530250+0000"))
    assert readings(out)[mdc.MDC_PULS_OXIM_SAT_O2].device_time == pytest.approx(T0 + 0.25)
