"""`holdspace --self-test`: does this installation work, end to end, without a screen?

Run after installing (or by CI on the frozen build) to prove that what was shipped is all
there: the shipped files, the store, the built-in simulator decoded into stored readings, a
demo track and an alarm tone played through libvlc (the bundled one when frozen), a session
report rendered, and the real window drawn offscreen. Everything happens in a temporary
folder, so a workstation's own data and settings are never touched. Each check prints one
line; a failure says what is wrong in plain words and the exit code is 1.
"""

from __future__ import annotations

import io
import os
import queue
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from contextlib import redirect_stdout, suppress
from pathlib import Path
from typing import TextIO

import console


class CheckFailed(Exception):
    """A check found something wrong; the message is printed as is."""


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def bundle_dir() -> Path | None:
    """Where a frozen build keeps its files (PyInstaller's _internal), or None from source."""
    return Path(getattr(sys, "_MEIPASS", "")).resolve() if frozen() else None


def mapped(fragment: str) -> list[Path]:
    """Files this process has loaded whose path contains `fragment` (Linux; else [])."""
    try:
        text = Path("/proc/self/maps").read_text()
    except OSError:
        return []
    found: dict[str, None] = {}
    for line in text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and fragment in parts[5]:
            found[parts[5].strip()] = None
    return [Path(p) for p in found]


# ------------------------------------------------------------------------------ the checks
def check_program(_tmp: Path) -> str:
    from devices.drivers import DRIVERS

    where = (f"frozen build in {bundle_dir()}" if frozen()
             else f"from source ({Path(console.__file__).parent})")
    if "sim" not in DRIVERS or len(DRIVERS) < 2:
        raise CheckFailed("the monitor drivers are missing (found only: "
                          f"{', '.join(DRIVERS) or 'none'})")
    return (f"Holdspace {console.__version__}, Python {sys.version.split()[0]}, {where}, "
            f"{len(DRIVERS)} monitor drivers")


def check_shipped(_tmp: Path) -> str:
    from console.core.dosing import templates
    from console.core.music import playlists, setting_checklist
    from console.core.report import rems_form
    from console.ui.dosing.alarm_sound import ASSETS
    from console.ui.music.music_feature import SHIPPED_ROOT

    cat = templates.load_catalog(None)
    if cat.errors or not cat.templates:
        raise CheckFailed(f"the protocol templates in {templates.SHIPPED_DIR} are missing or "
                          f"unreadable ({len(cat.errors)} bad)")
    if not setting_checklist.SHIPPED.is_file():
        raise CheckFailed(f"the setting checklist {setting_checklist.SHIPPED} is missing")
    setting_checklist.load_checklist(None)
    form = rems_form.load_form(None)
    found = playlists.discover([SHIPPED_ROOT / "playlists"])
    if not found:
        raise CheckFailed(f"no demo playlists in {SHIPPED_ROOT / 'playlists'}")
    tracks = 0
    for path in found.values():
        pl = playlists.load(path)
        if pl.problems or not pl.tracks:
            raise CheckFailed(f"the demo playlist {path.name} cannot be played: "
                              f"{'; '.join(pl.problems) or 'no tracks'}")
        tracks += len(pl.tracks)
    missing = [p.name for p in (ASSETS / f for f in ("alarm_high.wav", "alarm_medium.wav",
                                                     "alarm_low.wav", "check_chime.wav"))
               if not p.is_file()]
    if missing:
        raise CheckFailed(f"alarm sounds missing from {ASSETS}: {', '.join(missing)}")
    return (f"{len(cat.templates)} protocol templates, the setting checklist, "
            f"'{form.title}', {len(found)} demo playlists ({tracks} tracks), 4 alarm sounds")


