"""IntelliVue Data Export messages: building and parsing the few the client and monitor need.

Association control (request, response, refuse, release, abort) uses the guide's fixed
building blocks around a variable user-data block; data export messages are the layered
SPpdu / ROapdus / RO*apdu / command structures of the guide's chapter 5, big-endian.
Parsers raise `Malformed` on anything that does not add up; callers drop the whole frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

# --- association control session header types
CN_SPDU = 0x0D  # association request
AC_SPDU = 0x0E  # association accept
RF_SPDU = 0x0C  # refuse
FN_SPDU = 0x09  # release request
DN_SPDU = 0x0A  # release response
AB_SPDU = 0x19  # abort
DATA_EXPORT = 0xE1  # first byte of every data export message (session id 0xE100)

# --- remote operations and commands
ROIV, RORS, ROER, ROLRS = 1, 2, 3, 5
CMD_EVENT_REPORT, CMD_CONFIRMED_EVENT_REPORT, CMD_CONFIRMED_ACTION = 0, 1, 7
RORLS_FIRST, RORLS_NOT_FIRST_NOT_LAST, RORLS_LAST = 1, 2, 3

# --- object classes, actions, events
NOM_PART_OBJ = 1
NOM_MOC_VMO_METRIC_NU = 6
NOM_MOC_VMO_METRIC_SA_RT = 9
NOM_MOC_VMS_MDS = 33
NOM_MOC_VMO_AL_MON = 54
NOM_NOTI_MDS_CREAT = 3334
NOM_ACT_POLL_MDIB_DATA = 3094
NOM_ACT_POLL_MDIB_DATA_EXT = 0xF13B
NOM_ATTR_GRP_VMO_STATIC = 0x0811
ALL_GROUPS = 0x0000

# --- attributes
NOM_ATTR_ID_HANDLE = 0x0921
NOM_ATTR_ID_TYPE = 0x092F
NOM_ATTR_NU_CMPD_VAL_OBS = 0x094B
NOM_ATTR_NU_VAL_OBS = 0x0950
NOM_ATTR_SA_SPECN = 0x096D
NOM_ATTR_SA_VAL_OBS = 0x096E
NOM_ATTR_SCALE_SPECN_I16 = 0x096F
NOM_ATTR_SA_CMPD_VAL_OBS = 0x0967
NOM_ATTR_TIME_ABS = 0x0987
NOM_ATTR_TIME_PD_SAMP = 0x098D
NOM_ATTR_TIME_REL = 0x098F
NOM_ATTR_TIME_STAMP_ABS = 0x0990
NOM_ATTR_TIME_STAMP_REL = 0x0991
NOM_ATTR_SA_FIXED_VAL_SPECN = 0x0A16
NOM_ATTR_TIME_PD_POLL = 0xF13E
NOM_POLL_PROFILE_SUPPORT = 0x0001
NOM_ATTR_POLL_PROFILE_EXT = 0xF001

# --- association user data values
MDDL_VERSION1 = 0x80000000
NOMEN_VERSION = 0x40000000
SYST_CLIENT = 0x80000000
SYST_SERVER = 0x00800000
COLD_START = 0x20000000
POLL_PROFILE_REV_0 = 0x80000000
P_OPT_DYN_OBJECTS = 0x60000000
POLL_EXT_PERIOD_NU_1SEC = 0x80000000
POLL_EXT_PERIOD_RTSA = 0x08000000
POLL_EXT_ENUM = 0x04000000

# --- measurement state bits
STATE_INVALID = 0x8000
STATE_QUESTIONABLE = 0x4000
STATE_UNAVAILABLE = 0x2000
STATE_CALIBRATING = 0x1000
STATE_TEST_DATA = 0x0800
STATE_DEMO = 0x0400

SA_FIX_INVALID_MASK = 1

MDS_OBJECT = (NOM_MOC_VMS_MDS, 0, 0)

# Fixed building blocks from the guide's "Association Control Protocol Examples".
_SESSION_DATA = bytes.fromhex("05 08 13 01 00 16 01 02 80 00 14 02 00 02")
_REQ_PRES_HEAD = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A4 80 30 80 02 01 01 06 04 52 01 00 01"
    " 30 80 06 02 51 01 00 00 00 00 30 80 02 01 02 06 0C 2A 86 48 CE 14 02 01 00 00 00 01 01"
    " 30 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 00 00 61 80 30 80 02 01 01"
    " A0 80 60 80 A1 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 BE 80 28 80 06 0C 2A"
    " 86 48 CE 14 02 01 00 00 00 01 01 02 01 02 81"
)
_RESP_PRES_HEAD = bytes.fromhex(
    "31 80 A0 80 80 01 01 00 00 A2 80 A0 03 00 00 01 A5 80 30 80 80 01 00 81 02 51 01 00 00"
    " 30 80 80 01 00 81 0C 2A 86 48 CE 14 02 01 00 00 00 02 01 00 00 00 00 61 80 30 80 02 01"
    " 01 A0 80 61 80 A1 80 06 0C 2A 86 48 CE 14 02 01 00 00 00 03 01 00 00 A2 03 02 01 00 A3"
    " 05 A1 03 02 01 00 BE 80 28 80 02 01 02 81"
)
_PRES_TRAILER = bytes(16)
REFUSE = bytes.fromhex("0C 03 32 01 00")
RELEASE_REQUEST = bytes.fromhex(
    "09 18 C1 16 61 80 30 80 02 01 01 A0 80 62 80 80 01 00 00 00 00 00 00 00 00 00"
)
RELEASE_RESPONSE = bytes.fromhex(
    "0A 18 C1 16 61 80 30 80 02 01 01 A0 80 63 80 80 01 00 00 00 00 00 00 00 00 00"
)
ABORT = bytes.fromhex(
    "19 2E 11 01 03 C1 29 A0 80 A0 80 30 80 02 01 01 06 02 51 01 00 00 00 00 61 80 30 80 02"
    " 01 01 A0 80 64 80 80 01 01 00 00 00 00 00 00 00 00 00 00"
)
_USER_DATA_TAG = bytes.fromhex("BE 80 28 80")  # then [06 0C <oid>] [02 01 02] 81, user data


class Malformed(ValueError):
    """A message whose lengths or fields do not add up."""


class Reader:
    """Bounds-checked big-endian reads over one message."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise Malformed(f"needs {n} bytes at {self.pos}, has {self.end - self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        v: int = struct.unpack(">H", self.take(2))[0]
        return v

    def u32(self) -> int:
        v: int = struct.unpack(">I", self.take(4))[0]
        return v

    def sub(self, n: int) -> Reader:
        """A reader over the next n bytes; this one skips past them."""
        start = self.pos
        self.take(n)
        return Reader(self.data, start, start + n)

    @property
    def left(self) -> int:
        return self.end - self.pos


# --- length encodings of association control


def _li(n: int) -> bytes:
    """Session/presentation length indicator: one byte up to 254, else FF + u16."""
    return bytes((n,)) if n <= 254 else b"\xff" + struct.pack(">H", n)


def _asn_length(n: int) -> bytes:
    if n <= 127:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def attribute_list(items: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(struct.pack(">HH", aid, len(val)) + val for aid, val in items)
    return struct.pack(">HH", len(items), len(body)) + body


def read_attribute_list(r: Reader) -> dict[int, bytes]:
    """count, length, then AVAs; unknown attributes are kept and ignored by callers."""
    count, length = r.u16(), r.u16()
    lr = r.sub(length)
    out: dict[int, bytes] = {}
    for _ in range(count):
        aid, alen = lr.u16(), lr.u16()
        out[aid] = lr.take(alen)
    if lr.left:
        raise Malformed("attribute list longer than its entries")
    return out


@dataclass(frozen=True, slots=True)
class UserInfo:
    """MDSEUserInfoStd, reduced to what we negotiate."""

    system_type: int = SYST_CLIENT
    min_poll_period: int = 8000  # ticks of 1/8 ms: one second
    max_mtu_rx: int = 1000
    max_mtu_tx: int = 1000
    ext_options: int | None = POLL_EXT_PERIOD_NU_1SEC | POLL_EXT_PERIOD_RTSA | POLL_EXT_ENUM

    def encode(self) -> bytes:
        packages: list[tuple[int, bytes]] = []
        if self.ext_options is not None:
            ext = struct.pack(">I", self.ext_options) + attribute_list([])
            packages.append((NOM_ATTR_POLL_PROFILE_EXT, ext))
        profile = struct.pack(
            ">IIIIII",
            POLL_PROFILE_REV_0,
            self.min_poll_period,
            self.max_mtu_rx,
            self.max_mtu_tx,
            0xFFFFFFFF,
            P_OPT_DYN_OBJECTS,
        ) + attribute_list(packages)
        body = struct.pack(
            ">IIIII", MDDL_VERSION1, NOMEN_VERSION, 0, self.system_type, COLD_START
        )
        body += attribute_list([]) + attribute_list([(NOM_POLL_PROFILE_SUPPORT, profile)])
        return _asn_length(len(body)) + body

    @classmethod
    def decode(cls, r: Reader) -> UserInfo:
        first = r.u8()
        n = first
        if first & 0x80:
            n = int.from_bytes(r.take(first & 0x7F), "big")
        ur = r.sub(n)
        _proto, _nomen, _fu, system_type, _startup = (ur.u32() for _ in range(5))
        read_attribute_list(ur)  # option list: none defined
        profiles = read_attribute_list(ur)
        raw = profiles.get(NOM_POLL_PROFILE_SUPPORT)
        if raw is None:
            raise Malformed("no poll profile")
        pr = Reader(raw)
        _rev, min_poll, mtu_rx, mtu_tx, _bw, _opts = (pr.u32() for _ in range(6))
        packages = read_attribute_list(pr)
        ext = packages.get(NOM_ATTR_POLL_PROFILE_EXT)
        ext_options = Reader(ext).u32() if ext is not None else None
        return cls(system_type, min_poll, mtu_rx, mtu_tx, ext_options)


def _assoc(spdu: int, pres_head: bytes, user: UserInfo) -> bytes:
    after_li = pres_head + user.encode() + _PRES_TRAILER
    pres = b"\xc1" + _li(len(after_li)) + after_li
    rest = _SESSION_DATA + pres
    return bytes((spdu,)) + _li(len(rest)) + rest


def association_request(user: UserInfo | None = None) -> bytes:
    return _assoc(CN_SPDU, _REQ_PRES_HEAD, user or UserInfo())


def association_response(user: UserInfo) -> bytes:
    return _assoc(AC_SPDU, _RESP_PRES_HEAD, user)


def association_user_info(msg: bytes) -> UserInfo:
    """The MDSEUserInfoStd of an association request or response (found after its tag)."""
    i = msg.find(_USER_DATA_TAG)
    if i < 0:
        raise Malformed("no user data in association message")
    i += len(_USER_DATA_TAG)
    if msg[i : i + 1] != b"\x81":
        j = msg.find(b"\x02\x01\x02\x81", i, i + 20)
        if j < 0:
            raise Malformed("no user data in association message")
        i = j + 3
    return UserInfo.decode(Reader(msg, i + 1))


# --- data export


def _sp(ro_type: int, body: bytes) -> bytes:
    return struct.pack(">HHHH", 0xE100, 2, ro_type, len(body)) + body


def _mo(obj: tuple[int, int, int]) -> bytes:
    return struct.pack(">HHH", *obj)


def invoke(invoke_id: int, command: int, body: bytes) -> bytes:
    return _sp(ROIV, struct.pack(">HHH", invoke_id, command, len(body)) + body)


def result(
    invoke_id: int, command: int, body: bytes, linked: tuple[int, int] | None = None
) -> bytes:
    """A remote operation result, or one linked part of it (linked = (state, count))."""
    head = struct.pack(">HHH", invoke_id, command, len(body))
    if linked is None:
        return _sp(RORS, head + body)
    return _sp(ROLRS, bytes(linked) + head + body)


def error(invoke_id: int, error_value: int) -> bytes:
    return _sp(ROER, struct.pack(">HHH", invoke_id, error_value, 0))


def mds_create_event(invoke_id: int, rel_time: int, abs_time: bytes) -> bytes:
    attrs = attribute_list(
        [(NOM_ATTR_TIME_ABS, abs_time), (NOM_ATTR_TIME_REL, struct.pack(">I", rel_time))]
    )
    info = _mo(MDS_OBJECT) + attrs
    arg = _mo(MDS_OBJECT) + struct.pack(">IHH", rel_time, NOM_NOTI_MDS_CREAT, len(info)) + info
    return invoke(invoke_id, CMD_CONFIRMED_EVENT_REPORT, arg)


def mds_create_result(invoke_id: int, managed_object: tuple[int, int, int], now_rel: int) -> bytes:
    body = _mo(managed_object) + struct.pack(">IHH", now_rel & 0xFFFFFFFF, NOM_NOTI_MDS_CREAT, 0)
    return result(invoke_id, CMD_CONFIRMED_EVENT_REPORT, body)


def poll_request(
    invoke_id: int,
    poll_number: int,
    obj_class: int,
    attr_group: int = ALL_GROUPS,
    period_ticks: int | None = None,
) -> bytes:
    """Extended poll (period_ticks given: periodic results for that long) or single poll."""
    if period_ticks is None:
        action = NOM_ACT_POLL_MDIB_DATA
        data = struct.pack(">HHHH", poll_number, NOM_PART_OBJ, obj_class, attr_group)
    else:
        action = NOM_ACT_POLL_MDIB_DATA_EXT
        ext = attribute_list([(NOM_ATTR_TIME_PD_POLL, struct.pack(">I", period_ticks))])
        data = struct.pack(">HHHH", poll_number, NOM_PART_OBJ, obj_class, attr_group) + ext
    arg = _mo(MDS_OBJECT) + struct.pack(">IHH", 0, action, len(data)) + data
    return invoke(invoke_id, CMD_CONFIRMED_ACTION, arg)


@dataclass(frozen=True, slots=True)
class Observation:
    """One object instance in a poll result: its handle and raw attributes."""

    context: int
    handle: int
    attributes: dict[int, bytes]


@dataclass(frozen=True, slots=True)
class PollReply:
    action: int
    poll_number: int
    sequence: int | None  # extended polls only
    rel_time: int
    abs_time: bytes
    obj_class: int
    attr_group: int
    observations: list[Observation] = field(default_factory=list)


def encode_poll_reply(reply: PollReply) -> bytes:
    """PollMdibDataReply(Ext) with its PollInfoList (contexts grouped in order)."""
    contexts: dict[int, list[Observation]] = {}
    for ob in reply.observations:
        contexts.setdefault(ob.context, []).append(ob)
    scps = b""
    for ctx, obs in contexts.items():
        polls = b"".join(
            struct.pack(">H", o.handle) + attribute_list(list(o.attributes.items())) for o in obs
        )
        scps += struct.pack(">HHH", ctx, len(obs), len(polls)) + polls
    head = struct.pack(">H", reply.poll_number)
    if reply.sequence is not None:
        head += struct.pack(">H", reply.sequence)
    head += struct.pack(">I", reply.rel_time) + reply.abs_time
    head += struct.pack(">HHH", NOM_PART_OBJ, reply.obj_class, reply.attr_group)
    return head + struct.pack(">HH", len(contexts), len(scps)) + scps


def action_result_body(reply: PollReply) -> bytes:
    data = encode_poll_reply(reply)
    return _mo(MDS_OBJECT) + struct.pack(">HH", reply.action, len(data)) + data


def _decode_poll_reply(action: int, r: Reader) -> PollReply:
    poll_number = r.u16()
    sequence = r.u16() if action == NOM_ACT_POLL_MDIB_DATA_EXT else None
    rel_time = r.u32()
    abs_time = r.take(8)
    _partition, obj_class, attr_group = r.u16(), r.u16(), r.u16()
    n_ctx, length = r.u16(), r.u16()
    lr = r.sub(length)
    obs: list[Observation] = []
    for _ in range(n_ctx):
        ctx, count, clen = lr.u16(), lr.u16(), lr.u16()
        cr = lr.sub(clen)
        for _ in range(count):
            handle = cr.u16()
            obs.append(Observation(ctx, handle, read_attribute_list(cr)))
        if cr.left:
            raise Malformed("context longer than its observations")
    if lr.left:
        raise Malformed("poll info list longer than its contexts")
    return PollReply(action, poll_number, sequence, rel_time, abs_time, obj_class, attr_group, obs)


@dataclass(frozen=True, slots=True)
class DataMessage:
    """A data export message, decoded as far as the client or monitor needs."""

    ro_type: int
    invoke_id: int
    command: int
    managed_object: tuple[int, int, int] = MDS_OBJECT
    event_type: int | None = None
    event_attributes: dict[int, bytes] = field(default_factory=dict)
    poll: PollReply | None = None  # poll results
    poll_request: tuple[int, int, int, int | None] | None = None  # number, class, group, period
    linked: tuple[int, int] | None = None
    error_value: int | None = None


def decode_data(msg: bytes) -> DataMessage:
    """Parse a data export message (starts E1 00). Raises Malformed."""
    r = Reader(msg)
    if r.u16() != 0xE100:
        raise Malformed("not a data export message")
    r.u16()  # presentation context id
    ro_type, ro_len = r.u16(), r.u16()
    r = r.sub(ro_len)
    if ro_type == ROER:
        return DataMessage(ro_type, r.u16(), -1, error_value=r.u16())
    linked = None
    if ro_type == ROLRS:
        linked = (r.u8(), r.u8())
    elif ro_type not in (ROIV, RORS):
        raise Malformed(f"remote operation type {ro_type}")
    invoke_id, command, clen = r.u16(), r.u16(), r.u16()
    r = r.sub(clen)
    mo = (r.u16(), r.u16(), r.u16())
    if ro_type == ROIV and command in (CMD_EVENT_REPORT, CMD_CONFIRMED_EVENT_REPORT):
        _time, event_type, elen = r.u32(), r.u16(), r.u16()
        er = r.sub(elen)
        attrs: dict[int, bytes] = {}
        if event_type == NOM_NOTI_MDS_CREAT:
            er.take(6)  # MDSCreateInfo.managed_object
            attrs = read_attribute_list(er)
        return DataMessage(ro_type, invoke_id, command, mo, event_type, attrs)
    if command == CMD_CONFIRMED_ACTION:
        if ro_type == ROIV:
            _scope, action, alen = r.u32(), r.u16(), r.u16()
            ar = r.sub(alen)
            number, _part, cls, group = ar.u16(), ar.u16(), ar.u16(), ar.u16()
            period = None
            if action == NOM_ACT_POLL_MDIB_DATA_EXT:
                ext = read_attribute_list(ar)
                if NOM_ATTR_TIME_PD_POLL in ext:
                    period = Reader(ext[NOM_ATTR_TIME_PD_POLL]).u32()
            elif action != NOM_ACT_POLL_MDIB_DATA:
                raise Malformed(f"action {action:#x}")
            return DataMessage(ro_type, invoke_id, command, mo, poll_request=(number, cls, group,
                                                                              period))
        action, alen = r.u16(), r.u16()
        if action not in (NOM_ACT_POLL_MDIB_DATA, NOM_ACT_POLL_MDIB_DATA_EXT):
            raise Malformed(f"action result {action:#x}")
        poll = _decode_poll_reply(action, r.sub(alen))
        return DataMessage(ro_type, invoke_id, command, mo, poll=poll, linked=linked)
    if ro_type in (RORS, ROLRS) and command == CMD_CONFIRMED_EVENT_REPORT:
        _time, event_type, elen = r.u32(), r.u16(), r.u16()
        r.take(elen)
        return DataMessage(ro_type, invoke_id, command, mo, event_type)
    return DataMessage(ro_type, invoke_id, command, mo, linked=linked)


# --- physiological identifiers (SCADA partition) and units (DIM partition) the simulator uses
NOM_ECG_CARD_BEAT_RATE = 0x4182  # 16770
NOM_PULS_RATE = 0x480A  # 18442
NOM_PULS_OXIM_PULS_RATE = 0x4822  # 18466
NOM_PRESS_BLD_NONINV = 0x4A04  # 18948, compound
NOM_PRESS_BLD_NONINV_SYS = 0x4A05
NOM_PRESS_BLD_NONINV_DIA = 0x4A06
NOM_PRESS_BLD_NONINV_MEAN = 0x4A07
NOM_PLETH = 0x4BB4  # 19380, wave
NOM_PULS_OXIM_SAT_O2 = 0x4BB8  # 19384
NOM_RESP_RATE = 0x500A  # 20490
NOM_PART_SCADA = 2
NOM_PART_DIM = 4
NOM_DIM_DIMLESS = 0x0200
NOM_DIM_PERCENT = 0x0220
NOM_DIM_BEAT_PER_MIN = 0x0AA0
NOM_DIM_RESP_PER_MIN = 0x0AE0
NOM_DIM_MMHG = 0x0F20


def nu_obs_value(physio_id: int, state: int, unit: int, value_raw: int) -> bytes:
    """NuObsValue: physio id, measurement state, unit code, FLOAT-Type."""
    return struct.pack(">HHHI", physio_id, state, unit, value_raw)
