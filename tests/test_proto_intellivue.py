"""IntelliVue Data Export: messages, the client's state machine, decoding, and the simulator.

Byte vectors are written out by hand from the Programming Guide's message layouts and
"Protocol Examples" chapter, so the encoder and decoder are checked against the document and
not only against each other.
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from devices import mdc
from devices.drivers import get_driver
from devices.physiology import Physiology
from devices.protocols import intellivue as iv
from devices.protocols import intellivue_messages as m
from devices.protocols.intellivue_codec import FrameReader, encode_abs_time, wrap
from devices.protocols.intellivue_sim import IntelliVueMonitor
from devices.reading import Quality, Reading, Sample, WaveChunk
from tests.helpers.pieces import feed_in_pieces

# An extended poll result (numerics) with HR 72 and SpO2 970 x 10^-1, laid out per the guide.
POLL_RESULT_HR_SPO2 = bytes.fromhex(
    "e1 00 00 02"  # SPpdu: session 0xE100, presentation context 2
    " 00 02 00 58"  # ROapdus: RORS_APDU, 88 bytes follow
    " 00 05 00 07 00 52"  # RORSapdu: invoke 5, CMD_CONFIRMED_ACTION, 82 bytes
    " 00 21 00 00 00 00"  # ActionResult.managed_object: NOM_MOC_VMS_MDS, 0, 0
    " f1 3b 00 48"  # action NOM_ACT_POLL_MDIB_DATA_EXT, 72 bytes
    " 00 01 00 00"  # poll number 1, sequence 0
    " 00 48 bb 00"  # relative time 4766464
    " ff ff ff ff ff ff ff ff"  # absolute time: not supported in poll results
    " 00 01 00 06 00 00"  # NOM_PART_OBJ, NOM_MOC_VMO_METRIC_NU, all attribute groups
    " 00 01 00 2e"  # PollInfoList: 1 context, 46 bytes
    " 00 00 00 02 00 28"  # SingleContextPoll: context 0, 2 observations, 40 bytes
    " 01 01 00 01 00 0e"  # handle 0x0101, AttributeList: 1 AVA, 14 bytes
    " 09 50 00 0a 41 82 00 00 0a a0 00 00 00 48"  # NU_VAL_OBS: HR, valid, /min, 72
    " 01 02 00 01 00 0e"
    " 09 50 00 0a 4b b8 00 00 02 20 ff 00 03 ca"  # NU_VAL_OBS: SpO2, valid, %, 970e-1
)


def numeric(handle: int, physio: int, state: int, unit: int, raw_float: int,
            extra: dict[int, bytes] | None = None) -> m.Observation:
    attrs = {m.NOM_ATTR_NU_VAL_OBS: m.nu_obs_value(physio, state, unit, raw_float)}
    attrs.update(extra or {})
    return m.Observation(0, handle, attrs)


def poll_result(obs: list[m.Observation], invoke: int = 5, rel: int = 4766464,
                linked: tuple[int, int] | None = None,
                obj_class: int = m.NOM_MOC_VMO_METRIC_NU) -> bytes:
    reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA_EXT, 1, 0, rel, b"\xff" * 8, obj_class,
                        m.ALL_GROUPS, obs)
    return m.result(invoke, m.CMD_CONFIRMED_ACTION, m.action_result_body(reply), linked)


def readings(samples: list[Sample]) -> dict[int, Reading]:
    return {s.code: s for s in samples if isinstance(s, Reading)}


def frames_out(data: bytes) -> list[bytes]:
    return FrameReader().push(data).payloads


def associated_decoder(now: float = 0.0) -> iv.IntelliVueDecoder:
    d = iv.IntelliVueDecoder("iv")
    d.outgoing(now)
    d.feed(wrap(m.association_response(m.UserInfo(system_type=m.SYST_SERVER))), now)
    d.feed(wrap(m.mds_create_event(1, 8000, encode_abs_time(1_000_000.0))), now)
    return d


# ---- message layouts against the guide


def test_hand_built_poll_result_matches_encoder_and_decodes() -> None:
    obs = [
        numeric(0x0101, 16770, 0, 0x0AA0, 0x00000048),
        numeric(0x0102, 19384, 0, 0x0220, 0xFF0003CA),
    ]
    assert poll_result(obs) == POLL_RESULT_HR_SPO2
    d = iv.IntelliVueDecoder("iv")
    got = readings(d.feed(wrap(POLL_RESULT_HR_SPO2), 12.5))
    hr, spo2 = got[mdc.MDC_ECG_HEART_RATE], got[mdc.MDC_PULS_OXIM_SAT_O2]
    assert (hr.value, hr.unit, hr.quality, hr.t) == (72.0, mdc.MDC_DIM_BEAT_PER_MIN,
                                                     Quality.VALID, 12.5)
    assert (spo2.value, spo2.unit) == (97.0, mdc.MDC_DIM_PERCENT)  # exponent honoured
    assert hr.device_time is None  # no MDS create seen: no clock mapping
    assert d.stats.frames_ok == 1 and d.stats.last_frame_t == 12.5


def test_single_poll_request_is_the_guides_example() -> None:
    assert m.poll_request(0, 1, m.NOM_MOC_VMO_METRIC_NU) == bytes.fromhex(
        "e1 00 00 02 00 01 00 1c 00 00 00 07 00 16"
        " 00 21 00 00 00 00 00 00 00 00 0c 16 00 08"
        " 00 01 00 01 00 06 00 00"
    )


def test_extended_poll_request_for_numerics_with_period() -> None:
    msg = m.poll_request(3, 1, m.NOM_MOC_VMO_METRIC_NU, m.ALL_GROUPS, 600 * 8000)
    assert len(msg) == 48
    assert msg == bytes.fromhex(
        "e1 00 00 02 00 01 00 28"  # ROIV_APDU, 40 bytes
        " 00 03 00 07 00 22"  # invoke 3, CMD_CONFIRMED_ACTION, 34 bytes
        " 00 21 00 00 00 00 00 00 00 00"  # MDS object, scope 0
        " f1 3b 00 14"  # NOM_ACT_POLL_MDIB_DATA_EXT, 20 bytes
        " 00 01 00 01 00 06 00 00"  # poll 1, numerics, all groups
        " 00 01 00 08 f1 3e 00 04 00 49 3e 00"  # NOM_ATTR_TIME_PD_POLL: 4800000 ticks
    )


def test_mds_create_result_is_the_guides_example() -> None:
    d = iv.IntelliVueDecoder("iv")
    event = m.mds_create_event(1, 4736768, encode_abs_time(1_000_000.0))
    assert event[:18] == bytes.fromhex("e1 00 00 02 00 01") + event[6:8] + bytes.fromhex(
        "00 01 00 01") + event[12:14] + bytes.fromhex("00 21 00 00")
    d.feed(wrap(event), 0.0)
    sent = frames_out(d.outgoing(0.0))
    assert sent[0] == bytes.fromhex(
        "e1 00 00 02 00 02 00 14 00 01 00 01 00 0e"
        " 00 21 00 00 00 00 00 48 47 00 0d 06 00 00"
    )


def test_association_request_from_building_blocks() -> None:
    req = m.association_request()
    assert req[:2] == b"\x0d\xec"  # CN_SPDU, session length 236 (guide)
    assert req[16:18] == b"\xc1\xdc"  # presentation length 220 (guide)
    user = bytes.fromhex(
        "48 80 00 00 00 40 00 00 00 00 00 00 00 80 00 00 00 20 00 00 00"
        " 00 00 00 00 00 01 00 2c 00 01 00 28"
        " 80 00 00 00 00 00 1f 40 00 00 03 e8 00 00 03 e8 ff ff ff ff 60 00 00 00"
        " 00 01 00 0c f0 01 00 08 8c 00 00 00 00 00 00 00"
    )
    assert req.endswith(b"\x02\x01\x02\x81" + user + bytes(16))
    assert len(req) == 238


def test_association_response_user_info_parsed() -> None:
    info = m.UserInfo(system_type=m.SYST_SERVER, max_mtu_rx=700,
                      ext_options=m.POLL_EXT_PERIOD_NU_1SEC)
    msg = m.association_response(info)
    assert msg[0] == m.AC_SPDU and b"\xbe\x80\x28\x80\x02\x01\x02\x81" in msg
    assert m.association_user_info(msg) == info


# ---- the client's state machine


def test_association_sent_first_and_retried_every_two_seconds() -> None:
    d = iv.IntelliVueDecoder("iv")
    assert frames_out(d.outgoing(0.0)) == [m.association_request()]
    assert d.outgoing(0.1) == b"" and d.outgoing(1.9) == b""
    assert frames_out(d.outgoing(2.0)) == [m.association_request()]


@pytest.mark.parametrize("answer", [m.REFUSE, m.ABORT, m.RELEASE_RESPONSE])
def test_refuse_or_abort_leads_to_a_new_association(answer: bytes) -> None:
    d = associated_decoder(0.0)
    assert d.state == "associated"
    d.feed(wrap(answer), 3.0)
    assert d.state == "idle"
    assert frames_out(d.outgoing(3.1)) == [m.association_request()]
    assert d.outgoing(4.0) == b""  # retried every 2 s, not every call
    assert frames_out(d.outgoing(5.2)) == [m.association_request()]


def test_results_just_after_an_abort_do_not_revive_the_association() -> None:
    d = associated_decoder(0.0)
    got = d.feed(wrap(m.ABORT) + wrap(POLL_RESULT_HR_SPO2), 3.0)
    assert len(got) == 2  # the values still count: they were sent while associated
    assert d.state == "idle"
    assert frames_out(d.outgoing(3.1)) == [m.association_request()]


def test_after_accept_create_result_then_polls_for_numerics_and_waves() -> None:
    d = associated_decoder(0.0)
    sent = [m.decode_data(f) for f in frames_out(d.outgoing(0.1))]
    assert sent[0].ro_type == m.RORS and sent[0].event_type == m.NOM_NOTI_MDS_CREAT
    assert [s.poll_request for s in sent[1:]] == [
        (1, m.NOM_MOC_VMO_METRIC_NU, 0, 600 * 8000),
        (2, m.NOM_MOC_VMO_METRIC_SA_RT, 0, 600 * 8000),
    ]


def test_accept_with_unreadable_user_data_still_associates() -> None:
    d = iv.IntelliVueDecoder("iv")
    d.outgoing(0.0)
    d.feed(wrap(b"\x0e\x10" + bytes(16)), 0.0)
    assert d.state == "associated" and d.stats.frames_ok == 1
    d.feed(wrap(m.mds_create_event(1, 8000, encode_abs_time(1e6))), 0.0)
    polls = [m.decode_data(f).poll_request for f in frames_out(d.outgoing(0.1))[1:]]
    assert [p[1] for p in polls if p] == [m.NOM_MOC_VMO_METRIC_NU, m.NOM_MOC_VMO_METRIC_SA_RT]


def test_no_wave_poll_when_monitor_declines_waves() -> None:
    d = iv.IntelliVueDecoder("iv")
    d.outgoing(0.0)
    resp = m.UserInfo(system_type=m.SYST_SERVER, ext_options=m.POLL_EXT_PERIOD_NU_1SEC)
    d.feed(wrap(m.association_response(resp)), 0.0)
    d.feed(wrap(m.mds_create_event(1, 8000, encode_abs_time(1e6))), 0.0)
    polls = [m.decode_data(f).poll_request for f in frames_out(d.outgoing(0.1))[1:]]
    assert [p[1] for p in polls if p] == [m.NOM_MOC_VMO_METRIC_NU]


def test_keepalive_after_silence_and_polls_renewed_before_expiry() -> None:
    d = associated_decoder(0.0)
    d.outgoing(0.0)
    t = 0.0
    keepalives: list[tuple[float, tuple[int, int, int, int | None]]] = []
    renewals: list[tuple[float, tuple[int, int, int, int | None]]] = []
    while t < 560.0:
        t += 0.5
        # results keep flowing, so only keep-alives and renewals are sent
        d.feed(wrap(poll_result([numeric(1, 16770, 0, 0x0AA0, 70)])), t)
        d.feed(wrap(poll_result([], obj_class=m.NOM_MOC_VMO_METRIC_SA_RT)), t)
        for f in frames_out(d.outgoing(t)):
            req = m.decode_data(f).poll_request
            assert req is not None
            (keepalives if req[1] == m.NOM_MOC_VMO_AL_MON else renewals).append((t, req))
    gaps = np.diff(sorted({k[0] for k in keepalives + renewals}))
    assert keepalives and max(gaps) <= 4.5  # never silent long enough to be timed out
    assert keepalives[0][1][2] == m.NOM_ATTR_GRP_VMO_STATIC
    assert sorted({r[1][1] for r in renewals}) == [m.NOM_MOC_VMO_METRIC_NU,
                                                   m.NOM_MOC_VMO_METRIC_SA_RT]
    assert all(539.0 <= r[0] < 600.0 for r in renewals)


def test_poll_sent_again_when_results_stop() -> None:
    d = associated_decoder(0.0)
    d.waves = False
    d.outgoing(0.0)
    for t in (0.5, 1.0, 1.5, 2.0):
        d.feed(wrap(poll_result([])), t)
        d.feed(wrap(m.result(9, m.CMD_CONFIRMED_ACTION, b"\x00" * 6)), t)  # other traffic
    sent = [m.decode_data(f).poll_request for f in frames_out(d.outgoing(6.0))]
    assert any(p and p[1] == m.NOM_MOC_VMO_METRIC_NU for p in sent)


def test_error_reply_makes_the_client_poll_again_after_a_pause() -> None:
    d = associated_decoder(0.0)
    sent = [m.decode_data(f) for f in frames_out(d.outgoing(0.1))]
    nu_invoke = next(s.invoke_id for s in sent if s.poll_request and s.poll_request[1] == 6)
    d.feed(wrap(m.error(nu_invoke, 10)), 0.2)
    assert d.outgoing(0.3) == b""  # not at once
    again = [m.decode_data(f).poll_request for f in frames_out(d.outgoing(1.25))]
    assert [p[1] for p in again if p] == [m.NOM_MOC_VMO_METRIC_NU]


def test_wave_poll_refused_means_numerics_only() -> None:
    d = associated_decoder(0.0)
    sent = [m.decode_data(f) for f in frames_out(d.outgoing(0.1))]
    wave_invoke = next(s.invoke_id for s in sent if s.poll_request and s.poll_request[1] == 9)
    d.feed(wrap(m.error(wave_invoke, 16)), 0.2)
    d.feed(wrap(poll_result([])), 0.2)
    t, polled = 0.2, []
    while t < 20.0:
        t += 0.1
        d.feed(wrap(poll_result([])), t)
        polled += [m.decode_data(f).poll_request for f in frames_out(d.outgoing(t))]
    assert m.NOM_MOC_VMO_METRIC_SA_RT not in {p[1] for p in polled if p}


def test_silent_monitor_means_a_new_association() -> None:
    d = associated_decoder(0.0)
    d.outgoing(0.1)
    assert frames_out(d.outgoing(12.5)) == [m.association_request()]


def test_data_decoded_without_having_seen_the_handshake() -> None:
    d = iv.IntelliVueDecoder("iv")
    got = readings(d.feed(wrap(POLL_RESULT_HR_SPO2), 1.0))
    assert got[mdc.MDC_ECG_HEART_RATE].value == 72.0
    sent = [m.decode_data(f).poll_request for f in frames_out(d.outgoing(1.0))]
    assert sent and all(p is not None for p in sent)  # polls, not an association request


# ---- numerics: state, specials, compound, time


@pytest.mark.parametrize(
    ("state", "quality"),
    [
        (0x0000, Quality.VALID),
        (0x0002, Quality.VALID),  # in alarm: still a valid value
        (0x0020, Quality.VALID),  # measurement ongoing (second octet)
        (0x8000, Quality.INVALID),
        (0x2000, Quality.INVALID),
        (0x4000, Quality.QUESTIONABLE),
        (0x1000, Quality.QUESTIONABLE),  # calibrating
        (0x0400, Quality.DEMO),
        (0x0800, Quality.DEMO),  # test data: not a patient's value either
        (0xC400, Quality.INVALID),
        (0x4400, Quality.DEMO),
    ],
)
def test_state_bits_to_quality(state: int, quality: Quality) -> None:
    d = iv.IntelliVueDecoder("iv")
    got = readings(d.feed(wrap(poll_result([numeric(1, 16770, state, 0x0AA0, 72)])), 0.0))
    assert got[mdc.MDC_ECG_HEART_RATE].quality == quality
    assert got[mdc.MDC_ECG_HEART_RATE].value == 72.0


@pytest.mark.parametrize("raw", [0x007FFFFF, 0x00800000, 0x007FFFFE, 0x00800002])
def test_special_floats_are_invalid_without_value(raw: int) -> None:
    d = iv.IntelliVueDecoder("iv")
    got = readings(d.feed(wrap(poll_result([numeric(1, 19384, 0, 0x0220, raw)])), 0.0))
    r = got[mdc.MDC_PULS_OXIM_SAT_O2]
    assert math.isnan(r.value) and r.quality == Quality.INVALID and not r.quality.displayable


def test_physio_ids_and_units_mapped_to_mdc() -> None:
    obs = [
        numeric(1, 18466, 0, 0x0AA0, 70),  # pleth pulse rate
        numeric(2, 20490, 0, 0x0AE0, 14),  # resp rate
        numeric(3, 18442, 0, 0x0AA0, 71),  # pulse rate
        numeric(4, 19272, 0, 0x17A0, 0xFF00016F),  # temperature 36.7 °C
        numeric(5, 0x4BB0, 0, 0x0220, 0xFF00000C),  # perfusion 1.2 %
        numeric(6, 0x7777, 0, 0x0200, 5),  # something unknown: kept, dimensionless
    ]
    got = readings(iv.IntelliVueDecoder("iv").feed(wrap(poll_result(obs)), 0.0))
    assert got[mdc.MDC_PULS_OXIM_PULS_RATE].value == 70
    assert got[mdc.MDC_RESP_RATE].unit == mdc.MDC_DIM_RESP_PER_MIN == 4 * 65536 + 0x0AE0
    assert got[mdc.MDC_PULS_RATE].value == 71
    assert got[mdc.MDC_TEMP].value == 36.7 and got[mdc.MDC_TEMP].unit == mdc.MDC_DIM_DEGC
    assert got[mdc.MDC_PULS_OXIM_PERF_REL].value == 1.2
    assert got[2 * 65536 + 0x7777].unit == mdc.MDC_DIM_DIMLESS


def compound_nibp(sys_: int, dia: int, mean: int, stamp: bytes, state: int = 0) -> m.Observation:
    parts = b"".join(
        m.nu_obs_value(pid, state, 0x0F20, v)
        for pid, v in ((18949, sys_), (18950, dia), (18951, mean))
    )
    return m.Observation(0, 0x0105, {
        m.NOM_ATTR_NU_CMPD_VAL_OBS: struct.pack(">HH", 3, 30) + parts,
        m.NOM_ATTR_TIME_STAMP_ABS: stamp,
    })


def test_compound_nibp_gives_sys_dia_mean_once_per_measurement() -> None:
    d = iv.IntelliVueDecoder("iv")
    stamp = bytes.fromhex("20 26 11 24 07 05 09 00")
    frame = wrap(poll_result([compound_nibp(122, 78, 93, stamp)]))
    got = readings(d.feed(frame, 5.0))
    assert [got[c].value for c in (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                                   mdc.MDC_PRESS_BLD_NONINV_MEAN)] == [122, 78, 93]
    assert all(r.unit == mdc.MDC_DIM_MMHG for r in got.values())
    assert got[mdc.MDC_PRESS_BLD_NONINV_SYS].device_time == 1795503909.0  # 2026-11-24 07:05:09
    assert d.feed(frame, 6.0) == []  # the monitor repeats the last cuff: not a new reading
    newer = bytes.fromhex("20 26 11 24 07 08 09 00")
    assert len(d.feed(wrap(poll_result([compound_nibp(130, 80, 97, newer)])), 7.0)) == 3


def test_whole_session_split_at_every_byte_boundary() -> None:
    stream = (
        wrap(m.association_response(m.UserInfo(system_type=m.SYST_SERVER)))
        + wrap(m.mds_create_event(0xC07D, 0x7DC0C1, encode_abs_time(1_000_000.0)))
        + wrap(POLL_RESULT_HR_SPO2)
        + wrap(poll_result([compound_nibp(125, 0x7D, 0xC1, b"\x20\x26\x11\x24\x07\x05\x09\x00")],
                           linked=(m.RORLS_LAST, 1)))
        + wrap(poll_result([numeric(3, 20490, 0x4000, 0x0AE0, 0xC0)]))
    )
    assert b"\x7d" in stream
    whole = iv.IntelliVueDecoder("iv")
    expected = whole.feed(stream, 1.0)
    assert len(expected) == 6
    for cut in range(1, len(stream)):
        d = iv.IntelliVueDecoder("iv")
        got = feed_in_pieces(d, stream, [cut], 1.0)
        assert got == expected, cut
        assert (d.stats.frames_ok, d.stats.frames_rejected) == (5, 0)


def test_compound_with_wrong_length_rejects_whole_frame() -> None:
    ob = compound_nibp(122, 78, 93, b"\xff" * 8)
    ob.attributes[m.NOM_ATTR_NU_CMPD_VAL_OBS] = struct.pack(">HH", 3, 20) + bytes(30)
    d = iv.IntelliVueDecoder("iv")
    frame = wrap(poll_result([numeric(1, 16770, 0, 0x0AA0, 72), ob]))
    assert d.feed(frame, 0.0) == []  # not even the good HR from a frame that does not add up
    assert d.stats.frames_rejected == 1 and d.stats.frames_ok == 0


def test_device_time_from_mds_create_mapping() -> None:
    d = associated_decoder(0.0)  # MDS create: abs 1_000_000 s at relative 8000 ticks
    got = readings(d.feed(wrap(poll_result([numeric(1, 16770, 0, 0x0AA0, 72)],
                                           rel=8000 + 8000 * 30)), 1.0))
    assert got[mdc.MDC_ECG_HEART_RATE].device_time == 1_000_030.0


def test_linked_results_all_decoded() -> None:
    d = iv.IntelliVueDecoder("iv")
    data = (
        wrap(poll_result([numeric(1, 16770, 0, 0x0AA0, 72)], linked=(m.RORLS_FIRST, 1)))
        + wrap(poll_result([numeric(2, 19384, 0, 0x0220, 97)], linked=(m.RORLS_LAST, 2)))
        + wrap(poll_result([numeric(3, 20490, 0, 0x0AE0, 14)]))
    )
    raw_types = [struct.unpack_from(">H", f, 4)[0] for f in frames_out(data)]
    assert raw_types == [m.ROLRS, m.ROLRS, m.RORS]
    got = readings(d.feed(data, 0.0))
    assert {c: r.value for c, r in got.items()} == {
        mdc.MDC_ECG_HEART_RATE: 72, mdc.MDC_PULS_OXIM_SAT_O2: 97, mdc.MDC_RESP_RATE: 14}


def test_unknown_attributes_ignored_and_unknown_session_header_rejected() -> None:
    d = iv.IntelliVueDecoder("iv")
    ob = numeric(1, 16770, 0, 0x0AA0, 72, extra={0x0917: b"\x03\x00", 0xF2FF: b""})
    assert len(d.feed(wrap(poll_result([ob])), 0.0)) == 1
    assert d.feed(wrap(b"\x42\x00\x00"), 0.0) == []
    assert d.stats.frames_rejected == 1


# ---- the simulator and the client together, in simulated time


def run(physio: Physiology, t0: float, t1: float, monitor: IntelliVueMonitor | None = None,
        decoder: iv.IntelliVueDecoder | None = None) -> list[tuple[float, Sample]]:
    """The benchmark's loop: outgoing -> monitor -> produce -> feed, every 20 ms."""
    mon = monitor or IntelliVueMonitor(physio)
    dec = decoder or iv.IntelliVueDecoder("iv")
    out: list[tuple[float, Sample]] = []
    t = t0
    while t < t1:
        mon.receive(dec.outgoing(t), t)
        out += [(t, s) for s in dec.feed(mon.produce(t), t)]
        t += 0.02
    return out


