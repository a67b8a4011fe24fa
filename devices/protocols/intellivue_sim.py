"""A simulated IntelliVue monitor: the monitor's side of MIB/RS232 Data Export, byte for byte.

It waits for an association request, accepts it (or refuses, when told to), sends the MDS
Create Event (re-sent every 3 s, abort after 3 tries), and answers extended polls with an
immediate result and then one per period (1 s numerics, 256 ms pleth) until the poll expires.
Results larger than the negotiated MTU are split into linked results. Values come from
`devices.physiology.Physiology`; probe-off numerics carry the INVALID state and a NaN value,
artefact sets QUESTIONABLE. Ten seconds without a message from the client aborts the
association, as the real monitor does.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from devices.physiology import Physiology
from devices.protocols import intellivue_messages as m
from devices.protocols.intellivue_codec import (
    ABS_TIME_INVALID,
    TICKS_PER_S,
    FrameReader,
    encode_abs_time,
    encode_float,
    wrap,
)

SUPPORTED_EXT = m.POLL_EXT_PERIOD_NU_1SEC | m.POLL_EXT_PERIOD_RTSA | m.POLL_EXT_ENUM
PLETH_RATE = 125.0
WAVE_PERIOD_S = 0.256  # real-time wave results
NUMERIC_PERIOD_S = 1.0
PLETH_BITS = 12  # samples 0..4095 map to the 0..1 pleth scale


@dataclass(slots=True)
class _Poll:
    invoke_id: int
    number: int
    obj_class: int
    period_s: float
    expires: float
    next_t: float
    sequence: int = 0


class IntelliVueMonitor:
    """The monitor side; `refuse` association requests are refused before one is accepted."""

    CREATE_RESEND_S = 3.0
    TIMEOUT_S = 10.0

    def __init__(
        self, physio: Physiology, mtu: int = 1000, demo: bool = False, refuse: int = 0
    ) -> None:
        self.physio = physio
        self.mtu = mtu
        self.demo = demo
        self.refuse = refuse
        self._reader = FrameReader()
        self.reset()

    def reset(self) -> None:
        self._reader.reset()
        self.state = "idle"  # idle -> creating -> associated
        self._boot: float | None = None
        self._out: list[bytes] = []
        self._polls: dict[int, _Poll] = {}
        self._ext = 0
        self._mtu = self.mtu
        self._rx_t = 0.0
        self._create_t = 0.0
        self._create_tries = 0
        self._create_invoke = 0
        self._nibp_sent: float | None = None
        self._wave_t: float | None = None
        self.polls_received = 0

    def abort(self) -> None:
        """The monitor drops the association (as after a timeout or a setting change)."""
        self._out.append(m.ABORT)
        self.state = "idle"
        self._polls.clear()

    def _rel(self, now: float) -> int:
        if self._boot is None:
            self._boot = now - 4321.0  # powered on a while ago
        return int((now - self._boot) * TICKS_PER_S) & 0xFFFFFFFF

    # ---- client -> monitor

    def receive(self, data: bytes, now: float) -> None:
        for payload in self._reader.push(data).payloads:
            self._rx_t = now
            kind = payload[0]
            if kind == m.CN_SPDU:
                self._associate(payload, now)
            elif kind == m.FN_SPDU:
                self._out.append(m.RELEASE_RESPONSE)
                self.state = "idle"
                self._polls.clear()
            elif kind == m.AB_SPDU:
                self.state = "idle"
                self._polls.clear()
            elif kind == m.DATA_EXPORT and self.state != "idle":
                try:
                    msg = m.decode_data(payload)
                except (m.Malformed, struct.error, ValueError):
                    continue
                self._command(msg, now)

    def _associate(self, payload: bytes, now: float) -> None:
        if self.refuse > 0:
            self.refuse -= 1
            self._out.append(m.REFUSE)
            return
        try:
            req = m.association_user_info(payload)
        except (m.Malformed, struct.error, ValueError):
            self._out.append(m.REFUSE)
            return
        if not req.system_type & m.SYST_CLIENT or req.max_mtu_rx < 300:
            self._out.append(m.REFUSE)
            return
        # RS232 is point to point: a new request is the same client starting over.
        self._ext = (req.ext_options or 0) & SUPPORTED_EXT
        self._mtu = min(req.max_mtu_rx, self.mtu)
        answer = m.UserInfo(
            system_type=m.SYST_SERVER,
            min_poll_period=max(req.min_poll_period, TICKS_PER_S),
            max_mtu_rx=self._mtu,
            max_mtu_tx=min(req.max_mtu_tx, 1000),
            ext_options=self._ext if req.ext_options is not None else None,
        )
        self._out.append(m.association_response(answer))
        self._polls.clear()
        self._nibp_sent = None
        self.state = "creating"
        self._create_invoke = (self._create_invoke + 1) & 0xFFFF
        self._create_tries = 0
        self._send_create(now)

    def _send_create(self, now: float) -> None:
        self._create_tries += 1
        self._create_t = now
        self._out.append(
            m.mds_create_event(self._create_invoke, self._rel(now), encode_abs_time(now))
        )

    def _command(self, msg: m.DataMessage, now: float) -> None:
        if msg.ro_type == m.RORS and msg.event_type == m.NOM_NOTI_MDS_CREAT:
            if msg.invoke_id == self._create_invoke and self.state == "creating":
                self.state = "associated"
            return
        if msg.poll_request is None or self.state != "associated":
            return
        self.polls_received += 1
        number, cls, group, period = msg.poll_request
        if cls == m.NOM_MOC_VMO_AL_MON:
            reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA, number, None, self._rel(now),
                                ABS_TIME_INVALID, cls, group)
            self._out.append(m.result(msg.invoke_id, m.CMD_CONFIRMED_ACTION,
                                      m.action_result_body(reply)))
            return
        allowed = {
            m.NOM_MOC_VMO_METRIC_NU: bool(self._ext & m.POLL_EXT_PERIOD_NU_1SEC),
            m.NOM_MOC_VMO_METRIC_SA_RT: bool(self._ext & m.POLL_EXT_PERIOD_RTSA),
        }
        if not allowed.get(cls, False):
            self._out.append(m.error(msg.invoke_id, 16))  # INVALID_SCOPE
            return
        step = NUMERIC_PERIOD_S if cls == m.NOM_MOC_VMO_METRIC_NU else WAVE_PERIOD_S
        active = (period or 0) / TICKS_PER_S
        old = self._polls.get(cls)
        # A renewed poll is confirmed at once; the basic period of the replies continues.
        self._polls[cls] = _Poll(
            msg.invoke_id, number, cls, step, now + active, old.next_t if old else now + step
        )
        self._send_result(self._polls[cls], now)

    # ---- monitor -> client

    def produce(self, now: float) -> bytes:
        self._rel(now)
        if self.state != "idle" and now - self._rx_t >= self.TIMEOUT_S:
            self.abort()
        if self.state == "creating" and now - self._create_t >= self.CREATE_RESEND_S:
            if self._create_tries >= 3:
                self.abort()
            else:
                self._send_create(now)
        for cls, poll in list(self._polls.items()):
            if now >= poll.expires:
                del self._polls[cls]
                continue
            if now >= poll.next_t:
                poll.sequence += 1
                poll.next_t = max(poll.next_t + poll.period_s, now - poll.period_s)
                self._send_result(poll, now)
        out = b"".join(wrap(msg) for msg in self._out)
        self._out.clear()
        return out

    def _send_result(self, poll: _Poll, now: float) -> None:
        numerics = poll.obj_class == m.NOM_MOC_VMO_METRIC_NU
        obs = self._numerics(now) if numerics else self._pleth(now)
        self._out += self._split(poll, obs, now)

    def _split(self, poll: _Poll, obs: list[m.Observation], now: float) -> list[bytes]:
        """One result, or linked results each within the negotiated MTU."""

        def body(part: list[m.Observation]) -> bytes:
            reply = m.PollReply(m.NOM_ACT_POLL_MDIB_DATA_EXT, poll.number, poll.sequence,
                                self._rel(now), ABS_TIME_INVALID, poll.obj_class, m.ALL_GROUPS,
                                part)
            return m.action_result_body(reply)

        parts: list[list[m.Observation]] = [[]]
        for ob in obs:
            if parts[-1] and len(body([*parts[-1], ob])) + 8 > self._mtu:
                parts.append([])
            parts[-1].append(ob)
        msgs = []
        for i, part in enumerate(parts[:-1]):
            # Every part but the last is a linked result; the last of those says "last".
            if i == len(parts) - 2:
                state = m.RORLS_LAST
            else:
                state = m.RORLS_FIRST if i == 0 else m.RORLS_NOT_FIRST_NOT_LAST
            msgs.append(m.result(poll.invoke_id, m.CMD_CONFIRMED_ACTION, body(part),
                                 linked=(state, i + 1)))
        msgs.append(m.result(poll.invoke_id, m.CMD_CONFIRMED_ACTION, body(parts[-1])))
        return msgs

    def _state(self, bad: bool, artefact: bool) -> int:
        s = m.STATE_DEMO if self.demo else 0
        if bad:
            s |= m.STATE_INVALID
        elif artefact:
            s |= m.STATE_QUESTIONABLE
        return s

    def _numeric(self, handle: int, physio: int, unit: int, value: float | None,
                 decimals: int, state: int) -> m.Observation:
        attrs = {
            m.NOM_ATTR_ID_TYPE: struct.pack(">HH", m.NOM_PART_SCADA, physio),
            m.NOM_ATTR_NU_VAL_OBS: m.nu_obs_value(physio, state, unit,
                                                 encode_float(value, decimals)),
        }
        return m.Observation(0, handle, attrs)

    def _numerics(self, now: float) -> list[m.Observation]:
        v = self.physio.vitals(now)
        art = v.artefact
        obs = [
            self._numeric(0x0101, m.NOM_ECG_CARD_BEAT_RATE, m.NOM_DIM_BEAT_PER_MIN, v.hr, 0,
                          self._state(v.hr is None, art)),
            # SpO2 as 970 x 10^-1: a client that ignores the exponent reads 970 %.
            self._numeric(0x0102, m.NOM_PULS_OXIM_SAT_O2, m.NOM_DIM_PERCENT, v.spo2, 1,
                          self._state(v.spo2 is None, art)),
            self._numeric(0x0103, m.NOM_PULS_OXIM_PULS_RATE, m.NOM_DIM_BEAT_PER_MIN, v.pulse, 0,
                          self._state(v.pulse is None, art)),
            self._numeric(0x0104, m.NOM_RESP_RATE, m.NOM_DIM_RESP_PER_MIN, v.rr, 0,
                          self._state(v.rr is None, False)),
        ]
        if v.nibp is not None and v.nibp_t is not None and v.nibp_t != self._nibp_sent:
            self._nibp_sent = v.nibp_t
            ok = self._state(False, False)
            parts = [
                m.nu_obs_value(pid, ok, m.NOM_DIM_MMHG, encode_float(val, 0))
                for pid, val in zip(
                    (m.NOM_PRESS_BLD_NONINV_SYS, m.NOM_PRESS_BLD_NONINV_DIA,
                     m.NOM_PRESS_BLD_NONINV_MEAN),
                    v.nibp,
                    strict=True,
                )
            ]
            cmpd = struct.pack(">HH", len(parts), 10 * len(parts)) + b"".join(parts)
            obs.append(
                m.Observation(0, 0x0105, {
                    m.NOM_ATTR_ID_TYPE: struct.pack(">HH", m.NOM_PART_SCADA,
                                                    m.NOM_PRESS_BLD_NONINV),
                    m.NOM_ATTR_NU_CMPD_VAL_OBS: cmpd,
                    m.NOM_ATTR_TIME_STAMP_ABS: encode_abs_time(v.nibp_t),
                })
            )
        return obs

    def _pleth(self, now: float) -> list[m.Observation]:
        n = round(WAVE_PERIOD_S * PLETH_RATE)  # 32 samples per 256 ms
        if self._wave_t is None or abs(now - self._wave_t) > 2.0:
            self._wave_t = now - WAVE_PERIOD_S
        wave = self.physio.pleth(self._wave_t, n, PLETH_RATE)
        self._wave_t += n / PLETH_RATE
        top = (1 << PLETH_BITS) - 1
        ints = np.clip(np.round(wave * top), 0, top).astype(">u2")
        probe_off = self.physio.vitals(now).probe_off
        state = self._state(probe_off, False)
        attrs = {
            m.NOM_ATTR_ID_TYPE: struct.pack(">HH", m.NOM_PART_SCADA, m.NOM_PLETH),
            m.NOM_ATTR_TIME_PD_SAMP: struct.pack(">I", int(TICKS_PER_S / PLETH_RATE)),
            m.NOM_ATTR_SA_SPECN: struct.pack(">HBBH", n, 16, PLETH_BITS, 0x1000),
            m.NOM_ATTR_SCALE_SPECN_I16: struct.pack(
                ">IIHH", encode_float(None), encode_float(None), 0, top
            ),
            m.NOM_ATTR_SA_VAL_OBS: struct.pack(">HHH", m.NOM_PLETH, state, 2 * n)
            + ints.tobytes(),
        }
        return [m.Observation(0, 0x0201, attrs)]
