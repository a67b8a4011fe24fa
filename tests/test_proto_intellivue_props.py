"""IntelliVue decoder properties: noise and corruption never raise, never give a wrong value.

Every good frame carries a distinct heart rate, so a value that came from a corrupted frame
would show up as a value no intact frame carried.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices import mdc
from devices.protocols import intellivue_messages as m
from devices.protocols.intellivue import IntelliVueDecoder
from devices.protocols.intellivue_codec import wrap
from devices.reading import Reading
from tests.helpers.pieces import feed_in_pieces, lengths_at

SETTINGS = settings(max_examples=200, deadline=None)


def hr_frame(value: int) -> bytes:
    """A poll result with one HR numeric; values chosen so escapes occur (0x7D, 0xC0, 0xC1)."""
    ob = m.Observation(0, 0x0101, {
        m.NOM_ATTR_NU_VAL_OBS: m.nu_obs_value(m.NOM_ECG_CARD_BEAT_RATE, 0, m.NOM_DIM_BEAT_PER_MIN,
                                              value),
    })
    reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA_EXT, 1, value & 0xFFFF, 0xC17DC0, b"\xff" * 8,
                        m.NOM_MOC_VMO_METRIC_NU, m.ALL_GROUPS, [ob])
    return wrap(m.result(7, m.CMD_CONFIRMED_ACTION, m.action_result_body(reply)))


def hr_values(samples: list) -> list[float]:
    return [s.value for s in samples if isinstance(s, Reading) and s.code == mdc.MDC_ECG_HEART_RATE]


def feed_in_chunks(d: IntelliVueDecoder, data: bytes, cuts: list[int]) -> list:
    """`cuts` are offsets into `data` (any integers: taken modulo its length + 1)."""
    return feed_in_pieces(d, data, lengths_at(cuts, len(data)), 1.0)


@SETTINGS
@given(
    values=st.lists(st.sampled_from([0x7D, 0xC0, 0xC1, 60, 72, 99, 125, 140, 0xC17D]), min_size=1,
                    max_size=6, unique=True),
    victim=st.integers(min_value=0),
    where=st.integers(min_value=0),
    new=st.integers(min_value=0, max_value=255),
    noise=st.binary(max_size=64),
    cuts=st.lists(st.integers(min_value=0), max_size=8),
)
def test_corrupted_frame_never_gives_a_value_and_others_survive(
    values: list[int], victim: int, where: int, new: int, noise: bytes, cuts: list[int]
) -> None:
    frames = [bytearray(hr_frame(v)) for v in values]
    vi = victim % len(frames)
    pos = where % len(frames[vi])
    if frames[vi][pos] == new:
        new ^= 0xFF
    frames[vi][pos] = new
    data = noise + b"\xc1" + b"".join(bytes(f) for f in frames)  # C1 ends any frame the noise began
    d = IntelliVueDecoder("iv")
    got = hr_values(feed_in_chunks(d, data, cuts))
    intact = [v for i, v in enumerate(values) if i != vi]
    assert got == intact  # the corrupted frame gave nothing; every other frame decoded, in order
    assert d.stats.frames_ok >= len(intact)
    assert d.stats.bytes_in == len(data)


@SETTINGS
@given(noise=st.binary(max_size=400), cuts=st.lists(st.integers(min_value=0), max_size=6))
def test_random_bytes_never_raise_and_decoding_resyncs(noise: bytes, cuts: list[int]) -> None:
    d = IntelliVueDecoder("iv")
    feed_in_chunks(d, noise, cuts)
    d.outgoing(1.0)
    assert hr_values(d.feed(b"\xc1" + hr_frame(72), 2.0)) == [72.0]


@SETTINGS
@given(
    base=st.sampled_from(["hr", "nibp", "create", "wave"]),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1,
                   max_size=6),
    cut=st.integers(min_value=0, max_value=200),
)
def test_well_framed_garbage_messages_are_counted_not_raised(
    base: str, edits: list[tuple[int, int]], cut: int
) -> None:
    """Payloads with a valid FCS but mangled structure: parsed or rejected, never an exception."""
    from devices.protocols.intellivue_codec import FrameReader

    if base == "hr":
        payload = FrameReader().push(hr_frame(72)).payloads[0]
    elif base == "nibp":
        cmpd = b"\x00\x03\x00\x1e" + b"".join(
            m.nu_obs_value(pid, 0, m.NOM_DIM_MMHG, v)
            for pid, v in ((0x4A05, 120), (0x4A06, 80), (0x4A07, 93)))
        ob = m.Observation(0, 5, {m.NOM_ATTR_NU_CMPD_VAL_OBS: cmpd,
                                  m.NOM_ATTR_TIME_STAMP_ABS: b"\x20\x26\x11\x24\x07\x05\x09\x00"})
        reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA_EXT, 1, 0, 1, b"\xff" * 8,
                            m.NOM_MOC_VMO_METRIC_NU, 0, [ob])
        payload = m.result(1, m.CMD_CONFIRMED_ACTION, m.action_result_body(reply))
    elif base == "create":
        payload = m.mds_create_event(1, 1234, b"\x20\x26\x11\x24\x07\x05\x09\x00")
    else:
        ob = m.Observation(0, 9, {
            m.NOM_ATTR_TIME_PD_SAMP: b"\x00\x00\x00\x40",
            m.NOM_ATTR_SA_SPECN: b"\x00\x04\x10\x0c\x10\x00",
            m.NOM_ATTR_SCALE_SPECN_I16: b"\x00\x7f\xff\xff\x00\x7f\xff\xff\x00\x00\x0f\xff",
            m.NOM_ATTR_SA_FIXED_VAL_SPECN: b"\x00\x01\x00\x04\x00\x01\x80\x00",
            m.NOM_ATTR_SA_VAL_OBS: b"\x4b\xb4\x00\x00\x00\x08" + bytes(8),
        })
        reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA_EXT, 1, 0, 1, b"\xff" * 8,
                            m.NOM_MOC_VMO_METRIC_SA_RT, 0, [ob])
        payload = m.result(1, m.CMD_CONFIRMED_ACTION, m.action_result_body(reply))
    mangled = bytearray(payload)
    for pos, val in edits:
        mangled[pos % len(mangled)] = val
    mangled = mangled[: max(1, len(mangled) - cut % 8)]
    d = IntelliVueDecoder("iv")
    d.feed(wrap(bytes(mangled)), 1.0)
    d.outgoing(1.1)
    assert d.stats.frames_ok + d.stats.frames_rejected == 1
