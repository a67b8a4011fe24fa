"""The MLLP listener for HL7 gateways (issue 12 item 7), on real TCP sockets on 127.0.0.1.

Gateways (Philips Information Center / PIC iX, GE CARESCAPE Gateway, Mindray eGateway) are TCP
clients that push ORU^R01 for every bed of a unit to a receiving system and expect one ACK per
message (HL7 v2.x Appendix C, MLLP; IHE PCD-01). The simulated gateway here
(devices.hl7_gateway_sim) sends two beds on one connection.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from console.core.acquisition import AcquisitionHub
from console.store.db import connect_file
from devices import mdc
from devices.capture import read_capture
from devices.drivers import get_driver, parse_device
from devices.hl7_gateway_sim import GatewaySimulator
from devices.link import DEAD_MESSAGE, LinkState, LinkStatus
from devices.mllp_listener import Hl7Listener, ListenSpec, listen_url
from devices.physiology import Physiology, Vitals
from devices.protocols.hl7 import mllp
from devices.protocols.hl7_er7 import parse
from devices.reading import Reading, Sample
from tests.helpers.fixtures import wait_until

HL7 = get_driver("hl7")
HR = mdc.MDC_ECG_HEART_RATE
ROOM, ICU = "TREATMENT^^ROOM1", "ICU-3"


class Patient(Physiology):
    """A patient whose heart rate the test sets, so beds are told apart by their values."""

    def __init__(self, hr: float, sys_bp: float) -> None:
        super().__init__("calm", start=0.0)
        self.hr, self.sys_bp = hr, sys_bp

    def vitals(self, t: float) -> Vitals:
        return Vitals(hr=self.hr, spo2=97, rr=14, pulse=self.hr,
                      nibp=(self.sys_bp, 80.0, 95.0), nibp_t=1_732_443_330.0)


class Sink:
    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.statuses: list[LinkStatus] = []
        self._lock = threading.Lock()

    def samples(self, source: str, samples: list[Sample]) -> None:
        with self._lock:
            self.readings += [s for s in samples if isinstance(s, Reading)]

    def status(self, status: LinkStatus) -> None:
        with self._lock:
            self.statuses.append(status)

    def values(self, code: int) -> set[float]:
        with self._lock:
            return {r.value for r in self.readings if r.code == code}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def listening() -> Iterator[Listening]:
    made: list[Hl7Listener] = []

    def make(bed: str = "ROOM1", capture: BinaryIO | None = None) -> tuple[Hl7Listener, Sink]:
        sink = Sink()
        link = Hl7Listener(listen_url(free_port(), bed, "127.0.0.1"), HL7, sink,
                           capture=capture)
        link.start()
        made.append(link)
        assert wait_until(lambda: link.address is not None)
        return link, sink

    yield make
    for link in made:
        link.stop()


@pytest.fixture
def gateways() -> Iterator[Gateways]:
    made: list[GatewaySimulator] = []

    def make(port: int, beds: list[tuple[str, Physiology]] | None = None) -> GatewaySimulator:
        gw = GatewaySimulator("127.0.0.1", port, beds or [(ROOM, Patient(61, 118)),
                                                          (ICU, Patient(122, 171))])
        gw.start()
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.stop()


Listening = Callable[..., tuple[Hl7Listener, Sink]]
Gateways = Callable[..., GatewaySimulator]


def port_of(link: Hl7Listener) -> int:
    assert link.address is not None
    return link.address[1]


def test_only_the_chosen_beds_values_pass_and_every_message_is_acked(
        listening: Listening, gateways: Gateways) -> None:
    """PV1-3 (HL7 v2.x Chapter 3, PL: point of care ^ room ^ bed) names the bed; bed=ROOM1
    matches its bed component. The other bed's messages are ACKed (AA) but never passed on."""
    link, sink = listening("ROOM1")
    gw = gateways(port_of(link))
    assert wait_until(lambda: len(sink.values(HR)) >= 1 and len(gw.acks) >= 6, timeout=10)
    assert wait_until(lambda: link.status.state == LinkState.LIVE)
    assert sink.values(HR) == {61} and sink.values(mdc.MDC_PRESS_BLD_NONINV_SYS) == {118}
    assert {r.source for r in sink.readings} == {link.source}
    assert set(gw.acks.values()) == {"AA"}
    assert {c.split("-")[0] for c in gw.acks} == {"GW1", "GW2"}  # both beds answered
    assert {label for label, _ in link.beds_heard()} == {"TREATMENT/ROOM1", "ICU-3"}
    assert link.decoder.stats.frames_rejected == 0