def test_simulated_session_numerics_nibp_and_pleth() -> None:
    physio = Physiology("calm", start=100.0)
    got = run(physio, 100.0, 106.0)
    hrs = [(t, s) for t, s in got if isinstance(s, Reading) and s.code == mdc.MDC_ECG_HEART_RATE]
    assert hrs[0][0] < 100.2  # readings straight after the handshake
    assert 6 <= len(hrs) <= 7  # immediate result, then one per second
    for t, r in hrs:
        assert r.value == physio.vitals(t).hr and r.quality == Quality.VALID
        assert r.device_time == pytest.approx(t, abs=1.0)
    last = {s.code: s for _, s in got if isinstance(s, Reading)}
    v = physio.vitals(hrs[-1][0])
    assert last[mdc.MDC_PULS_OXIM_SAT_O2].value == v.spo2
    assert last[mdc.MDC_PULS_OXIM_PULS_RATE].value == v.pulse
    assert last[mdc.MDC_RESP_RATE].value == v.rr
    nibp = [s for _, s in got if isinstance(s, Reading) and s.code == mdc.MDC_PRESS_BLD_NONINV_SYS]
    assert len(nibp) == 1 and nibp[0].value == physio.vitals(105.0).nibp[0]  # type: ignore[index]
    waves = [s for _, s in got if isinstance(s, WaveChunk)]
    assert {w.code for w in waves} == {mdc.MDC_PULS_OXIM_PLETH}
    assert {w.rate_hz for w in waves} == {125.0}
    assert abs(sum(len(w.samples) for w in waves) - 6.0 * 125) <= 64


