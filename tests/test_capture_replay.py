"""Capture what a monitor sends, replay it through a pty, and decode exactly the same values."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from console.app import start_core
from console.cli import main
from console.core.config import Config
from console.core.vitals.captures import capture_path, port_slug
from console.core.vitals.headless_recorder import recording
from devices import mdc
from devices.capture import (
    CaptureError,
    CaptureRecord,
    open_capture,
    read_capture,
    write_header,
    write_record,
)
from devices.drivers import DRIVERS, get_driver
from devices.link import LinkState, SerialLink
from devices.physiology import Physiology
from devices.protocols.sim import numeric_line
from devices.reading import Quality, Reading, Sample, WaveChunk
from devices.replay import Replay
from devices.simulator import Simulator
from tests.helpers.fixtures import CollectingSink, wait_until


def _key(s: Sample) -> tuple[object, ...]:
    """What a decoded sample says, without the host time the link stamped on it."""
    if isinstance(s, Reading):
        return ("N", s.code, s.value if s.value == s.value else "nan", s.unit, int(s.quality),
                s.device_time)
    assert isinstance(s, WaveChunk)
    return ("W", s.code, s.rate_hz, tuple(np.round(s.samples, 4)))


def _fast_sim(tmp_path: Path) -> Simulator:
    """The sim monitor on a real pty with its clock ten times fast: more data per second."""
    t0 = time.time()
    fast = lambda: t0 + (time.time() - t0) * 10  # noqa: E731
    return Simulator(get_driver("sim"), Physiology("calm", start=t0), now=fast,
                     link_path=str(tmp_path / "ttySIM"))


def test_capture_then_replay_decodes_the_same_values(tmp_path: Path) -> None:
    sim = _fast_sim(tmp_path)
    port = sim.start()
    cap_file = tmp_path / "captures" / "x.hscap"
    first = CollectingSink()
    cap = open_capture(cap_file, "sim", port, "115200 baud")
    link = SerialLink(port, get_driver("sim"), first, capture=cap)
    link.start()
    try:
        assert first.wait_for(lambda s: len(s.readings(mdc.MDC_PULS_OXIM_SAT_O2)) >= 8)
    finally:
        link.stop()
        cap.close()
        sim.stop()
    original = [_key(s) for s in first.received]
    assert any(k[0] == "W" for k in original) and any(k[0] == "N" for k in original)

    capture = read_capture(cap_file)
    assert capture.protocol == "sim" and capture.header["port"] == port
    assert not capture.truncated
    assert sum(len(r.data) for r in capture.received) == link.decoder.stats.bytes_in

    replay = Replay(capture.records, speed=20, link_path=str(tmp_path / "ttyREPLAY"))
    rport = replay.start()
    assert rport == str(tmp_path / "ttyREPLAY")
    second = CollectingSink()
    link2 = SerialLink(rport, get_driver("sim"), second)
    link2.start()
    try:
        assert replay.finished.wait(15), "replay did not finish"
        assert second.wait_for(lambda s: len(s.received) >= len(original), timeout=5)
        assert second.wait_for(lambda s: LinkState.LIVE in s.states())
    finally:
        link2.stop()
        replay.stop()
    assert [_key(s) for s in second.received] == original
    assert link2.decoder.stats.frames_rejected == link.decoder.stats.frames_rejected
    assert not Path(rport).exists(), "the stable path goes away with the replay"


@pytest.mark.parametrize("name", sorted(n for n in DRIVERS if n != "sim"))
def test_every_monitor_type_replays_to_the_same_values(name: str, tmp_path: Path) -> None:
    """Talk-back protocols too: the replayed replies decode although nobody answers our polls."""
    t0 = time.time()
    fast = lambda: t0 + (time.time() - t0) * 10  # noqa: E731
    driver = get_driver(name)
    sim = Simulator(driver, Physiology("calm", start=t0), now=fast)
    port = sim.start()
    cap_file = tmp_path / "c.hscap"
    first = CollectingSink()
    with open_capture(cap_file, name, port) as cap:
        link = SerialLink(port, driver, first, capture=cap)
        link.start()
        try:
            assert first.wait_for(
                lambda s: sum(isinstance(x, Reading) for x in s.received) >= 6)
        finally:
            link.stop()
            sim.stop()
    capture = read_capture(cap_file)
    assert capture.protocol == name
    if driver.talks_back:
        assert any(r.sent for r in capture.records), "what we sent is in the capture too"
    replay = Replay(capture.records, speed=20)
    second = CollectingSink()
    link2 = SerialLink(replay.start(), driver, second)
    link2.start()
    try:
        assert replay.finished.wait(10)
        assert second.wait_for(lambda s: len(s.received) >= len(first.received), timeout=5)
    finally:
        link2.stop()
        replay.stop()
    assert [_key(s) for s in second.received] == [_key(s) for s in first.received]


def test_replay_keeps_the_original_pace(tmp_path: Path) -> None:
    """Four reads 0.4 s apart, replayed at 2x, arrive about 0.2 s apart — not all at once."""
    recs = [CaptureRecord(100.0 + 0.4 * i,
                          numeric_line(i, mdc.MDC_ECG_HEART_RATE, 70 + i, mdc.MDC_DIM_BEAT_PER_MIN,
                                       Quality.VALID))
            for i in range(4)]
    replay = Replay(recs, speed=2.0)
    port = replay.start()
    sink = CollectingSink()
    link = SerialLink(port, get_driver("sim"), sink)
    link.start()
    try:
        assert replay.finished.wait(5)
        assert sink.wait_for(lambda s: len(s.readings(mdc.MDC_ECG_HEART_RATE)) == 4)
    finally:
        link.stop()
        replay.stop()
    hr = sink.readings(mdc.MDC_ECG_HEART_RATE)
    assert [r.value for r in hr] == [70, 71, 72, 73]
    gaps = np.diff([r.t for r in hr])
    assert all(0.12 < g < 0.4 for g in gaps), gaps


def test_capture_records_both_directions_and_survives_a_cut(tmp_path: Path) -> None:
    f = tmp_path / "c.hscap"
    with f.open("wb") as out:
        write_header(out, "intellivue", "/dev/ttyUSB0", "115200 baud", started=1.0)
        write_record(out, 1.5, b"\xc0assoc\xc1", sent=True)
        write_record(out, 2.0, b"\xc0reply\xc1")
        write_record(out, 2.5, b"cut short here")
    data = f.read_bytes()
    f.write_bytes(data[:-5])  # power cut mid-write
    cap = read_capture(f)
    assert cap.truncated
    assert [(r.t, r.data, r.sent) for r in cap.records] == [
        (1.5, b"\xc0assoc\xc1", True), (2.0, b"\xc0reply\xc1", False)]
    assert [r.data for r in cap.received] == [b"\xc0reply\xc1"]


def test_not_a_capture_is_refused_in_words(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(CaptureError, match="not a Holdspace capture"):
        read_capture(bad)
    with pytest.raises(CaptureError, match="no capture file"):
        read_capture(tmp_path / "missing.hscap")


def test_capture_file_names_tell_support_what_they_hold(tmp_path: Path) -> None:
    db = tmp_path / "holdspace.db"
    when = time.mktime((2026, 11, 24, 9, 30, 0, 0, 0, -1))
    p = capture_path(db, "nonin", "/dev/ttyUSB0", when)
    assert p == tmp_path / "captures" / "2026-11-24_093000-nonin-ttyUSB0.hscap"
    p.parent.mkdir()
    p.touch()
    assert capture_path(db, "nonin", "/dev/ttyUSB0", when).name.endswith("ttyUSB0-2.hscap")
    assert port_slug("socket://10.0.0.5:4001") == "socket-10.0.0.5-4001"
    assert port_slug("COM3") == "COM3"


def test_record_with_capture_writes_a_replayable_file(tmp_path: Path,
                                                      sim_port: tuple[Simulator, str]) -> None:
    _, port = sim_port
    db = tmp_path / "db" / "holdspace.db"
    db.parent.mkdir()
    out = io.StringIO()
    recording(db, [(get_driver("sim"), port)], duration=0.6, out=out, install_signals=False,
           print_every=60, capture=True)
    files = list((db.parent / "captures").glob("*-sim-ttySIM0.hscap"))
    assert len(files) == 1, out.getvalue()
    assert "raw bytes captured to" in out.getvalue()
    cap = read_capture(files[0])
    assert cap.protocol == "sim" and cap.received


def test_cli_replay_prints_the_port_and_plays_to_the_end(tmp_path: Path) -> None:
    f = tmp_path / "c.hscap"
    with f.open("wb") as out:
        write_header(out, "sim", "/dev/ttyUSB0")
        for i in range(5):
            write_record(out, 10.0 + i, numeric_line(i, mdc.MDC_ECG_HEART_RATE, 60 + i,
                                                     mdc.MDC_DIM_BEAT_PER_MIN, Quality.VALID))
    proc = subprocess.Popen(
        [sys.executable, "-m", "console", "replay", str(f), "--speed", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "at 50x on: /dev/" in first, first
        port = first.rsplit("on: ", 1)[1].strip()
        assert f"--device sim:{port}" in proc.stdout.readline()
        sink = CollectingSink()
        link = SerialLink(port, get_driver("sim"), sink)
        link.start()
        try:
            assert sink.wait_for(lambda s: len(s.readings(mdc.MDC_ECG_HEART_RATE)) >= 5), (
                link.decoder.stats, [r.value for r in sink.readings(mdc.MDC_ECG_HEART_RATE)],
                sink.statuses)
        finally:
            link.stop()
        # All five, the last one too (not lost when the replay closes its port).
        assert [r.value for r in sink.readings(mdc.MDC_ECG_HEART_RATE)[:5]] == [60, 61, 62, 63, 64]
        assert proc.wait(10) == 0
        assert "replay finished: " in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for s in (proc.stdout, proc.stderr):
            if s is not None:
                s.close()


@pytest.mark.parametrize("args, words", [
    (["replay", "/nonexistent/x.hscap", "--protocol", "sim"], "no capture file"),
    (["replay", "{bad}", "--protocol", "sim"], "not a Holdspace capture"),
    (["replay", "{good}", "--protocol", "phlips"], "unknown monitor protocol"),
    (["replay", "{good}", "--speed", "0"], "speed must be above 0"),
])
def test_cli_replay_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          args: list[str], words: str) -> None:
    bad = tmp_path / "bad.hscap"
    bad.write_bytes(b"garbage")
    good = tmp_path / "good.hscap"
    with good.open("wb") as out:
        write_header(out, "sim", "x")
        write_record(out, 1.0, b"x")
    argv = [a.format(bad=bad, good=good) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_capture_switch_on_run_and_record(db_path: Path, config: Config) -> None:
    from console.cli import parser

    assert parser().parse_args(["run", "--capture"]).capture
    assert parser().parse_args(["record", "--device", "sim:/dev/x", "--capture"]).capture
    assert not parser().parse_args(["run"]).capture
    assert not parser().parse_args(["record", "--device", "sim:/dev/x"]).capture
    # `run --capture` with no monitor configured captures the built-in simulator's link too.
    running = start_core(db_path, config=config, capture=True)
    try:
        link = running.ctx.hub.links["SIMULATOR"]
        assert wait_until(lambda: link.decoder.stats.frames_ok >= 3)
    finally:
        running.stop()
    (f,) = (db_path.parent / "captures").glob("*-sim-*.hscap")
    cap = read_capture(f)
    assert sum(len(r.data) for r in cap.received) == link.decoder.stats.bytes_in


def test_a_capture_that_cannot_be_written_does_not_stop_recording(
    tmp_path: Path, sim_port: tuple[Simulator, str],
) -> None:
    _, port = sim_port
    db = tmp_path / "holdspace.db"
    (tmp_path / "captures").write_text("a file where the folder should be")
    out = io.StringIO()
    recording(db, [(get_driver("sim"), port)], duration=1.0, out=out, install_signals=False,
           capture=True)
    text = out.getvalue()
    assert "No capture for" in text and "The monitor is read as usual." in text
    assert "live — Live." in text and "Traceback" not in text