def test_no_bed_chosen_stores_nothing_and_says_why(listening: Listening, gateways: Gateways) -> None:
    """Issue 12 item 7: with no bed chosen nothing is stored, and the status names the beds
    heard and where to choose."""
    link, sink = listening("")
    gw = gateways(port_of(link))
    assert wait_until(lambda: len(link.beds_heard()) == 2 and len(gw.acks) >= 4, timeout=10)
    assert wait_until(lambda: "2 beds heard" in link.status.message)
    st = link.status
    assert st.state == LinkState.NO_DATA
    assert "(ICU-3, TREATMENT/ROOM1)" in st.message or "(TREATMENT/ROOM1, ICU-3)" in st.message
    assert "choose this room's bed in Devices ▸ Monitors" in st.message
    assert sink.readings == [] and set(gw.acks.values()) == {"AA"}
    assert any("2 beds heard" in s.message for s in sink.statuses)  # told to the strip/record


def test_a_name_that_fits_two_beds_stores_nothing(listening: Listening, gateways: Gateways) -> None:
    """Two units may both have a bed "1": a choice that fits both would mix two patients."""
    link, sink = listening("1")
    gw = gateways(port_of(link), [("KAP^^1", Patient(61, 118)), ("ICU^^1", Patient(122, 171))])
    assert wait_until(lambda: link.beds.ambiguous, timeout=10)
    n, acked = len(sink.readings), len(gw.acks)
    assert wait_until(lambda: "fits more than one bed" in link.status.message)
    assert link.status.state == LinkState.NO_DATA and "full name" in link.status.message
    # further messages from each bed arrive (and are answered) and none passes
    assert wait_until(lambda: len(gw.acks) >= acked + 4, timeout=10)
    assert len(sink.readings) == n
    assert len(sink.values(HR)) <= 1  # never both patients


def test_the_full_label_chooses_one_of_two_same_named_beds(listening: Listening, gateways: Gateways) -> None:
    link, sink = listening("ICU/1")
    gateways(port_of(link), [("KAP^^1", Patient(61, 118)), ("ICU^^1", Patient(122, 171))])
    assert wait_until(lambda: len(sink.readings) >= 5, timeout=10)
    assert sink.values(HR) == {122}


def test_messages_that_name_no_bed_are_never_this_rooms_and_the_status_says_so(
        listening: Listening, gateways: Gateways) -> None:
    """A sender whose PV1-3 is empty cannot be told apart from any other bed: not stored."""
    link, sink = listening("ROOM1")
    gw = gateways(port_of(link), [("", Patient(61, 118))])
    link.no_data_after = 0.5
    assert wait_until(lambda: len(gw.acks) >= 2 and "name no bed" in link.status.message,
                      timeout=10)
    assert sink.readings == [] and link.status.state == LinkState.NO_DATA


def test_several_senders_at_once_each_get_their_acks(listening: Listening, gateways: Gateways) -> None:
    """A primary and a backup gateway (or two units) connected together."""
    link, sink = listening("ROOM1")
    a = gateways(port_of(link), [(ROOM, Patient(61, 118))])
    b = gateways(port_of(link), [("OTHER^^9", Patient(99, 150))])
    assert wait_until(lambda: link.senders == 2 and len(a.acks) >= 2 and len(b.acks) >= 2,
                      timeout=10)
    assert set(a.acks) <= set(a.sent) and set(b.acks) <= set(b.sent)
    assert sink.values(HR) == {61}