def check_store_and_simulator(tmp: Path, seconds: float = 4.0) -> str:
    from console.core.vitals.headless_recorder import recording, stored_counts
    from devices.drivers import get_driver
    from devices.physiology import Physiology
    from devices.simulator import Simulator

    db = tmp / "data" / "holdspace.db"
    db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    driver = get_driver("sim")
    sim = Simulator(driver, Physiology("calm", start=time.time()))
    port = sim.start()
    said = io.StringIO()
    try:
        result = recording(db, [(driver, port)], patient="SELF-TEST", duration=seconds,
                           out=said, err=said, install_signals=False)
    finally:
        sim.stop()
    readings, samples, wave_s = stored_counts(db, result.session_id)
    if not result.complete:
        raise CheckFailed("the store did not keep everything the simulator sent: "
                          + said.getvalue().strip().splitlines()[-1])
    if readings == 0 or samples == 0:
        raise CheckFailed(f"the built-in simulator ran for {seconds:g} s on {port} but no "
                          f"readings or waveform were decoded and stored ({readings} readings, "
                          f"{samples} wave samples)")
    return (f"simulator on {port}: {readings} readings and {wave_s:.0f} s of waveform "
            f"decoded and stored in {db.name} (session {result.session_id})")


def check_encrypted_store(tmp: Path) -> str:
    from console.store import chain, engine, keys

    db = tmp / "data" / "holdspace.db"
    if not db.is_file():
        raise CheckFailed("no database to check (the store check failed)")
    with open(db, "rb") as f:
        head = f.read(len(engine.PLAIN_HEADER))
    if head == engine.PLAIN_HEADER:
        raise CheckFailed(f"{db.name} was written as a plain SQLite file: patient data would "
                          "be readable without the key")
    keys.forget_cached()
    key = keys.workstation_key(create=False)
    if key is None:
        raise CheckFailed(f"the database key for {db.name} cannot be found again")
    # The self-test's own key file, in its temporary folder: never the workstation's keyring.
    if key.kept != "key file" or tmp not in Path(key.where).parents:
        raise CheckFailed(f"the self-test's key is kept {key.describe()}, not in its own "
                          f"temporary folder {tmp}")
    conn = engine.connect(db, key.raw)
    try:
        sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
        linked = chain.has_chain(conn)
    finally:
        conn.close()
    if not linked:
        raise CheckFailed(f"{db.name} has no hash chain (its records cannot be checked for "
                          "changes)")
    without = engine.connect(db, None)
    try:
        without.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except engine.DatabaseError as e:
        if not engine.is_not_a_database(e):
            raise
    else:
        raise CheckFailed(f"{db.name} could be read without its key")
    finally:
        without.close()
    return (f"{db.name} is encrypted (SQLCipher {engine.sqlcipher_version()}; no SQLite "
            f"header, unreadable without the key), reopened with the self-test's key file "
            f"({sessions} session(s), hash chain present)")


def check_libraries(_tmp: Path) -> str:
    """The libraries found only when used: the OS keyring's backends (found through their
    packages' entry points, i.e. metadata a frozen build must carry) and the central server's
    PostgreSQL client with its libpq. Nothing is read from or written to any keyring."""
    from importlib.metadata import entry_points

    import keyring.backend
    import psycopg

    import console.central
    import console.replication

    found = sorted(ep.name for ep in entry_points(group="keyring.backends"))
    if not found:
        raise CheckFailed("the keyring library finds none of its backends (its package "
                          "metadata is missing): the database key could never be kept in the "
                          "OS keyring")
    viable = [type(k).__name__ for k in keyring.backend.get_all_keyring()
              if getattr(k, "priority", 0) > 0]
    service = (f"usable here: {', '.join(viable)}" if viable else
               "no keyring service here, so a key file would be used")
    impl = psycopg.pq.__impl__
    if impl not in ("binary", "c"):
        raise CheckFailed(f"the PostgreSQL client uses its {impl} libpq wrapper, not the "
                          "shipped binary one")
    libpq = psycopg.pq.version()
    del console.central, console.replication
    return (f"keyring backends {', '.join(found)} ({service}); psycopg {psycopg.__version__} "
            f"with libpq {libpq // 10000}.{libpq % 100} ({impl})")


