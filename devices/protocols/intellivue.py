"""Philips IntelliVue MP/MX monitors over the MIB/RS232 Data Export interface.

The client must talk first: association request (retried every 2 s until accepted), answer
the monitor's MDS Create Event, then extended polls for numerics (and the pleth wave) that the
monitor answers once per period; polls are re-sent before they expire and a keep-alive poll
goes out after 4 s of our own silence. Any numeric the monitor flags invalid, unavailable or
without a value (FLOAT NaN, NRes, ±inf) becomes a Quality.INVALID reading, never a number on
screen. Data messages are decoded whether or not this decoder saw the handshake, so a decoder
started mid-stream (reconnect, replayed capture) reads values at once.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from devices import mdc
from devices.containment import frame_fault
from devices.protocol import DecoderStats, Driver, SerialSettings
from devices.protocols import intellivue_messages as m
from devices.protocols.intellivue_codec import (
    TICKS_PER_S,
    FrameReader,
    decode_abs_time,
    decode_float,
    rel_delta,
    wrap,
)
from devices.protocols.intellivue_sim import IntelliVueMonitor
from devices.protocols.intellivue_waves import WaveObjects, chunk_values, sample_arrays
from devices.reading import Quality, Reading, Sample, WaveChunk

_INVALID_BITS = m.STATE_INVALID | m.STATE_UNAVAILABLE
_DEMO_BITS = m.STATE_DEMO | m.STATE_TEST_DATA
_DOUBT_BITS = 0xFF00 & ~(_INVALID_BITS | _DEMO_BITS)  # questionable, calibrating, undefined


def quality_of(state: int) -> Quality:
    """MeasurementState -> Quality. Only a state whose first octet is zero is a valid value."""
    if state & _INVALID_BITS:
        return Quality.INVALID
    if state & _DEMO_BITS:
        return Quality.DEMO
    if state & _DOUBT_BITS:
        return Quality.QUESTIONABLE
    return Quality.VALID


# Philips labels whose 2 * 65536 + id is not the code our vocabulary uses for that meaning.
PHILIPS_TO_MDC: dict[int, int] = {
    m.NOM_PULS_OXIM_PULS_RATE: mdc.MDC_PULS_OXIM_PULS_RATE,  # NOM_PLETH_PULS_RATE 18466
    0x4BB0: mdc.MDC_PULS_OXIM_PERF_REL,  # NOM_PULS_OXIM_PERF_REL 19376
    0x50B0: mdc.MDC_AWAY_CO2_ET,  # NOM_AWAY_CO2_ET 20656
}


def mdc_code(physio_id: int) -> int:
    """SCADA physio id -> canonical MDC code (2 * 65536 + id, NIBP/resp families folded)."""
    code = PHILIPS_TO_MDC.get(physio_id, (m.NOM_PART_SCADA << 16) | physio_id)
    return mdc.canonical(code)


def mdc_unit(unit_code: int) -> int:
    """DIM unit code -> MDC unit (4 * 65536 + code); 'dimensionless' is our own constant."""
    if unit_code == m.NOM_DIM_DIMLESS:
        return mdc.MDC_DIM_DIMLESS
    return (m.NOM_PART_DIM << 16) | unit_code


class IntelliVueDecoder:
    """Client side of the Data Export protocol: association, polls, and decoding of results."""

    ASSOC_RETRY_S = 2.0
    POLL_ACTIVE_S = 600.0  # how long we ask the monitor to keep sending
    POLL_RENEW_S = 540.0  # re-sent before it expires
    POLL_RETRY_S = 5.0  # no result this long after a poll: ask again
    KEEPALIVE_S = 4.0  # our own silence after which we send a cheap poll
    LOST_AFTER_S = 12.0  # nothing heard this long while associated: associate again
    RESULTS_LATE_S = 2.0  # results of a periodic poll are this late: it has lapsed

    def __init__(self, source: str, waves: bool = True) -> None:
        self.source = source
        self.waves = waves
        self.stats = DecoderStats()
        self._reader = FrameReader()
        self.reset()

    def reset(self) -> None:
        self._reader.reset()
        self.state = "idle"  # idle -> associating -> associated
        self.refusals = 0
        self._assoc_t: float | None = None
        self._heard_t: float | None = None
        self._sent_t: float | None = None
        self._hold_until: float | None = None  # after accept: wait for the MDS Create Event
        self._ended_t: float | None = None  # when the monitor last refused or dropped us
        self._queue: list[bytes] = []
        self._invoke = 0
        self._poll_number = 0
        self._wave_ok = True
        self._poll_t: dict[int, float] = {}
        self._poll_invokes: dict[int, int] = {}  # invoke id -> polled object class
        self._result_t: dict[int, float] = {}
        self._time_map: tuple[float, int] | None = None  # (epoch, RelativeTime) from MDS create
        self._waves = WaveObjects()
        self._aperiodic: dict[tuple[int, int], bytes] = {}

    # ---- client -> monitor

    def _next_invoke(self) -> int:
        self._invoke = (self._invoke + 1) & 0xFFFF
        return self._invoke

    def _poll(self, obj_class: int, now: float) -> bytes:
        self._poll_number = (self._poll_number + 1) & 0xFFFF
        self._poll_t[obj_class] = now
        invoke = self._next_invoke()
        self._poll_invokes = {i: c for i, c in self._poll_invokes.items() if c != obj_class}
        self._poll_invokes[invoke] = obj_class
        return m.poll_request(
            invoke,
            self._poll_number,
            obj_class,
            m.ALL_GROUPS,
            int(self.POLL_ACTIVE_S * TICKS_PER_S),
        )

    def _wanted(self) -> list[int]:
        classes = [m.NOM_MOC_VMO_METRIC_NU]
        if self.waves and self._wave_ok:
            classes.append(m.NOM_MOC_VMO_METRIC_SA_RT)
        return classes

    def outgoing(self, now: float) -> bytes:
        msgs = self._queue
        self._queue = []
        if self.state == "associated" and (
            self._heard_t is None or now - self._heard_t >= self.LOST_AFTER_S
        ):
            self._dissociate(now)  # the monitor has gone quiet: it will have dropped us
            msgs.clear()
        if self.state != "associated":
            if self._assoc_t is None or now - self._assoc_t >= self.ASSOC_RETRY_S:
                self._assoc_t = now
                self.state = "associating"
                msgs.append(m.association_request())
        elif self._hold_until is None or now >= self._hold_until:
            for cls in self._wanted():
                sent = self._poll_t.get(cls)
                got = self._result_t.get(cls)
                if (
                    sent is None
                    or now - sent >= self.POLL_RENEW_S
                    or (now - sent >= self.POLL_RETRY_S
                        and (got is None or now - got >= self.RESULTS_LATE_S))
                ):
                    msgs.append(self._poll(cls, now))
            if not msgs and (self._sent_t is None or now - self._sent_t >= self.KEEPALIVE_S):
                msgs.append(
                    m.poll_request(self._next_invoke(), 0, m.NOM_MOC_VMO_AL_MON,
                                   m.NOM_ATTR_GRP_VMO_STATIC)
                )
        if not msgs:
            return b""
        self._sent_t = now
        return b"".join(wrap(msg) for msg in msgs)

    # ---- monitor -> client

    def feed(self, data: bytes, now: float) -> list[Sample]:
        self.stats.bytes_in += len(data)
        found = self._reader.push(data)
        self.stats.frames_rejected += found.rejected
        out: list[Sample] = []
        for payload in found.payloads:
            try:
                samples = self._message(payload, now)
            except (m.Malformed, ValueError, struct.error, IndexError, KeyError):
                self.stats.frames_rejected += 1
                continue
            except Exception as e:  # a bug must cost this message only, never the link
                frame_fault("intellivue", self.source, e, payload, self.stats)
                continue
            self.stats.frames_ok += 1
            self.stats.last_frame_t = now
            self._heard_t = now
            out.extend(samples)
        return out

    def _message(self, msg: bytes, now: float) -> list[Sample]:
        kind = msg[0] if msg else -1
        if kind == m.DATA_EXPORT:
            return self._data(m.decode_data(msg), now)
        if kind == m.AC_SPDU:
            try:
                info = m.association_user_info(msg)
                ext = info.ext_options
                self._wave_ok = ext is not None and bool(ext & m.POLL_EXT_PERIOD_RTSA)
            except (m.Malformed, struct.error):
                # Accepted is accepted: poll anyway; an error reply tells us what is missing.
                self._wave_ok = True
            self._associated()
            self._hold_until = now + 1.0
        elif kind == m.RF_SPDU:
            self.refusals += 1
            self._dissociate(now)
        elif kind in (m.AB_SPDU, m.DN_SPDU):
            self._dissociate(now)
        elif kind not in (m.CN_SPDU, m.FN_SPDU):
            raise m.Malformed(f"unknown session header {kind:#x}")
        return []

    def _dissociate(self, now: float) -> None:
        self.state = "idle"
        self._ended_t = now
        self._queue.clear()  # answers meant for the association that just ended

    def _associated(self) -> None:
        self.state = "associated"
        self._hold_until = None
        self._poll_t.clear()
        self._result_t.clear()

    def _data(self, msg: m.DataMessage, now: float) -> list[Sample]:
        if self.state != "associated" and (self._ended_t is None or now - self._ended_t >= 1.0):
            # Data flows, so the monitor holds an association (perhaps from before a reconnect);
            # not so for stragglers sent just before it refused or aborted.
            self._associated()
            self._wave_ok = True
        if msg.event_type == m.NOM_NOTI_MDS_CREAT and msg.ro_type == m.ROIV:
            self._learn_time(msg.event_attributes)
            rel = self._time_map[1] if self._time_map else 0
            self._queue.append(m.mds_create_result(msg.invoke_id, msg.managed_object, rel))
            self._hold_until = None
            return []
        if msg.ro_type == m.ROER:
            cls = self._poll_invokes.pop(msg.invoke_id, None)
            if cls == m.NOM_MOC_VMO_METRIC_SA_RT:
                self._wave_ok = False  # this monitor will not export waves: numerics only
            elif cls is not None:
                # Try again after a short pause, not at once (the monitor drops floods).
                self._poll_t[cls] = now - self.POLL_RETRY_S + 1.0
                self._result_t.pop(cls, None)
            return []
        poll = msg.poll
        if poll is None:
            return []
        self._result_t[poll.obj_class] = now
        if poll.obj_class == m.NOM_MOC_VMO_METRIC_NU:
            return self._numerics(poll, now)
        if poll.obj_class == m.NOM_MOC_VMO_METRIC_SA_RT:
            return self._wave(poll, now)
        return []

    def _learn_time(self, attrs: dict[int, bytes]) -> None:
        raw_abs, raw_rel = attrs.get(m.NOM_ATTR_TIME_ABS), attrs.get(m.NOM_ATTR_TIME_REL)
        if raw_abs is None or raw_rel is None or len(raw_rel) != 4:
            return
        epoch = decode_abs_time(raw_abs)
        if epoch is not None:
            self._time_map = (epoch, struct.unpack(">I", raw_rel)[0])

    def _device_time(self, attrs: dict[int, bytes], rel_time: int) -> float | None:
        stamp = attrs.get(m.NOM_ATTR_TIME_STAMP_ABS)
        if stamp is not None:
            t = decode_abs_time(stamp)
            if t is not None:
                return t
        raw_rel = attrs.get(m.NOM_ATTR_TIME_STAMP_REL)
        if raw_rel is not None and len(raw_rel) == 4:
            rel_time = struct.unpack(">I", raw_rel)[0]
        if self._time_map is None or rel_time == 0:
            return None
        epoch, ref = self._time_map
        return epoch + rel_delta(rel_time, ref)

    def _numerics(self, poll: m.PollReply, now: float) -> list[Sample]:
        out: list[Sample] = []
        for ob in poll.observations:
            a = ob.attributes
            values: list[bytes] = []
            if m.NOM_ATTR_NU_VAL_OBS in a:
                values.append(a[m.NOM_ATTR_NU_VAL_OBS])
            if m.NOM_ATTR_NU_CMPD_VAL_OBS in a:
                r = m.Reader(a[m.NOM_ATTR_NU_CMPD_VAL_OBS])
                count, length = r.u16(), r.u16()
                if length != count * 10 or r.left != length:
                    raise m.Malformed("compound numeric length")
                values += [r.take(10) for _ in range(count)]
            if not values:
                continue
            stamp = a.get(m.NOM_ATTR_TIME_STAMP_ABS) or a.get(m.NOM_ATTR_TIME_STAMP_REL)
            if stamp is not None:
                # Aperiodic (NIBP): the monitor repeats the last measurement; report it once.
                key = (ob.context, ob.handle)
                seen = stamp + b"".join(values)
                if self._aperiodic.get(key) == seen:
                    continue
                self._aperiodic[key] = seen
            device_time = self._device_time(a, poll.rel_time)
            # An episodic measurement (NIBP) repeated by the monitor is as old as its own
            # stamp, not as new as the poll that carried it: back-date it on the host clock,
            # so an old cuff result is never shown as fresh or taken for a new BP check.
            t = now
            if stamp is not None and device_time is not None:
                poll_device_time = self._device_time({}, poll.rel_time)
                if poll_device_time is not None:
                    t = now - min(max(0.0, poll_device_time - device_time), 86_400.0)
            for raw in values:
                if len(raw) != 10:
                    raise m.Malformed("numeric observed value length")
                physio, state, unit, fl = struct.unpack(">HHHI", raw)
                value = decode_float(fl)
                q = quality_of(state)
                if value is None:
                    value, q = math.nan, Quality.INVALID
                out.append(
                    Reading(
                        t=t,
                        source=self.source,
                        code=mdc_code(physio),
                        value=value,
                        unit=mdc_unit(unit),
                        quality=q,
                        device_time=device_time,
                    )
                )
        return out

    def _wave(self, poll: m.PollReply, now: float) -> list[Sample]:
        """Sample arrays as chunks, each at the rate of the object it belongs to (see
        devices.protocols.intellivue_waves: two objects may share a handle)."""
        out: list[Sample] = []
        for ob in poll.observations:
            arrays, compound = sample_arrays(ob.attributes)
            spec = self._waves.spec_for(ob.context, ob.handle, ob.attributes, arrays, compound,
                                        now)
            if spec is None or spec.rate_hz is None:
                continue  # without its object's sample period the samples cannot be placed
            for arr in arrays:
                values = chunk_values(spec, arr.body)
                if values is None:
                    continue
                rate = spec.rate_hz
                out.append(WaveChunk(
                    t0=now - len(values) / rate,
                    source=self.source,
                    code=mdc_code(arr.physio),
                    rate_hz=rate,
                    samples=values.astype(np.float32),
                    quality=quality_of(arr.state),
                ))
        return out


DRIVER = Driver(
    name="intellivue",
    title="Philips IntelliVue (MIB/RS232 data export)",
    settings=SerialSettings(baudrate=115200),
    # The MIB/RS232 fixed-baudrate protocol runs at 115200 or 19200 baud, 8N1 (guide, "The
    # Fixed Baudrate Protocol, RS232 Port Settings").
    alternatives=(SerialSettings(baudrate=19200),),
    make_decoder=IntelliVueDecoder,
    make_simulator=IntelliVueMonitor,
    talks_back=True,
    notes=(
        "Set the monitor's MIB/RS232 port to Data Export (DtOut1), 115200 baud. Holdspace "
        "associates, polls numerics every second and the pleth wave every 256 ms."
    ),
    aliases=("philips",),
)