def test_a_sender_that_drops_is_taken_back(listening: Listening, gateways: Gateways) -> None:
    link, sink = listening("ROOM1")
    gw = gateways(port_of(link), [(ROOM, Patient(61, 118))])
    assert wait_until(lambda: len(gw.acks) >= 2, timeout=10)
    gw.drop()
    assert wait_until(lambda: gw.connections == 2 and link.senders == 1, timeout=10)
    t = time.time()
    assert wait_until(lambda: any(r.t > t for r in sink.readings), timeout=10)
    assert link.is_alive() and link.restarts == 0


def test_damaged_and_unusable_messages_are_answered_ar_and_ae(listening: Listening) -> None:
    """HL7 v2.x Chapter 2, original acknowledgment mode, on the sender's own connection."""
    link, _ = listening("ROOM1")
    msh = "MSH|^~\\&|GW|UNIT|||20241124101530||ORU^R01|{cid}|P|2.6|||AL"
    bad_row = "\r".join([msh.format(cid="E1"), "PV1||I|TREATMENT^^ROOM1",
                         "OBX|1|NM|147842^HR^MDC||7x|264864^^MDC|||||F"]) + "\r"
    cut = (b"\x0b" + (msh.format(cid="R1") + "\rPV1||I|TREATMENT^^ROOM1").encode()
           + b"\x1c\r")
    with socket.create_connection(("127.0.0.1", port_of(link)), timeout=5) as s:
        s.sendall(mllp(bad_row) + cut)
        got = b""
        while got.count(b"\x1c") < 2:
            got += s.recv(4096)
    acks = [parse(f.strip(b"\x0b\r").decode()) for f in got.split(b"\x1c")[:2]]
    assert [(a[1].get(1), a[1].get(2)) for a in acks] == [("AE", "E1"), ("AR", "R1")]
    assert "not a number" in acks[0][1].get(3) and "cut short" in acks[1][1].get(3)
    assert [a[2].name for a in acks] == ["ERR", "ERR"]


def test_a_port_in_use_is_said_in_words_and_retried(listening: Listening) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        sink = Sink()
        link = Hl7Listener(listen_url(port, "ROOM1", "127.0.0.1"), HL7, sink)
        link.start()
        try:
            assert wait_until(lambda: "in use by another program" in link.status.message)
            assert link.status.state in (LinkState.CONNECTING, LinkState.LOST)
            busy.close()
            assert wait_until(lambda: link.address is not None, timeout=10)
            assert "port" in link.status.message and "in use" not in link.status.message
        finally:
            link.stop()
    assert link.status.state == LinkState.STOPPED


def test_no_gateway_connecting_becomes_no_data_in_words(listening: Listening) -> None:
    """A gateway that never connects must not leave the link "connecting" for ever: after a
    few seconds it is "no data" (a technical alarm during a session), saying what to check."""
    link, _ = listening("ROOM1")
    assert link.status.state == LinkState.CONNECTING
    assert "waiting for the gateway to connect" in link.status.message
    link.no_data_after = 0.3
    assert wait_until(lambda: link.status.state == LinkState.NO_DATA, timeout=5)
    assert "No gateway has connected" in link.status.message
    assert "HL7 destination" in link.status.message


def test_an_address_this_computer_does_not_have_is_said_in_words() -> None:
    link = Hl7Listener(listen_url(free_port(), "ROOM1", "192.0.2.77"), HL7, Sink())
    link.start()
    try:
        assert wait_until(lambda: "no network address 192.0.2.77" in link.status.message)
    finally:
        link.stop()