def check_report(tmp: Path) -> str:
    import pypdfium2

    from console.core.exports.export_events import COMMAND_LINE
    from console.core.exports.make import command_line_recorder, make_report
    from console.core.report.clinic import clinic_from

    db = tmp / "data" / "holdspace.db"
    if not db.is_file():
        raise CheckFailed("no session to report on (the store check failed)")
    out = tmp / "report.pdf"
    _made, pdf = make_report(db, out, 1, "report", clinic_from({}), by="self-test",
                             via=COMMAND_LINE, recorder=command_line_recorder(db))
    doc = pypdfium2.PdfDocument(str(out))
    try:
        page = doc[0]
        text = page.get_textpage().get_text_range()
        image = page.render(scale=0.5)
        width, height = image.width, image.height
        raw = bytes(image.buffer)
        image.close()
        inked = sum(1 for b in raw[::97] if b < 128)
    finally:
        doc.close()
    stamp = f"Holdspace {console.__version__}"
    if stamp not in text:
        raise CheckFailed(f"the report's first page does not name the version ({stamp!r})")
    if inked == 0:
        raise CheckFailed("the report's first page rendered blank")
    return f"session report: {pdf.pages} page(s), page 1 rendered {width}x{height}, footer says {stamp}"


def check_music(tmp: Path) -> str:
    from console.core.music.audio_player import DeckEvent, MusicUnavailable, open_engine
    from console.core.music.playlists import discover, load
    from console.ui.dosing.alarm_sound import ASSETS
    from console.ui.music.music_feature import SHIPPED_ROOT

    pending: queue.Queue[Callable[[], None]] = queue.Queue()
    try:
        engine = open_engine(pending.put, output="dummy")
    except MusicUnavailable as e:
        raise CheckFailed(str(e)) from None
    played: list[str] = []
    try:
        demo = load(next(iter(discover([SHIPPED_ROOT / "playlists"]).values()))).tracks[0].path
        for path in (demo, ASSETS / "alarm_high.wav"):
            deck = engine.decks[0]
            events: list[DeckEvent] = []
            deck.on_event = lambda _d, kind, seen=events: seen.append(kind)
            deck.play(path, 0.5)
            end = time.monotonic() + 15
            while time.monotonic() < end:
                with suppress(queue.Empty):
                    pending.get(timeout=0.05)()
                if DeckEvent.ERROR in events:
                    raise CheckFailed(f"libvlc could not play {path.name} (no decoder or no "
                                      "audio output among the bundled plugins?)")
                if deck.has_audio and (deck.position_s() >= 0.3 or DeckEvent.ENDED in events):
                    break
            else:
                raise CheckFailed(f"{path.name} did not start playing within 15 s "
                                  f"(libvlc state: {deck.state()})")
            played.append(f"{path.name} ({deck.position_s():.1f} s)")
            deck.stop()
        version = engine.vlc.libvlc_get_version().decode()
        libs = mapped("libvlccore.so") or mapped("libvlccore")
        plugins = mapped("/plugins/")
    finally:
        engine.close()
    where = str(libs[0]) if libs else "(not visible in /proc/self/maps)"
    inside = bundle_dir()
    if inside is not None:
        codecs = [p for n in ("libvorbis", "libogg", "libFLAC", "libmpg123", "libasound")
                  for p in mapped(n)]
        outside = [p for p in [*libs, *mapped("libvlc.so"), *plugins, *codecs]
                   if inside not in p.resolve().parents]
        if not libs or outside:
            raise CheckFailed("music played, but not only with the VLC shipped in this folder: "
                              f"{', '.join(map(str, outside)) or 'libvlccore not found'}")
    return (f"played {' and '.join(played)} through libvlc {version.split()[0]} (dummy output) "
            f"from {where}, {len(plugins)} VLC plugins loaded")