def test_pleth_samples_follow_the_physiology() -> None:
    physio = Physiology("calm", start=0.0)
    mon = IntelliVueMonitor(physio)
    got = run(physio, 0.0, 1.0, monitor=mon)
    t_first, first = next((t, s) for t, s in got if isinstance(s, WaveChunk))
    expected = physio.pleth(t_first - 0.256, 32, 125.0)
    assert np.allclose(first.samples, expected, atol=1 / 4000)


def test_probe_off_numerics_invalid_and_artefact_questionable() -> None:
    physio = Physiology("noisy", start=0.0)  # artefact 20-23 s, probe off 40-48 s
    got = run(physio, 18.0, 42.0)
    spo2 = [(t, s) for t, s in got if isinstance(s, Reading) and s.code == mdc.MDC_PULS_OXIM_SAT_O2]
    for t, r in spo2:
        v = physio.vitals(t)
        if v.probe_off:
            assert r.quality == Quality.INVALID and math.isnan(r.value)
        elif v.artefact:
            assert r.quality == Quality.QUESTIONABLE and r.value == v.spo2
        else:
            assert r.quality == Quality.VALID and r.value == v.spo2
    assert any(physio.vitals(t).probe_off for t, _ in spo2)
    assert any(physio.vitals(t).artefact for t, _ in spo2)
    rr = [s for _, s in got if isinstance(s, Reading) and s.code == mdc.MDC_RESP_RATE]
    assert all(r.quality == Quality.VALID for r in rr)
    off = [s for t, s in got if isinstance(s, WaveChunk) and physio.vitals(t).probe_off]
    assert off and all(w.quality == Quality.INVALID for w in off)


