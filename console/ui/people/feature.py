"""Who is in the room, plugged into the window: sign-in and switch person, the PIN before a
signing action, the lock, staff management and the audit log.

Each piece has its own install function, so the composition root can move them one by one;
`install(window, ctx, feed)` puts them all in. Nothing here decides who may do what: that is
console/core/people (the role table, PINs, presence); this module only shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QPushButton

from console.core.context import AppContext
from console.core.people.presence import Presence
from console.core.people.roles import Permission
from console.core.people.service import NeedPin, PeopleService, Refused
from console.ui.live_feed import LiveFeed
from console.ui.people.audit_view import AuditView
from console.ui.people.lock_screen import LOCK_KEEPS, LOCK_VISIBLE, LockScreen
from console.ui.people.pin_dialog import PinDialog
from console.ui.people.staff_admin import StaffAdmin

if TYPE_CHECKING:
    from console.ui.main_window import MainWindow
    from console.ui.shell import Menu

SWITCH_KEY = "Ctrl+U"
LOCK_KEY = "Ctrl+L"
CORNER_MAX_PX = 300  # "Signed in: <name> (Ctrl+U)" at most: a longer name ends in "…"
_ACTIVITY = (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel,
             QEvent.Type.TouchBegin, QEvent.Type.TabletPress)


class AtKeyboard(QPushButton):
    """In the menu bar's corner, on one line: who everything is recorded under (the rest of
    the team in the tooltip); pressing it is Switch person. It takes no room from the header
    (the dose timer's numerals need it). Hidden by the lock (names)."""

    def __init__(self, switch: Any) -> None:
        super().__init__()
        self.setObjectName("atKeyboard")
        self.setAutoDefault(False)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.setStyleSheet("QPushButton#atKeyboard { font-size: 14px; font-weight: bold; "
                           "padding: 1px 10px; min-height: 18px; margin-right: 8px; }")
        self.clicked.connect(lambda _=False: switch())
        self.setMaximumWidth(CORNER_MAX_PX)

    def show_presence(self, p: Presence) -> None:
        a = p.active
        # short: the menus and the disclaimer share the bar on a 1366-pixel screen; a long
        # name ends in "…" (whole in the tooltip) rather than push Help off the bar
        if a is None:
            self.setText(f"Nobody signed in ({SWITCH_KEY})")
        else:
            self.ensurePolished()  # its style sheet's font and padding, to measure with
            metrics = self.fontMetrics()
            full = f"Signed in: {a.label} ({SWITCH_KEY})"
            self.setText(full)
            chrome = self.sizeHint().width() - metrics.horizontalAdvance(full)
            room = (CORNER_MAX_PX - chrome
                    - metrics.horizontalAdvance(f"Signed in:  ({SWITCH_KEY})"))
            name = metrics.elidedText(a.label, Qt.TextElideMode.ElideRight, room)
            self.setText(f"Signed in: {name} ({SWITCH_KEY})")
        others = [m.label for m in p.team if a is None or m.id != a.id]
        self.setToolTip("At the keyboard: everything is recorded under "
                        f"{a.label if a else 'nobody'}."
                        + (f" Also signed in: {', '.join(others)}." if others else ""))


class PeopleUI(QObject):
    def close(self) -> None:
        """The window closes: nothing is left locked over it."""
        self.lock.release()

    def __init__(self, window: MainWindow, ctx: AppContext) -> None:
        super().__init__(window)
        assert ctx.people is not None
        self.window = window
        self.ctx = ctx
        self.people: PeopleService = ctx.people
        self.lock = LockScreen(window)
        self.pin_dialog = PinDialog(self.people, window)
        self.at_keyboard = AtKeyboard(self.switch)
        self.staff_admin: StaffAdmin | None = None
        self.audit: AuditView | None = None
        self.lock.unlock.submitted.connect(self._unlock)
        self.lock.first_admin.submitted.connect(self._first_admin)
        self.people.presence.changed.connect(lambda _p: self.refresh())
        self.people.pin_wanted.connect(self._pin_wanted)
        self.people.lock_identity = self.lock.ack_identity

    # ----- actions -----
    def switch(self) -> None:
        if self.people.presence.locked:
            return  # the lock's own form is the way in
        self.pin_dialog.switch()

    def lock_now(self, why: str = "key") -> None:
        if not self.people.presence.locked:
            self.people.lock(why)

    def sign_out(self) -> None:
        a = self.people.active
        if a is not None:
            self.people.sign_out(a.id)
        if self.people.active is None:
            self.people.presence.lock()

    def open_staff(self) -> None:
        if not self._allowed(Permission.MANAGE_STAFF):
            return
        if self.staff_admin is None:
            self.staff_admin = StaffAdmin(self.people, self.window)
        self.staff_admin.reload()
        self.window.place_dialog(self.staff_admin)
        self.staff_admin.show()
        self.staff_admin.raise_()

    def open_audit(self) -> None:
        if not self._allowed(Permission.VIEW_AUDIT):
            return
        if self.audit is None:
            self.audit = AuditView(self.people, self.window)
        self.audit.reload()
        self.window.place_dialog(self.audit)
        self.audit.show()
        self.audit.raise_()

    def say(self, text: str) -> None:
        """A refusal, in the window's message line for a while."""
        self.window.show_problem(text)
        self._said = text
        # with the window as context: not called once the window is gone
        QTimer.singleShot(15000, self.window, lambda: self.window.show_problem("")
                          if getattr(self, "_said", "") == text else None)

    def _allowed(self, perm: Permission) -> bool:
        try:
            self.people.require(perm)
        except Refused as e:
            self.say(str(e))
            return False
        return True

    # ----- what the core says -----
    def refresh(self) -> None:
        p = self.people.presence
        self.at_keyboard.show_presence(p)
        if self.people.needs_first_admin():
            self.lock.show_first_admin()
        elif p.locked or p.active is None:
            chosen = p.active.name if p.active else None
            staff = [a for a in self.people.accounts() if a.active]
            team = {a.id for a in p.team}
            staff.sort(key=lambda a: (a.id not in team, a.name.casefold()))
            self.lock.show_unlock(staff, chosen, "Screen locked" if p.team else "Sign in")
            self.pin_dialog.hide()
        else:
            self.lock.release()

    def _unlock(self, name: str, pin: str) -> None:
        try:
            self.people.unlock(name, pin)
        except Refused as e:
            self.lock.unlock.refused(str(e))

    def _first_admin(self, name: str, cred: str, pin: str, again: str, roles: object) -> None:
        try:
            self.people.create_first_admin(name, cred, pin, again, roles)  # type: ignore[arg-type]
        except Refused as e:
            self.lock.first_admin.refused(str(e))

    def _pin_wanted(self, need: NeedPin) -> None:
        if not self.people.presence.locked:
            QTimer.singleShot(0, self.pin_dialog,
                              lambda: self.pin_dialog.confirm(need.account, need.permission))


class _Activity(QObject):
    """Any key, click, wheel or touch in the application is someone at the console."""

    def __init__(self, presence: Presence, parent: QObject) -> None:
        super().__init__(parent)
        self.presence = presence

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and not self.presence.locked:
            self.presence.touch()
        return False


def _action(window: MainWindow, text: str, keys: str, slot: Any, menu: Menu = "session",
            keeps: bool = False) -> QAction:
    a = QAction(text, window)
    if keys:
        a.setShortcut(QKeySequence(keys))
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if keeps:
        a.setProperty(LOCK_KEEPS, True)
    a.triggered.connect(lambda _=False: slot())
    window.add_action(a, menu)
    return a


def install_guard(ctx: AppContext) -> None:
    """Every clinical write is checked against the role table and the PIN window."""
    assert ctx.people is not None
    ctx.sessions.guard = ctx.people.check


def install_lock(window: MainWindow, ui: PeopleUI) -> None:
    """The lock: on a key, after the clinic's idle time, and at start until someone signs
    in. The vitals strip stays visible (features mark theirs: the alarm banner, the timer)."""
    window.vitals.setProperty(LOCK_VISIBLE, True)
    _action(window, "Lock screen", LOCK_KEY, ui.lock_now, keeps=False)
    idle = QTimer(ui)
    idle.setInterval(1000)
    idle.timeout.connect(lambda: ui.lock_now("idle") if ui.people.presence.lock_due() else None)
    idle.start()
    app = QApplication.instance()
    if app is not None:
        app.installEventFilter(_Activity(ui.people.presence, ui))
    for a in window.actions():  # what must work at the locked screen
        if a.text() in ("Full screen",):
            a.setProperty(LOCK_KEEPS, True)


def install_sign_in(window: MainWindow, ui: PeopleUI) -> None:
    """Switch person (one key and a PIN), sign out, and who is at the keyboard."""
    window.menuBar().setCornerWidget(ui.at_keyboard, Qt.Corner.TopLeftCorner)
    _action(window, "Switch person…", SWITCH_KEY, ui.switch)
    _action(window, "Sign out", "", ui.sign_out)


def install_admin(window: MainWindow, ui: PeopleUI) -> None:
    """Staff management and the audit log, for the clinic admin."""
    _action(window, "Staff…", "", ui.open_staff)
    _action(window, "Audit log…", "", ui.open_audit)


def install(window: MainWindow, ctx: AppContext, feed: LiveFeed) -> PeopleUI:
    """Everything about people, in the order it must happen: the guard first (nothing is
    recorded unchecked), then the pieces; the first run asks for a clinic admin at once."""
    install_guard(ctx)
    ui = PeopleUI(window, ctx)
    install_sign_in(window, ui)
    install_lock(window, ui)
    install_admin(window, ui)
    if ctx.people is not None and ctx.people.active is None:
        ctx.sessions.set_user(None)  # a remembered name is no sign-in: nobody until a PIN
        ctx.people.presence.locked = True
    ui.refresh()
    return ui