def check_window(tmp: Path) -> str:
    """The real window (`run_gui`, as `holdspace` starts it) with the simulator: once it has
    been up for 2 s of its own event loop (ticks, so a busy machine only makes it slower),
    it is drawn to a picture and then asked to close as Ctrl-C / SIGTERM would."""
    import signal

    from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from console.app import run_gui
    from console.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    shots: list[QImage] = []
    ticks = [0]

    def tick() -> None:
        shown = [w for w in QApplication.topLevelWidgets()
                 if isinstance(w, MainWindow) and w.isVisible()]
        if not shown or shots:
            return
        ticks[0] += 1
        if ticks[0] >= 8:  # 8 x 250 ms with the window up
            shots.append(shown[0].grab().toImage())
            os.kill(os.getpid(), signal.SIGTERM)  # run_gui's own orderly stop

    def qt_message(_kind: QtMsgType, _where: object, text: str) -> None:
        if "does not support" not in text:  # the offscreen platform's own notes, not ours
            print(text, file=sys.stderr, flush=True)

    previous = qInstallMessageHandler(qt_message)
    timer = QTimer(app)
    timer.timeout.connect(tick)
    timer.start(250)
    try:
        with redirect_stdout(io.StringIO()):
            code = run_gui(tmp / "data" / "window.db", None, quit_after=120.0)
    finally:
        timer.stop()
        qInstallMessageHandler(previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if not shots:
        raise CheckFailed("the console window did not come up within 2 minutes")
    if code != 0:
        raise CheckFailed(f"the console window closed with code {code}")
    img = shots[0]
    if img.isNull():
        raise CheckFailed("the console window could not be drawn offscreen (no picture)")
    colours = {img.pixel(x, y) for x in range(0, img.width(), 37)
               for y in range(0, img.height(), 37)}
    if len(colours) < 5:
        raise CheckFailed("the console window drew as a blank picture")
    img.save(str(tmp / "window.png"))
    return (f"the console window drawn offscreen ({img.width()}x{img.height()}, "
            f"{len(colours)} colours sampled)")


CHECKS: list[tuple[str, Callable[[Path], str]]] = [
    ("program", check_program),
    ("shipped files", check_shipped),
    ("store and simulator", check_store_and_simulator),
    ("encrypted store", check_encrypted_store),
    ("keyring and central server libraries", check_libraries),
    ("report", check_report),
    ("music (libvlc)", check_music),
    ("window", check_window),
]


def run(out: TextIO | None = None) -> int:
    """Run every check in a temporary folder; 0 when all passed, else 1."""
    out = out or sys.stdout
    # Offscreen, silent and in a folder of its own: nothing of the workstation is read or changed.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["HOLDSPACE_AUDIO"] = "dummy"
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="holdspace-self-test-") as name:
        tmp = Path(name)
        os.environ["HOLDSPACE_DATA_DIR"] = str(tmp / "data")
        os.environ["HOLDSPACE_CONFIG_DIR"] = str(tmp / "config")
        # Its database key is a key file in that folder, never the workstation's keyring entry
        # (which it would otherwise use, or make without anyone seeing its recovery key).
        os.environ["HOLDSPACE_KEY_DIR"] = str(tmp / "config" / "keys")
        os.environ["HOLDSPACE_KEYRING"] = "off"
        os.environ.pop("HOLDSPACE_PLAYLISTS", None)
        for title, check in CHECKS:
            try:
                detail = check(tmp)
            except CheckFailed as e:
                failed.append(title)
                print(f"self-test: FAILED {title}: {e}", file=out, flush=True)
            except Exception as e:  # any other failure is a finding, said plainly, with where
                failed.append(title)
                where = traceback.extract_tb(e.__traceback__)[-1]
                print(f"self-test: FAILED {title}: {type(e).__name__}: {e} "
                      f"(at {Path(where.filename).name}:{where.lineno})", file=out, flush=True)
            else:
                print(f"self-test: ok     {title}: {detail}", file=out, flush=True)
    if failed:
        print(f"self-test: {len(failed)} of {len(CHECKS)} checks FAILED: {', '.join(failed)}",
              file=out, flush=True)
        return 1
    print(f"self-test: all {len(CHECKS)} checks passed", file=out, flush=True)
    return 0
