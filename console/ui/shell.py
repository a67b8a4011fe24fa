"""The seam between the window and the features: what a feature may add (`Shell`) and what a
feature is (`Feature`).

A feature is a module with `install(shell, ctx, feed)`; it returns the object that holds its
pieces (`Installed`: something with `close()`), which the composition root keeps in the shell's
registry (`shell.feature(NotesFeature)`) and closes when the window closes. Features see the
window only through `Shell`, never as `MainWindow` and never by attribute lookups, so they do
not import each other through it. Features are listed by module path in console/app.py (the
composition root, the one place that knows them all) and loaded with importlib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from console.core.context import AppContext
    from console.ui.live_feed import LiveFeed

Menu = Literal["session", "devices", "view", "actions", "help"]
Column = Literal["left", "right"]
T = TypeVar("T")


class EndStep(Protocol):
    """A feature's part in ending a session (e.g. the discharge sign-off)."""

    def end_requested(self) -> str | None:
        """First press of End: show yourself; return what is still missing, if anything."""

    def end_problem(self) -> str | None:
        """Second press: why the session cannot end yet (None when ready)."""

    def record_end(self) -> str | None:
        """Write what ending needs, just before `session.ended`; return its reason."""


class Installed(Protocol):
    """What `install` returns: the feature's pieces, closed with the window (a widget's
    `close() -> bool` counts too)."""

    def close(self) -> object: ...


class Shell(Protocol):
    """Everything a feature may do to the window."""

    # ----- places for widgets -----
    def add_header_widget(self, w: QWidget) -> None:
        """Beside the session header (e.g. the dose timers)."""

    def add_banner(self, w: QWidget, first: bool = False) -> None:
        """A full-width line under the header (alarms, warnings); `first` puts it on top."""

    def add_side_tab(self, title: str, w: QWidget) -> int:
        """A page of the right column's tabs."""

    def show_side_tab(self, w: QWidget) -> None:
        """Bring the side tab holding `w` to the front."""

    def show_in_side_tab(self, w: QWidget) -> None:
        """Bring the side tab holding `w` (anywhere inside a page) to the front and scroll to it."""

    def set_side_tab_visible(self, w: QWidget, visible: bool) -> None: ...

    def add_bottom_panel(self, w: QWidget, stretch: int = 1, column: Column = "left",
                         optional: bool = False, keep_in_view: QWidget | None = None) -> None:
        """A panel under the vitals ("left") or under the side tabs ("right")."""

    # ----- actions and menus -----
    def add_action(self, action: QAction, menu: Menu = "actions") -> None:
        """Put an action in a menu; its shortcut works anywhere in the window."""

    def action(self, text: str, shortcut: str, slot: Callable[[], object],
               menu: Menu = "actions") -> QAction:
        """A new menu action with a window-wide shortcut ("" for none) calling `slot`."""

    def add_separator(self, menu: Menu) -> None: ...

    def set_template_choices(self, choices: Callable[[], list[tuple[str, str]]]) -> None:
        """What the Start session dialog offers as protocols: [(template id, title)]."""

    # ----- ending a session -----
    def add_end_step(self, step: EndStep) -> None: ...

    def request_end_session(self) -> bool:
        """As a press of End session (two deliberate presses end it)."""

    # ----- telling the room -----
    def show_problem(self, message: str) -> None:
        """A problem with Holdspace itself, in the status bar, until cleared with ""."""

    def problem_text(self) -> str: ...

    def show_status(self, message: str, ms: int) -> None:
        """A passing message in the status bar (e.g. "Report saved"), gone after `ms`."""

    # ----- the vitals area (the vitals feature's widgets, seen from others) -----
    def set_alarm(self, code: int, priority: str | None) -> None:
        """Colour the tile that shows `code` by its alarm priority (None: no alarm)."""

    def mark_trend(self, t: float, text: str, colour: str) -> None:
        """A marker on the vitals trend (e.g. a dose)."""

    def show_trend_time(self, t: float) -> None:
        """Move the vitals trend to a moment (e.g. clicked on the timeline)."""

    # ----- dialogs, threads, lifetime -----
    def dialog_parent(self) -> QWidget:
        """The parent for a feature's dialogs and actions (they close with the console)."""

    def place_dialog(self, dialog: QWidget) -> None:
        """Put a dialog low and to the right, clear of the tiles and the alarm banner."""

    def post(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the GUI thread (callable from any thread): ctx.post."""

    def on_closing(self, fn: Callable[[], None]) -> None:
        """Call `fn` when the window closes (before the core stops)."""

    # ----- the registry (for the composition root and tests) -----
    def provide(self, installed: Installed) -> None: ...

    def feature(self, kind: type[T]) -> T:
        """The installed feature of this class (KeyError if it is not installed)."""


class Feature(Protocol):
    """A feature module: listed by path in console/app.py FEATURES."""

    def install(self, shell: Shell, ctx: AppContext, feed: LiveFeed) -> Installed: ...