def test_demo_monitor_values_marked_demo() -> None:
    physio = Physiology("calm", start=0.0)
    got = run(physio, 0.0, 1.5, monitor=IntelliVueMonitor(physio, demo=True))
    assert got and all(s.quality == Quality.DEMO for _, s in got)


def test_refused_association_retried_after_two_seconds() -> None:
    physio = Physiology("calm", start=0.0)
    dec = iv.IntelliVueDecoder("iv")
    got = run(physio, 0.0, 3.0, monitor=IntelliVueMonitor(physio, refuse=1), decoder=dec)
    assert dec.refusals == 1
    first = min(t for t, s in got if isinstance(s, Reading))
    assert 2.0 <= first < 2.2


def test_linked_results_when_the_mtu_is_small() -> None:
    physio = Physiology("calm", start=0.0)
    mon = IntelliVueMonitor(physio, mtu=90)
    dec = iv.IntelliVueDecoder("iv", waves=False)
    raw: list[bytes] = []
    t = 0.0
    got: list[Sample] = []
    while t < 2.5:
        mon.receive(dec.outgoing(t), t)
        data = mon.produce(t)
        raw += frames_out(data)
        got += dec.feed(data, t)
        t += 0.02
    linked: list[tuple[int, int]] = []
    for f in raw:
        if f[0] != m.DATA_EXPORT or f[4:6] not in (b"\x00\x05", b"\x00\x02"):
            continue
        if f[4:6] == b"\x00\x02":
            break  # the final plain result closes the first poll result's chain
        linked.append((f[8], f[9]))  # RorlsId: state, count
    n = len(linked)
    assert n >= 3
    assert linked == [(m.RORLS_FIRST, 1)] + [(m.RORLS_NOT_FIRST_NOT_LAST, i)
                                            for i in range(2, n)] + [(m.RORLS_LAST, n)]
    codes = {s.code for s in got if isinstance(s, Reading)}
    assert {mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_SAT_O2, mdc.MDC_RESP_RATE,
            mdc.MDC_PRESS_BLD_NONINV_MEAN} <= codes