@pytest.mark.parametrize(("url", "words"), [
    ("listen:x", "must be a number"), ("listen:0", "between 1 and 65535"),
    ("listen:2575?beds=ROOM1", "unknown option 'beds'"), ("listen:2575?bed", "?bed=BED"),
])
def test_bad_listening_addresses_are_refused_with_the_reason(url: str, words: str) -> None:
    with pytest.raises(ValueError) as e:
        ListenSpec.parse(url)
    assert words in str(e.value)
    with pytest.raises(ValueError):
        parse_device(f"hl7:{url}")


def test_listen_spec_round_trip_and_default_interface() -> None:
    spec = ListenSpec.parse("listen:2575?bed=Room 4&host=10.1.2.3")
    assert (spec.port, spec.bed, spec.host) == (2575, "Room 4", "10.1.2.3")
    assert ListenSpec.parse(spec.url) == spec
    assert ListenSpec.parse("listen:2575").host == "0.0.0.0"  # gateways are on the network
    assert parse_device("hl7:listen:2575?bed=ROOM1")[1] == "listen:2575?bed=ROOM1"
    with pytest.raises(ValueError, match="only HL7"):
        parse_device("nonin:listen:2575")


def test_capture_holds_only_this_beds_messages(listening: Listening, gateways: Gateways,
                                             tmp_path: Path) -> None:
    """Other beds' data is never stored: not in readings, and not in a capture file either."""
    from devices.capture import open_capture

    path = tmp_path / "gw.hscap"
    cap = open_capture(path, "hl7", "listen", "")
    link, _ = listening("ROOM1", capture=cap)
    gw = gateways(port_of(link))
    assert wait_until(lambda: len(gw.acks) >= 6, timeout=10)
    link.stop()
    cap.close()
    data = b"".join(r.data for r in read_capture(path).received)
    assert data.count(b"\x0b") >= 2 and b"TREATMENT^^ROOM1" in data and b"ICU-3" not in data


# The thread's end by SystemExit is the point of this test: pytest reports it as a warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_hub_holds_a_listener_and_its_watchdog_restarts_a_dead_one(
        gateways: Gateways, caplog: pytest.LogCaptureFixture) -> None:
    """AcquisitionHub.add_device takes `listen:` like a port; `check` restarts a dead thread."""
    hub = AcquisitionHub(None, time.time)
    port = free_port()
    link = hub.add_device(HL7, listen_url(port, "ROOM1", "127.0.0.1"))
    try:
        assert isinstance(link, Hl7Listener) and hub.title(link.source) == "HL7 gateway"
        gw = gateways(port, [(ROOM, Patient(61, 118))])
        assert wait_until(lambda: (r := hub.latest(HR)) is not None and r.value == 61, timeout=10)
        assert hub.watchdog() == []

        def die(source: str, samples: list[Sample]) -> None:
            raise SystemExit

        hub.samples = die  # type: ignore[method-assign]
        assert wait_until(lambda: not link.is_alive(), timeout=10)
        assert link.status.state == LinkState.LOST
        del hub.samples
        with caplog.at_level(logging.ERROR, logger="devices.mllp_listener"):
            msgs = hub.watchdog()
        assert msgs == [f"{link.source}: {DEAD_MESSAGE}"] and link.restarts == 1
        assert wait_until(lambda: link.senders == 1 and gw.connections >= 2, timeout=10)
        t = time.time()
        assert wait_until(lambda: (r := hub.latest(HR)) is not None and r.t > t, timeout=10)
    finally:
        hub.stop()
    assert link.status.state == LinkState.STOPPED


def test_watchdog_says_so_when_live_data_stops_but_the_thread_cannot(
        listening: Listening, gateways: Gateways) -> None:
    """A sink that blocks (a stuck consumer) keeps the thread from saying "no data" itself."""
    release = threading.Event()
    link, sink = listening("ROOM1")
    link.no_data_after = 0.8
    gw = gateways(port_of(link), [(ROOM, Patient(61, 118))])
    assert wait_until(lambda: link.status.state == LinkState.LIVE, timeout=10)
    blocked = threading.Event()

    def stuck(source: str, samples: list[Sample]) -> None:
        blocked.set()
        release.wait(20)

    sink.samples = stuck  # type: ignore[method-assign]
    try:
        assert blocked.wait(10)
        assert wait_until(lambda: link.status.state == LinkState.NO_DATA, timeout=5)
        assert wait_until(lambda: (link.check(), sink.statuses[-1].state)[1]
                          == LinkState.NO_DATA, timeout=10)
    finally:
        release.set()
    assert gw.connections >= 1


