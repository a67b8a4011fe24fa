"""Listening for HL7 gateways: the MLLP receiver that central stations connect to.

Philips Information Center / PIC iX, GE CARESCAPE Gateway, Mindray eGateway / BeneVision CMS
and Nihon Kohden gateways are TCP *clients*: they connect to a receiving system and push
ORU^R01 for every bed of their unit (MLLP framing, HL7 v2.x Appendix C / IHE PCD-01). This
link is that receiving system. Several senders may be connected at once (a primary and a
backup gateway, or two units); each has its own decoder and is answered on its own connection
with an ACK per message (AA; AE or AR with the reason). A sender that drops costs nothing but
its unfinished message; the listener keeps listening and takes it back when it reconnects.

The device is `hl7:listen:PORT?bed=BED[&host=ADDRESS]`, e.g. `hl7:listen:2575?bed=ROOM1`:
- PORT: the TCP port the gateway is configured to send to (HL7's registered port is 2575);
- bed: this room's bed as PV1-3 names it (devices.protocols.hl7_beds). Only its data is decoded,
  shown and stored; every other bed's messages are acknowledged and passed over unread. With no
  bed chosen nothing is stored and the status says which beds were heard;
- host: the address to listen on. By default every interface (0.0.0.0), because gateways sit
  on the clinical network, not on this computer; `host=` narrows it to one network card (or
  127.0.0.1 for a gateway on the same machine). Who may send is a matter for the network (the
  clinic's firewall / VLAN): HL7 v2 over MLLP carries no authentication.

Like devices.link.SerialLink it runs on its own thread (selectors, no Qt), hands samples to a
LinkSink in batches after the plausibility gate, reports its state in words a nurse can act on,
and is watched by the owner's `check()`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import BinaryIO
from urllib.parse import parse_qs, quote

from devices import capture as capture_file
from devices.containment import frame_fault
from devices.link import DEAD_MESSAGE, LinkSink, LinkState, LinkStatus, WatchedLink
from devices.plausibility import Limits, PlausibilityGate
from devices.protocol import DecoderStats, Driver
from devices.protocols.hl7 import Hl7Decoder
from devices.protocols.hl7_beds import BedChoice
from devices.reading import Sample

log = logging.getLogger(__name__)

PREFIX = "listen:"
DEFAULT_PORT = 2575  # IANA's port for HL7 over MLLP
ALL_INTERFACES = "0.0.0.0"
TITLE = "HL7 gateway"
MAX_SENDERS = 16  # connections at once; more are closed at once (and logged)
MAX_PENDING_ACKS = 1 << 20  # bytes of ACKs a sender has not read; past that it is dropped
CHOOSE_BED = "choose this room's bed in Devices ▸ Monitors"


@dataclass(frozen=True, slots=True)
class ListenSpec:
    """What `listen:PORT?bed=…&host=…` asks for."""

    port: int
    bed: str = ""
    host: str = ALL_INTERFACES

    @classmethod
    def parse(cls, url: str) -> ListenSpec:
        """Read a listen URL; ValueError with a sentence for the person who typed it."""
        if not url.startswith(PREFIX):
            raise ValueError(f"{url!r} is not a listening address (listen:PORT?bed=BED)")
        rest = url[len(PREFIX):]
        port_text, _, query = rest.partition("?")
        try:
            port = int(port_text)
        except ValueError:
            raise ValueError(f"listen:{port_text} — the port must be a number, e.g. "
                             f"listen:{DEFAULT_PORT}?bed=ROOM1") from None
        if not 1 <= port <= 65535:
            raise ValueError(f"listen:{port} — a TCP port is between 1 and 65535 "
                             f"(HL7 gateways usually send to {DEFAULT_PORT})")
        try:
            options = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
        except ValueError:
            raise ValueError(f"{url!r}: write the options as ?bed=BED&host=ADDRESS") from None
        unknown = sorted(set(options) - {"bed", "host"})
        if unknown:
            raise ValueError(f"{url!r}: unknown option {unknown[0]!r} (known: bed, host)")
        bed = options.get("bed", [""])[-1].strip()
        host = options.get("host", [ALL_INTERFACES])[-1].strip() or ALL_INTERFACES
        return cls(port, bed, host)

    @property
    def url(self) -> str:
        return listen_url(self.port, self.bed, self.host)

    def where(self) -> str:
        """The listening address in words."""
        on = "all network interfaces" if self.host == ALL_INTERFACES else self.host
        return f"port {self.port} ({on})"


def listen_url(port: int, bed: str = "", host: str = ALL_INTERFACES) -> str:
    """`listen:2575?bed=ROOM1` (host only when it is not every interface)."""
    parts = []
    if bed:
        parts.append(f"bed={quote(bed, safe='/^-_.')}")
    if host and host != ALL_INTERFACES:
        parts.append(f"host={quote(host, safe='.:')}")
    return f"{PREFIX}{port}" + ("?" + "&".join(parts) if parts else "")


def is_listen_url(url: str) -> bool:
    return url.startswith(PREFIX)


def friendly_bind_error(spec: ListenSpec, exc: OSError) -> str:
    """Why the port could not be opened for listening, in words for the room."""
    err = exc.errno
    if err == errno.EADDRINUSE:
        return (f"Port {spec.port} is in use by another program — close it or choose another "
                "port for the gateway in Devices ▸ Monitors; Holdspace keeps trying.")
    if err in (errno.EACCES, errno.EPERM):
        return (f"Port {spec.port} needs administrator rights — choose a port above 1024 "
                f"(HL7 uses {DEFAULT_PORT}) in Devices ▸ Monitors.")
    if err == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return (f"This computer has no network address {spec.host} — correct host= in the "
                "monitor settings, or leave it out to listen on every network card.")
    return f"Cannot listen on port {spec.port}: {exc.strerror or exc}"


class _Totals:
    """The counters of every connection's decoder together (what the dialog and hub show)."""

    def __init__(self) -> None:
        self.stats = DecoderStats()