def test_monitor_resends_create_event_then_aborts() -> None:
    mon = IntelliVueMonitor(Physiology("calm"))
    mon.receive(wrap(m.association_request()), 0.0)
    first = frames_out(mon.produce(0.0))
    assert [f[0] for f in first] == [m.AC_SPDU, m.DATA_EXPORT]
    t, creates, aborted = 0.0, [first[1]], False
    while t < 9.5:
        t += 0.02
        mon.receive(wrap(m.poll_request(99, 0, m.NOM_MOC_VMO_AL_MON)), t)  # not a create result
        for f in frames_out(mon.produce(t)):
            if f[0] == m.DATA_EXPORT and m.decode_data(f).event_type == m.NOM_NOTI_MDS_CREAT:
                creates.append(f)
            aborted |= f == m.ABORT
    assert len(creates) == 3 and len(set(creates[1:])) == 2  # resent; same invoke id
    assert {m.decode_data(c).invoke_id for c in creates} == {1}
    assert aborted and mon.state == "idle"


def test_silent_client_aborted_and_decoder_recovers() -> None:
    physio = Physiology("calm", start=0.0)
    mon = IntelliVueMonitor(physio)
    dec = iv.IntelliVueDecoder("iv")
    run(physio, 0.0, 1.0, monitor=mon, decoder=dec)
    t = 1.0
    while t < 11.5:  # the client's messages are lost for 10 s
        dec.outgoing(t)
        dec.feed(mon.produce(t), t)
        t += 0.02
    assert mon.state == "idle"
    got = run(physio, 11.5, 16.0, monitor=mon, decoder=dec)
    assert any(isinstance(s, Reading) and t > 12.0 for t, s in got)


def test_driver_registered() -> None:
    d = get_driver("intellivue")
    assert d is iv.DRIVER and d.talks_back and d.settings.baudrate == 115200
    assert d.title == "Philips IntelliVue (MIB/RS232 data export)"
    assert get_driver("philips") is d