@pytest.mark.slow
def test_record_from_a_simulated_gateway_stores_only_the_chosen_bed(tmp_path: Path) -> None:
    """End to end: `holdspace simulate --protocol hl7-gateway` (two beds on one connection:
    ROOM1 calm, NIBP ~122/78; ICU-3 hypertensive, ~172/104) sends to `holdspace record
    --device hl7:listen:PORT?bed=ROOM1`; SQLite holds ROOM1's values only."""
    port = free_port()
    db = tmp_path / "gw.db"
    device = f"hl7:listen:{port}?bed=ROOM1&host=127.0.0.1"
    hs = [sys.executable, "-m", "console"]
    rec = subprocess.Popen([*hs, "record", "--device", device, "--db", str(db),
                            "--duration", "9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    sim = subprocess.Popen([*hs, "simulate", "--protocol", "hl7-gateway", "--connect",
                            f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        out, err = rec.communicate(timeout=60)
    finally:
        sim.terminate()
        sim.wait(10)
        if rec.poll() is None:
            rec.kill()
    assert rec.returncode == 0, err
    assert "Traceback" not in err
    conn = connect_file(db)
    rows = conn.execute("SELECT code, value, source FROM readings WHERE quality IN (0, 1) "
                        "AND value IS NOT NULL").fetchall()
    assert rows and {s for _, _, s in rows} == {f"hl7:{device[4:]}"}
    sys_bp = [v for c, v, _ in rows if c == mdc.MDC_PRESS_BLD_NONINV_SYS]
    assert sys_bp and all(100 <= v <= 145 for v in sys_bp), sys_bp  # ROOM1's, never ICU-3's
    hr = [v for c, v, _ in rows if c == HR]
    assert len(hr) >= 4
    waves = conn.execute("SELECT COUNT(*) FROM waveforms").fetchone()[0]
    assert waves >= 1
    assert "live" in out


def test_one_message_with_two_patients_gives_only_this_rooms_rows() -> None:
    """HL7 v2.x Chapter 7, ORU^R01: the PATIENT_RESULT group (PID, PV1, OBR, OBX…) repeats; a
    gateway may batch beds in one message. Only the rows after this room's PV1 are decoded."""
    from devices.protocols.hl7 import Hl7Decoder
    from devices.protocols.hl7_beds import BedChoice

    text = "\r".join([
        "MSH|^~\\&|GW|UNIT|||20241124101530+0000||ORU^R01|B1|P|2.6|||AL",
        "PID|||1||Other^Patient", "PV1||I|ICU^^3", "OBR|1||B1|M",
        "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||122|264864^^MDC|||||F",
        "PID|||2||This^Patient", "PV1||I|KAP^^ROOM1", "OBR|2||B1|M",
        "OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||61|264864^^MDC|||||F",
        "PID|||3||Third^Patient", "PV1||I|ICU^^4", "OBR|3||B1|M",
        "OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||88|262688^^MDC|||||F",
    ]) + "\r"
    d = Hl7Decoder("gw", beds=BedChoice("ROOM1"))
    out = d.feed(mllp(text), 1.0)
    assert [(r.code, r.value) for r in out if isinstance(r, Reading)] == [(HR, 61)]
    assert d.other_beds == 2 and d.stats.last_frame_t == 1.0
    assert d.beds is not None
    assert {label for label, _ in d.beds.heard()} == {"ICU/3", "KAP/ROOM1", "ICU/4"}