@dataclass(eq=False)
class _Sender:
    sock: socket.socket
    address: str
    decoder: Hl7Decoder
    since: float
    out: bytearray


class Hl7Listener(WatchedLink):
    """Listens for HL7 senders on one TCP port. `start()` returns at once; `stop()` ends it."""

    NO_DATA_AFTER = 5.0  # seconds without this bed's data before "no data"
    BACKOFF = (0.5, 1.0, 2.0, 4.0)
    TICK = 0.2  # the thread's longest wait: how soon it notices stop() and stale data
    THREAD_WORD = "listening thread"
    THREAD_NAME = "listen"

    def __init__(
        self,
        url: str,
        driver: Driver,
        sink: LinkSink,
        source: str | None = None,
        capture: BinaryIO | None = None,
        now: Callable[[], float] = time.time,
        limits: Mapping[int, Limits] | None = None,
    ) -> None:
        self.url = url
        self.spec = ListenSpec.parse(url)
        self.driver = driver
        self.sink = sink
        self.source = source or f"{driver.name}:{url}"
        self.capture = capture
        self.now = now
        self.gate = PlausibilityGate(limits)
        self.beds = BedChoice(self.spec.bed)
        self.decoder = _Totals()
        # (device time, value) per code, shared by every connection: a gateway that reconnects
        # and resends the last NIBP does not make it look new.
        self._last_values: dict[int, tuple[float, float]] = {}
        self._senders: dict[socket.socket, _Sender] = {}
        self._ever_connected = False
        self._connected_since: float | None = None
        self._listening: tuple[str, int] | None = None  # the address actually bound
        self._sel: selectors.BaseSelector | None = None
        self._bind_error: str | None = None
        self._started_t = now()
        self._init_watch()
        self._status = LinkStatus(self.source, LinkState.CONNECTING, "Starting to listen…",
                                  now(), replace(self.decoder.stats))
        self.no_data_after = max(self.NO_DATA_AFTER, 3 * driver.update_interval)
        self.open_failures = 0
        self.crashes = 0
        self.refused = 0  # connections closed because MAX_SENDERS were connected

    # ----- what the owner sees -----

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) being listened on, once bound."""
        return self._listening

    @property
    def senders(self) -> int:
        return len(self._senders)

    def beds_heard(self) -> list[tuple[str, float]]:
        """(bed label, when last heard) for every bed the gateways sent, most recent first."""
        return self.beds.heard()

    @property
    def status(self) -> LinkStatus:
        stats = replace(self.decoder.stats)
        if self.dead():
            return LinkStatus(self.source, LinkState.LOST, DEAD_MESSAGE, self._status.since,
                              stats)
        st = self._status
        if st.state == LinkState.STOPPED or self._bind_error is not None:
            return replace(st, stats=stats)
        state, message = self._state(self.now())
        if (state, message) == (st.state, st.message):
            return replace(st, stats=stats)
        return LinkStatus(self.source, state, message, self.now(), stats)

    def _silent_limit(self) -> float:
        return self.TICK + max(self.BACKOFF) + self.WEDGED_AFTER

    def _release(self) -> None:
        self._close_all()

    def _starting(self) -> None:
        self._started_t = self.now()

    def _stopped(self) -> None:
        self._close_all()

    def _log(self) -> logging.Logger:
        return log

    # ----- state in words -----

    def _state(self, now: float) -> tuple[LinkState, str]:
        bed = self.spec.bed
        heard = [label for label, _ in self.beds.heard()]
        listing = f" ({', '.join(heard[:6])}{', …' if len(heard) > 6 else ''})" if heard else ""
        n = len(heard)
        beds_heard = f"{n} bed{'s' if n != 1 else ''} heard{listing}"
        if self.beds.ambiguous:
            matched = ", ".join(self.beds.matched)
            return LinkState.NO_DATA, (f"HL7 gateway: bed '{bed}' fits more than one bed "
                                       f"({matched}) — nothing is stored; {CHOOSE_BED} by its "
                                       "full name")
        if bed and self.is_live(now):
            return LinkState.LIVE, "Live."
        if not bed:
            if not heard:
                return LinkState.NO_DATA, (f"HL7 gateway: listening on {self.spec.where()}, no "
                                           f"bed heard yet — nothing is stored until you "
                                           f"{CHOOSE_BED}")
            return LinkState.NO_DATA, f"HL7 gateway: {beds_heard} — {CHOOSE_BED}"
        if not self._senders:
            if not self._ever_connected:
                if now - self._started_t < self.no_data_after:
                    return LinkState.CONNECTING, (f"Listening on {self.spec.where()} — waiting "
                                                  "for the gateway to connect.")
                return LinkState.NO_DATA, (f"No gateway has connected to port {self.spec.port} "
                                           "— check the gateway's HL7 destination (this "
                                           f"computer, port {self.spec.port}) and the network.")
            return LinkState.NO_DATA, (f"The gateway disconnected — waiting for it to connect "
                                       f"again on port {self.spec.port}.")
        since = self._connected_since or now
        if self.decoder.stats.last_frame_t is None and now - since < self.no_data_after:
            return LinkState.CONNECTING, f"Gateway connected — waiting for bed {bed}…"
        if not heard and self.beds.unnamed:
            return LinkState.NO_DATA, ("HL7 gateway: its messages name no bed (PV1-3 is empty) "
                                       "— set the bed's name on the monitor or the gateway.")
        if not heard:
            return LinkState.NO_DATA, ("HL7 gateway connected, but nothing arrives — check the "
                                       "gateway's HL7 export (message ORU^R01) to this computer.")
        return LinkState.NO_DATA, (f"HL7 gateway: nothing for bed {bed}; {beds_heard} — check "
                                   f"this room's bed in Devices ▸ Monitors")

    # ----- the listening thread -----

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self._serve()
                failures = 0
            except Exception as e:
                self.crashes += 1
                failures += 1
                kind = f"crash: {type(e).__name__}"
                first = kind not in self._logged
                self._logged.add(kind)
                log.error("%s: unexpected error in the HL7 listener (%s, %d so far); restarting",
                          self.source, type(e).__name__, self.crashes,
                          exc_info=e if first else None)
                self._set(LinkState.LOST, "Listening for the gateway failed unexpectedly — "
                          "Holdspace restarts it by itself. If this keeps happening, call "
                          "support (details are in the log).")
                self._close_all()
                self._stop.wait(self.BACKOFF[min(failures, len(self.BACKOFF) - 1)])
        self._close_all()
        self._set(LinkState.STOPPED, "Stopped.")

    def _bind(self) -> socket.socket | None:
        spec = self.spec
        try:
            infos = socket.getaddrinfo(spec.host, spec.port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE)
            family, kind, proto, _, address = infos[0]
            srv = socket.socket(family, kind, proto)
        except OSError as e:
            self._bind_failed(e)
            return None
        try:
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind(address)
            srv.listen(MAX_SENDERS)
            srv.setblocking(False)
        except OSError as e:
            srv.close()
            self._bind_failed(e)
            return None
        self._bind_error = None
        host, port = srv.getsockname()[:2]
        self._listening = (str(host), int(port))
        log.info("%s: listening for HL7 on %s:%d", self.source, host, port)
        return srv

    def _bind_failed(self, e: OSError) -> None:
        self.open_failures += 1
        self._bind_error = friendly_bind_error(self.spec, e)
        self._set(LinkState.LOST if self.open_failures > 1 else LinkState.CONNECTING,
                  self._bind_error)
        self._beat = self.now()
        self._stop.wait(self.BACKOFF[min(self.open_failures - 1, len(self.BACKOFF) - 1)])

    def _serve(self) -> None:
        """Bind, then accept and read until stopped; raises only on a bug."""
        self._beat = self.now()
        srv = self._bind()
        if srv is None:
            return
        sel = selectors.DefaultSelector()
        sel.register(srv, selectors.EVENT_READ, None)
        self._sel = sel
        try:
            self._set(*self._state(self.now()))
            while not self._stop.is_set():
                events = sel.select(self.TICK)
                now = self.now()
                self._beat = now
                for key, mask in events:
                    if key.data is None:
                        self._accept(srv, now)
                        continue
                    sender: _Sender = key.data
                    if mask & selectors.EVENT_READ:
                        self._read(sender, now)
                    if mask & selectors.EVENT_WRITE and sender.sock in self._senders:
                        self._flush(sender)
                self._set(*self._state(now))
        finally:
            self._close_all()
            self._sel = None
            with contextlib.suppress(Exception):
                sel.close()
            srv.close()
            self._listening = None

    def _accept(self, srv: socket.socket, now: float) -> None:
        try:
            sock, peer = srv.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:  # e.g. too many open files: this connection only
            log.warning("%s: could not accept a connection (%s)", self.source, e.strerror)
            return
        if len(self._senders) >= MAX_SENDERS:
            self.refused += 1
            if "refused" not in self._logged:
                self._logged.add("refused")
                log.warning("%s: %d senders are connected already; another one was closed "
                            "(logged once)", self.source, MAX_SENDERS)
            sock.close()
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        decoder = Hl7Decoder(self.source, beds=self.beds)
        decoder.stats = self.decoder.stats  # one set of counters for the whole link
        decoder.last_values = self._last_values
        if self.capture is not None:
            decoder.on_kept_frame = self._capture
        address = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        sender = _Sender(sock, address, decoder, now, bytearray())
        self._senders[sock] = sender
        assert self._sel is not None
        self._sel.register(sock, selectors.EVENT_READ, sender)
        if self._connected_since is None:
            self._connected_since = now
        self._ever_connected = True
        log.info("%s: a gateway connected from %s (%d connected)", self.source, address,
                 len(self._senders))

    def _read(self, sender: _Sender, now: float) -> None:
        try:
            data = sender.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._drop(sender, f"connection error: {e.strerror or type(e).__name__}")
            return
        if not data:
            self._drop(sender, "closed by the gateway")
            return
        samples = self._decode(sender, data, now)
        if samples:
            try:
                self.sink.samples(self.source, samples)
            except Exception as e:
                self._sink_fault("samples", e)
        try:
            out = sender.decoder.outgoing(now)
        except Exception as e:
            frame_fault(self.driver.name, self.source, e, b"", self.decoder.stats, "outgoing")
            out = b""
        if out:
            sender.out += out
            self._flush(sender)

    def _decode(self, sender: _Sender, data: bytes, now: float) -> list[Sample]:
        try:
            samples = sender.decoder.feed(data, now)
        except Exception as e:  # a decoder bug costs these bytes only
            frame_fault(self.driver.name, self.source, e, data, self.decoder.stats, "feed")
            sender.decoder.reset()
            return []
        if not samples:
            return []
        try:
            gated = self.gate.apply(samples)
        except Exception as e:
            frame_fault(self.driver.name, self.source, e, data, self.decoder.stats, "gate")
            return []
        for label, kind in self.gate.last_rejected:
            self.decoder.stats.values_rejected += 1
            key = f"value {label}: {kind}"
            if key not in self._logged:
                self._logged.add(key)
                log.warning("%s: %s value rejected (%s) — stored as invalid or questionable "
                            "with the reason, never shown as valid (logged once per parameter "
                            "and reason)", self.source, label, kind)
        return gated

    def _flush(self, sender: _Sender) -> None:
        """Send what the sender is owed; what its socket will not take now waits for it."""
        try:
            sent = sender.sock.send(sender.out) if sender.out else 0
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as e:
            self._drop(sender, f"connection error: {e.strerror or type(e).__name__}")
            return
        del sender.out[:sent]
        if len(sender.out) > MAX_PENDING_ACKS:
            self._drop(sender, "it does not read its acknowledgements")
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if sender.out else 0)
        if self._sel is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.modify(sender.sock, events, sender)

    def _drop(self, sender: _Sender, why: str) -> None:
        self._senders.pop(sender.sock, None)
        if self._sel is not None:
            with contextlib.suppress(Exception):
                self._sel.unregister(sender.sock)
        with contextlib.suppress(OSError):
            sender.sock.close()
        if not self._senders:
            self._connected_since = None
        log.info("%s: the gateway at %s disconnected (%s); still listening", self.source,
                 sender.address, why)

    def _close_all(self) -> None:
        for sender in list(self._senders.values()):
            self._senders.pop(sender.sock, None)
            with contextlib.suppress(OSError):
                sender.sock.close()
        self._connected_since = None

    def _capture(self, frame: bytes) -> None:
        """This room's frames only, whole (the capture replays as one monitor's stream)."""
        if self.capture is None:
            return
        try:
            capture_file.write_record(self.capture, self.now(), frame, False)
        except (OSError, ValueError):
            with contextlib.suppress(OSError, ValueError):
                self.capture.close()
            self.capture = None
