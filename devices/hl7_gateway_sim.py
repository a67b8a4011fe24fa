"""A simulated central-station gateway: several beds' ORU^R01 down one TCP connection.

What a Philips Information Center, GE CARESCAPE Gateway or Mindray eGateway does towards a
receiving system: it connects (it is the TCP client), sends every bed's observations once a
second, each message MLLP-framed with its own PV1-3, reads one ACK per message, and connects
again when the connection drops. Used by `holdspace simulate --protocol hl7-gateway` and by the
tests of devices.mllp_listener.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from devices.physiology import Physiology
from devices.protocols.hl7_ack import EB, SB
from devices.protocols.hl7_sim import Hl7Monitor

TICK = 0.02
RETRY_S = 0.5  # between attempts to connect, as gateways retry


def beds_from_text(text: str) -> list[str]:
    """"TREATMENT^^ROOM1,ICU-3" -> ["TREATMENT^^ROOM1", "ICU-3"] (each a PV1-3 as sent)."""
    beds = [b.strip() for b in text.split(",") if b.strip()]
    if not beds:
        raise ValueError("give at least one bed, e.g. --beds 'TREATMENT^^ROOM1,ICU-3'")
    return beds


class GatewaySimulator:
    """Sends each bed's ORU^R01 once a second to host:port until `stop()`."""

    def __init__(self, host: str, port: int, beds: list[tuple[str, Physiology]],
                 now: Callable[[], float] = time.time) -> None:
        self.host, self.port = host, port
        self.now = now
        self.monitors = [Hl7Monitor(physio, bed=bed, id_prefix=f"GW{i}-")
                         for i, (bed, physio) in enumerate(beds, start=1)]
        self.acks: dict[str, str] = {}  # control id -> MSA-1
        self.connections = 0  # successful connects so far
        self.connected = threading.Event()
        self._sock: socket.socket | None = None
        self._inbox = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gateway simulator", daemon=True)

    @property
    def sent(self) -> list[str]:
        return [cid for m in self.monitors for cid in m.sent]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(3)
        self.drop()

    def drop(self) -> None:
        """Close the connection, as a gateway restart or a network blip would; it reconnects."""
        with self._lock:
            sock, self._sock = self._sock, None
            self.connected.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=2)
        except OSError:
            return None
        sock.setblocking(False)
        with self._lock:
            self._sock = sock
            self.connections += 1
            self.connected.set()
        for m in self.monitors:
            m.reset()  # a new connection starts a new sequence
        self._inbox.clear()
        return sock

    def _run(self) -> None:
        while not self._stop.is_set():
            sock = self._sock or self._connect()
            if sock is None:
                self._stop.wait(RETRY_S)
                continue
            now = self.now()
            try:
                for m in self.monitors:
                    data = m.produce(now)
                    if data:
                        self._send(sock, data)
                self._read_acks(sock)
            except OSError:
                self.drop()
                continue
            self._stop.wait(TICK)

    def _send(self, sock: socket.socket, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 2.0
        while view:
            try:
                n = sock.send(view)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the receiver does not read") from None
                self._stop.wait(TICK)
                continue
            view = view[n:]

    def _read_acks(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        if not data:
            raise ConnectionResetError("closed by the receiver")
        self._inbox += data
        while True:
            sb = self._inbox.find(SB)
            eb = self._inbox.find(EB, sb + 1) if sb >= 0 else -1
            if sb < 0 or eb < 0:
                return
            body = bytes(self._inbox[sb + 1 : eb]).decode("utf-8", "replace").strip("\r")
            del self._inbox[: eb + 1]
            for m in self.monitors:
                m.take_ack(body)
            for m in self.monitors:
                self.acks.update({c: a for c, a in m.acks.items() if c in m.sent})
