"""Notes, timeline, staff list and courses plugged into the window (one `install`).

The Notes and Timeline tabs sit in the right column. Clicking anything on the timeline moves
the vitals chart and the note to that moment. Settings (`notes` in console/core/settings.py):
"tags" (quick tags, in order) and "measures" ({name: [low, high]}); a clinic-wide
`quick_tags.txt` in the clinic data folder takes precedence for tags.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from console.core.clinic_survey import read_quick_tags
from console.core.context import AppContext
from console.core.notes.notes import DEFAULT_TAGS, NoteBook
from console.core.session import OpenSession, Staff
from console.core.settings import NotesSettings, fill
from console.store import records
from console.store.events import record_opened
from console.ui.live_feed import LiveFeed
from console.ui.notes.course_view import CourseView
from console.ui.notes.note_pane import NotePane
from console.ui.notes.staff_dialog import StaffEditor
from console.ui.notes.timeline import Timeline
from console.ui.shell import Shell


def quick_tags(data_dir: Path, settings: NotesSettings | dict[str, Any]) -> list[str]:
    """The clinic's own tags (quick_tags.txt in the clinic folder, one per line), else this
    workstation's (settings "tags"), else the defaults. A bad file is listed among the
    problems with clinic files (console/core/clinic_survey.py)."""
    tags, _problem = read_quick_tags(data_dir)
    if not isinstance(settings, NotesSettings):
        settings = fill(NotesSettings, settings)
    return tags or list(settings.tags) or list(DEFAULT_TAGS)


class NotesFeature:
    """Holds the pieces so windows opened from the menu live as long as the console."""

    def __init__(self, shell: Shell, ctx: AppContext, feed: LiveFeed) -> None:
        self.shell = shell
        self.ctx = ctx
        settings = ctx.config.section(NotesSettings)
        tags = quick_tags(ctx.data_dir, settings)
        self.notes = NoteBook(ctx.clock, ctx.writer, ctx.reader, ctx.sessions,
                              custom_measures=dict(settings.measures))
        self.pane = NotePane(self.notes, self._staff, tags=tags, own_shortcuts=False,
                             default_author=lambda: ctx.sessions.author)
        self.timeline = Timeline(ctx.reader, shown=ctx.shown)
        self.staff_editor: StaffEditor | None = None
        self.course_view: CourseView | None = None
        self._course_logged: int | None = None  # the patient whose course was last logged

        shell.add_side_tab("Notes", self.pane)
        shell.add_side_tab("Timeline", self.timeline)
        # Reports and exports are of the session in the note (ended, being signed).
        ctx.sessions.note_session = lambda: self.notes.session_id
        ctx.sessions.user_changed.connect(self._user_changed)
        ctx.sessions.changed.connect(self._session_changed)
        feed.second.connect(self.timeline.on_second)
        feed.samples.connect(self.timeline.add_samples)  # a live session grows as it is heard
        ctx.sessions.committed.connect(self.timeline.add_events)
        self.timeline.activated.connect(self.jump)
        self.pane.entry_selected.connect(self.timeline.show_time)

        self.pane.observe_action.triggered.connect(lambda: self._show_tab(self.pane))
        shell.add_action(self.pane.observe_action)
        self.pane.ae_action.triggered.connect(lambda: shell.show_side_tab(self.pane))
        shell.add_action(self.pane.ae_action)
        for a in self.pane.tag_actions:
            a.triggered.connect(lambda _=False: self._show_tab(self.pane))
            shell.add_action(a)
        shell.action("Session timeline", "Ctrl+T", lambda: self._show_tab(self.timeline), "view")
        shell.action("Patients and courses…", "Ctrl+Shift+P", self.open_courses, "session")
        if ctx.people is None:  # with sign-in, staff are the accounts (Session ▸ Staff…)
            shell.action("Staff list…", "", self.open_staff, "session")
        else:  # every entry is written by the person at the keyboard (Ctrl+U switches)
            ctx.people.staff_changed.connect(lambda _s: self.pane.reload_staff())
            self.pane.author_box.setEnabled(False)
            self.pane.author_box.setToolTip("Entries are written by the person signed in at "
                                            "the keyboard. Switch person: Ctrl+U")
        self._user_changed(ctx.sessions.user)
        if ctx.sessions.current is not None:
            self.timeline.load(ctx.sessions.current.id, live=True)

    def _staff(self) -> list[tuple[str, str]]:
        """Who may be chosen to sign: the staff accounts, or (no sign-in) the old list."""
        if self.ctx.people is not None:
            return [(a.name, a.roles_label) for a in self.ctx.people.accounts() if a.active]
        return [(s.name, s.role) for s in self.ctx.config.staff]

    def _show_tab(self, w: QWidget) -> None:
        self.shell.show_side_tab(w)
        if w is self.pane:
            self.pane.focus_observation()

    def _user_changed(self, user: Staff | None) -> None:
        self.pane.set_author(user.name if user else None)

    def _session_changed(self, s: OpenSession | None) -> None:
        if s is not None:
            self.timeline.load(s.id, live=True)
        else:  # ended: the day stays on screen for finishing and signing
            self.timeline.load(self.notes.session_id, live=False)
            if self.notes.session_id is not None and not self.notes.record().locked:
                self.pane.tabs.setCurrentIndex(2)
                self.pane.say("The session has ended. Finish the note, read it here and sign.",
                              error=False)

    def jump(self, t: float, uid: str) -> None:
        """From the timeline: the vitals chart and the note go to that moment."""
        self.shell.show_trend_time(t)
        self.pane.show_entry(t, uid)

    def open_session(self, session_id: int, uid: str = "") -> None:
        """Chart review of any session; the note follows unless another session is open."""
        current = self.ctx.sessions.current
        live = current is not None and current.id == session_id
        self.timeline.load(session_id, live=live)
        if not live:  # a record opened to be read: the audit trail says who and when
            row = records.get_session(self.ctx.reader, session_id)
            self._opened(row.patient_id if row else None, session_id, "chart review")
        if current is None or live:
            self.notes.open(session_id)
        else:
            self.pane.say(f"Reviewing session {session_id} on the timeline. The note stays on "
                          "the session open now.", error=False)
        self._show_tab(self.timeline)
        item = self.timeline.item(uid) if uid else None
        if item is not None:
            self.timeline.show_time(item.t, uid)

    def open_courses(self) -> None:
        if self.course_view is None:
            # A separate window, but owned by the console so it closes with it.
            self.course_view = CourseView(self.ctx.reader, self.shell.dialog_parent())
            self.course_view.setWindowFlag(Qt.WindowType.Window)
            self.course_view.open_session.connect(self.open_session)
            self.course_view.patient_shown.connect(self._course_shown)
            self.shell.place_dialog(self.course_view)  # clear of the tiles and alarms
        else:
            self._course_logged = None  # opened again: the patient shown is logged again
            self.course_view.reload()
        cur = self.ctx.sessions.current
        if cur is not None and cur.row.patient_id is not None:
            self.course_view.show_patient(cur.row.patient_id)
        shown = self.course_view.patient_box.currentData()
        if shown is not None:
            self._course_shown(int(shown))
        self.course_view.show()
        self.course_view.raise_()

    def _course_shown(self, patient_id: int) -> None:
        if patient_id != self._course_logged:
            self._course_logged = patient_id
            self._opened(patient_id, None, "course")

    def _opened(self, patient_id: int | None, session_id: int | None, how: str) -> None:
        self.ctx.writer.append_event(record_opened(
            self.ctx.clock.now(), patient_id, session_id, how, self.ctx.sessions.author))

    def open_staff(self) -> None:
        if self.staff_editor is None:
            self.staff_editor = StaffEditor(self.ctx.config, self.ctx.writer, self.ctx.clock,
                                            lambda: self.ctx.sessions.author,
                                            self.shell.dialog_parent())
            self.staff_editor.saved.connect(self.pane.reload_staff)
            self.shell.place_dialog(self.staff_editor)  # clear of the tiles and alarms
        self.staff_editor.show()
        self.staff_editor.raise_()


    def close(self) -> None:
        """The console is closing: the course and staff windows go with it."""
        self.pane.flush_drafts()  # typed text not saved yet stays as a draft for next time
        for w in (self.course_view, self.staff_editor):
            if w is not None:
                w.close()


def install(shell: Shell, ctx: AppContext, feed: LiveFeed) -> NotesFeature:
    """Notes, timeline, courses and the staff list (see console/app.py FEATURES)."""
    return NotesFeature(shell, ctx, feed)
