"""The console's own actions: start and end a session, choose monitors, the simulator banner."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel

from console.core.config import DeviceConfig
from console.core.context import AppContext
from console.core.people.service import Refused
from console.core.saving import refused_words, settle
from console.core.session import Staff
from console.core.vitals.captures import connect
from console.core.vitals.device_setup import apply_devices, preferred_from_config
from console.store import records
from console.ui import theme
from console.ui.main_window import MainWindow
from console.ui.session_dialog import SessionChoice, SessionDialog
from console.ui.vitals.device_dialog import DeviceDialog
from devices.drivers import get_driver
from devices.physiology import Physiology
from devices.simulator import Simulator

if TYPE_CHECKING:
    from console.app import Running

log = logging.getLogger(__name__)


def start_session_from_choice(ctx: AppContext, choice: SessionChoice,
                              on_failed: Callable[[str], None] | None = None) -> str | None:
    """Open the session, with a new patient stored in the same transaction (on the writer
    thread; the screen waits at most QUICK_S). Returns why not when refused at once; a later
    refusal goes to `on_failed` (and the status bar), a slow disk to the status bar."""
    # With sign-in the person at the keyboard starts it (a name chosen in the dialog would be
    # a name without a PIN); without it, the dialog's "You are" as before.
    if choice.user is not None and ctx.people is None:
        ctx.sessions.set_user(choice.user)
    what = ("save the new patient and start the session" if choice.new_patient is not None
            else "start the session")
    try:
        ctx.sessions.start(choice.patient_id, template=choice.template,
                           new_patient=choice.new_patient, on_failed=on_failed)
    except Refused as e:
        return str(e)
    except RuntimeError as e:  # a session already open, or the last start still waiting
        text = str(e)
        return f"{text[:1].upper()}{text[1:]}."
    except Exception as e:  # refused by the database at once: said, nothing typed is lost
        log.error("%s failed: %s", what, type(e).__name__, exc_info=e)
        return f"Holdspace could not {what}: {refused_words(e)}"
    return None


def apply_device_choice(ctx: AppContext, running: Running, devices: list[DeviceConfig],
                        preferred: dict[str, str], window: MainWindow | None = None) -> None:
    """Save the room's monitors and shown sources, then restart only the links that changed."""
    ctx.config.devices = devices
    ctx.config.preferred_source = preferred
    ctx.config.save()
    ctx.hub.preferred = preferred_from_config(preferred)
    if running.simulator is not None and devices:
        ctx.hub.remove_device("SIMULATOR", reason="replaced by the room's monitor")
        running.simulator.stop()
        running.simulator = None
    problems = apply_devices(ctx.hub, devices, ctx.db_path,
                             keep={"SIMULATOR"} if running.simulator is not None else set())
    if not devices and running.simulator is None:
        driver = get_driver("sim")
        sim = Simulator(driver, Physiology("calm", start=ctx.clock.now()))
        running.simulator = sim
        connect(ctx.hub, DeviceConfig(driver.name, sim.start()), ctx.db_path, source="SIMULATOR")
    if window is not None:
        for source in list(window.vitals.links):
            if source not in ctx.hub.links:
                window.vitals.forget_link(source)
        for text in problems:  # only a hand-edited settings file gets here
            window.vitals.link_label.setText(text)


def install_shell(window: MainWindow, ctx: AppContext, running: Running) -> None:
    # A new patient the disk refused after the start dialog closed: shown again at the next.
    refused: list[tuple[SessionChoice, str]] = []

    def start_session() -> None:
        if ctx.sessions.current is not None:
            return
        if ctx.people is not None:  # the person at the keyboard starts it, if they may
            from console.core.people.roles import Permission

            try:
                me = ctx.people.require(Permission.START_SESSION)
            except Refused as e:
                window.show_problem(str(e))
                QTimer.singleShot(15000, window, lambda: window.show_problem(""))
                return
            staff = [Staff(me.name, me.roles_label)]
        else:
            staff = [Staff(s.name, s.role) for s in ctx.config.staff]

        def submit(choice: SessionChoice) -> str | None:
            def late(message: str) -> None:  # the disk refused after the dialog closed
                if choice.new_patient is not None:
                    refused[:] = [(choice, message)]
                    window.show_problem(f"{message} What you typed is kept: press Start "
                                        "session… to see it again.")
            return start_session_from_choice(ctx, choice, late)

        dlg = SessionDialog(records.list_patients(ctx.reader), staff, window.template_choices,
                            window, submit=submit)
        if ctx.people is not None:
            dlg.user.setCurrentIndex(1)  # the person signed in: Ctrl+U to be someone else
            dlg.user.setEnabled(False)
        if refused:
            dlg.fill(*refused.pop())
        window.place_dialog(dlg)  # clear of the tiles and the alarm banner
        dlg.exec()

    def choose_devices() -> None:
        def reconnect(d: DeviceConfig) -> None:
            connect(ctx.hub, d, ctx.db_path)

        dlg = DeviceDialog(ctx.config.devices, window, hub=ctx.hub,
                           preferred=ctx.config.preferred_source, reconnect=reconnect)
        window.place_dialog(dlg)
        if not dlg.exec():
            return
        apply_device_choice(ctx, running, dlg.result_devices, dlg.result_preferred, window)
        show_sim_banner()

    def save_weight(kg: float) -> None:
        """On the writer thread; the header says "saving…" until it is committed, then shows
        the new weight, or why not with the number still in the box."""
        s = ctx.sessions.current
        if s is None or s.patient is None:
            return
        pid, sid, now, author = s.patient.id, s.id, ctx.clock.now(), ctx.sessions.author
        window.header.weight_saving(kg)

        def saved(_: None) -> None:
            cur = ctx.sessions.current
            if cur is not None and cur.id == sid:
                ctx.sessions.refresh_patient()
            window.header.weight_saved(sid, kg)

        def failed(e: BaseException) -> None:
            window.header.weight_failed(sid, kg, refused_words(e))

        if not settle(ctx.writer.call(lambda c: records.set_patient_weight(
                c, pid, kg, now, session_id=sid, author=author)), ctx.post, saved, failed):
            window.header.weight_slow(kg)

    window.header.weight_entered.connect(save_weight)
    window.action("Patient weight…", "Ctrl+Shift+W",
                  lambda: window.header.show_weight_entry(True), "session")
    window.action("Start session…", "Ctrl+N", start_session, "session")
    window.action("End session", "Ctrl+Shift+E", window.request_end_session, "session")
    window.action("Monitors…", "Ctrl+D", choose_devices, "devices")
    window.header.start_button.clicked.connect(start_session)
    window.header.end_button.clicked.connect(lambda _=False: window.request_end_session())

    sim_banner = QLabel(
        "SIMULATED MONITOR — these numbers are not from a patient. "
        "Choose the room's monitor under Devices ▸ Monitors… (Ctrl+D)."
    )
    sim_banner.setStyleSheet(
        f"background: {theme.dim(theme.ALARM_LOW, 0.25)}; color: {theme.ALARM_LOW}; "
        "font-size: 16px; font-weight: bold; padding: 6px 12px; border-radius: 4px;"
    )
    sim_banner.setWordWrap(True)  # one line where there is room, two on a narrow screen
    window.add_banner(sim_banner)

    def show_sim_banner() -> None:
        """Any simulated monitor connected (built in, or one added by hand as "sim")."""
        sim_banner.setVisible(running.simulator is not None or any(
            link.driver.name == "sim" for link in ctx.hub.links.values()))

    show_sim_banner()
    window.feed.second.connect(lambda _now: show_sim_banner())

