"""The music controls in the bottom row: large, labelled with their keys, calm to look at.

The therapist runs the music without looking away from the patient for more than a second:
every control has a function key (printed on the button), the state reads in one word, and
nothing blinks. The panel only shows and forwards; `MusicController` does and records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from console.core.music.music_controller import MusicController, MusicState
from console.ui import theme

ROOM_DIM = 0.5  # room mode: colours at half their normal brightness
TICK_MS = 100  # applies fade ramps; their timing comes from the monotonic clock


@dataclass(frozen=True)
class Control:
    key: str  # attribute name
    text: str
    shortcut: str
    extra: tuple[Qt.Key, ...] = ()  # media keys, where a keyboard has them


CONTROLS = (
    Control("previous", "Previous track", "F6", (Qt.Key.Key_MediaPrevious,)),
    Control("play_pause", "Play / pause", "F7",
            (Qt.Key.Key_MediaPlay, Qt.Key.Key_MediaTogglePlayPause)),
    Control("next", "Next track", "F8", (Qt.Key.Key_MediaNext,)),
    Control("fade", "Fade out / fade in", "F9"),
    Control("silence", "Silence on / off", "F10"),
    Control("quiet", "Quiet now (music off at once)", "F12", (Qt.Key.Key_MediaStop,)),
    Control("volume_down", "Music volume down", "Ctrl+Down"),
    Control("volume_up", "Music volume up", "Ctrl+Up"),
    Control("next_phase", "Next music phase (crossfade)", "Shift+F8"),
    Control("extend_phase", "Extend this music phase", "Shift+F9"),
)

STATE_COLOURS = {
    MusicState.PLAYING: theme.TEXT,
    MusicState.FADING_IN: theme.TEXT,
    MusicState.FADING_OUT: "#9fb1c4",
    MusicState.SILENT: "#9fb1c4",
    MusicState.PAUSED: theme.TEXT_DIM,
    MusicState.QUIET: "#c9a45a",
    MusicState.STOPPED: theme.TEXT_DIM,
    MusicState.UNAVAILABLE: theme.TEXT_DIM,
}


def _mmss(s: float | None) -> str:
    if s is None:
        return "--:--"
    s = max(0, int(s))
    return f"{s // 60:02d}:{s % 60:02d}"


def _short_keys(keys: str) -> str:
    """Key names short enough for a button: arrows and ⇧ instead of words."""
    return (keys.replace("Ctrl+Down", "Ctrl ↓").replace("Ctrl+Up", "Ctrl ↑")
            .replace("Shift+", "⇧"))


def _elided(label: QLabel, text: str) -> None:
    """Set `text`, cut with "…" to the label's width (the full text is the tooltip)."""
    width = label.width()
    shown = (label.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, width)
             if width > 20 else text)
    label.setText(shown)
    label.setToolTip(text if shown != text else "")


def music_actions(parent: QWidget, music: MusicController) -> dict[str, QAction]:
    """One QAction per control, with its shortcut; the panel's buttons trigger these."""
    slots: dict[str, Callable[[], None]] = {
        "previous": music.previous_track,
        "play_pause": music.play_pause,
        "next": music.next_track,
        "fade": music.toggle_fade,
        "silence": music.toggle_silence,
        "quiet": music.quiet,
        "volume_down": lambda: music.step_volume(-5),
        "volume_up": lambda: music.step_volume(5),
        # Wrapped: a QAction passes `checked` to a slot that takes an argument, and
        # extend_phase(False) once extended the phase by 0 minutes.
        "next_phase": lambda: music.next_phase(),
        "extend_phase": lambda: music.extend_phase(),
    }
    out: dict[str, QAction] = {}
    for c in CONTROLS:
        a = QAction(c.text, parent)
        a.setShortcuts([QKeySequence(c.shortcut), *(QKeySequence(k) for k in c.extra)])
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(slots[c.key])
        a.setEnabled(music.available)
        out[c.key] = a
    return out


class MusicPanel(QFrame):
    def __init__(self, music: MusicController, actions: dict[str, QAction],
                 intention: Callable[[], str] | None = None,
                 return_phase: str = "return") -> None:
        super().__init__()
        self.setObjectName("musicPanel")
        self.music = music
        self.actions_by_key = actions
        self._intention = intention or (lambda: "")
        self._return_index = music.program.index_of(return_phase)
        self._room = False
        self._shown: object = None  # what refresh last put on screen

        self.title = QLabel("MUSIC")
        self.phase = QLabel("")
        self.state = QLabel("")
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.phase, 1)
        top.addWidget(self.state)

        self.track = QLabel("")
        self.track.setWordWrap(False)
        # Long titles are cut with "…", never widen the panel (and so the window).
        for lab in (self.phase, self.track):
            lab.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.position = QLabel("")
        self.position.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(4)

        self.buttons: dict[str, QPushButton] = {}
        for key, label in (("previous", "◀ Back"), ("play_pause", "Play"), ("next", "Next ▶"),
                           ("fade", "Fade"), ("silence", "Silence"), ("quiet", "Quiet")):
            self._button(key, label)
        self.vol_down = self._button("volume_down", "Vol −")
        self.vol_up = self._button("volume_up", "Vol +")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(music.volume)
        self.volume.setMinimumHeight(40)
        self.volume.setAccessibleName("Music volume")
        self.volume.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.volume.valueChanged.connect(lambda v: music.set_volume(v, record=False))
        self.volume.sliderReleased.connect(music.record_volume)
        self.vol_label = QLabel("")
        self.vol_row = QWidget()
        vol = QHBoxLayout(self.vol_row)
        vol.setContentsMargins(0, 0, 0, 0)
        vol.addWidget(self.volume, 1)
        vol.addWidget(self.vol_label)
        self.next_phase = self._button("next_phase", "Phase ▶")
        self.extend = self._button("extend_phase", "Extend")
        self.grid = QGridLayout()
        self.grid.setSpacing(6)
        self.scale = ""
        self.mid = QWidget()
        mid_lay = QHBoxLayout(self.mid)
        mid_lay.setContentsMargins(0, 0, 0, 0)
        mid_lay.addWidget(self.track, 1)
        mid_lay.addWidget(self.position)

        self.reminder = QLabel("")
        self.reminder.setWordWrap(True)
        self.reminder.hide()
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.hide()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 8, 12, 10)
        lay.setSpacing(6)
        lay.addLayout(top)
        lay.addWidget(self.mid)
        lay.addWidget(self.progress)
        lay.addLayout(self.grid)
        lay.addStretch(1)
        lay.addWidget(self.reminder)
        lay.addWidget(self.message)

        music.changed.connect(lambda _: self.refresh())
        music.messages.connect(self.show_message)
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.set_room_mode(theme.room_mode_active())
        self.volume.setEnabled(music.available)
        for problem in music.program.problems:
            self.show_message(problem)
        self.set_scale("normal")

    def set_scale(self, scale: str) -> None:
        """"compact" (a low screen): one row of buttons, the track on the title line, the
        volume as a number; otherwise two rows with the volume slider."""
        if scale == self.scale:
            return
        self.scale = scale
        compact = scale == "compact"
        while self.grid.count():
            self.grid.takeAt(0)
        order = ("previous", "play_pause", "next", "fade", "silence", "quiet")
        for col, key in enumerate(order):
            self.grid.addWidget(self.buttons[key], 0, col)
        if compact:
            for col, w in enumerate((self.vol_down, self.vol_up, self.next_phase, self.extend),
                                    start=len(order)):
                self.grid.addWidget(w, 0, col)
        else:
            self.grid.addWidget(self.vol_down, 1, 0)
            self.grid.addWidget(self.vol_row, 1, 1, 1, 2)
            self.grid.addWidget(self.vol_up, 1, 3)
            self.grid.addWidget(self.next_phase, 1, 4)
            self.grid.addWidget(self.extend, 1, 5)
        columns = 10 if compact else 6
        for c in range(10):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)
        self.vol_row.setVisible(not compact)
        self.mid.setVisible(not compact)
        self.set_room_mode(self._room)  # the button sizes live in the panel's style sheet

    def _button(self, key: str, label: str) -> QPushButton:
        act = self.actions_by_key[key]
        keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        b = QPushButton(f"{label}\n{_short_keys(keys)}")
        b.setObjectName("big")
        b.setToolTip(f"{act.text()} ({keys})")
        b.setAccessibleName(act.text())
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys stay with the note being typed
        b.clicked.connect(act.trigger)
        b.setEnabled(act.isEnabled())
        self.buttons[key] = b
        return b

    def _tick(self) -> None:
        self.music.tick()
        self.refresh()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def refresh(self) -> None:
        """Show what plays. Called 10 times a second: when nothing shown has changed (to the
        second) no label is touched — eliding and tooltips on every tick were the panel's
        share of an idle console's CPU."""
        np_ = self.music.now_playing()
        shown = (replace(np_, position_s=int(np_.position_s),
                         phase_elapsed_s=int(np_.phase_elapsed_s)),
                 self.music.available, self.music.program.name, self._room, self.scale,
                 self._intention(), self.volume.isSliderDown(), self.track.width(),
                 self.phase.width())
        if shown == self._shown:
            return
        self._shown = shown
        st = np_.state
        if np_.phase is not None:
            planned = (f" · {_mmss(np_.phase_elapsed_s)} of {_mmss(np_.phase_planned_s)}"
                       if np_.phase_planned_s else f" · {_mmss(np_.phase_elapsed_s)}")
            self.phase.setText(f"{np_.phase}{planned}")
        else:
            self.phase.setText(self.music.program.name if self.music.available else "")
        if self.scale == "compact":  # no track line: the title and volume join the top line
            title = np_.title or ("" if self.music.available else "Music unavailable")
            self.phase.setText(" · ".join(x for x in (self.phase.text(), title,
                                                      f"vol {np_.volume}") if x))
        _elided(self.phase, self.phase.text())
        word = {MusicState.SILENT: "SILENCE", MusicState.QUIET: "QUIET"}.get(st, st.value)
        if np_.crossfading:
            word = "crossfading"
        if np_.ducked and st is not MusicState.STOPPED:
            word += " · lowered for alarm"
        self.state.setText(word)
        css = f"color: {self._c(STATE_COLOURS[st])}; font-weight: bold;"
        if self.state.styleSheet() != css:  # re-applied at 10 Hz it was ~1 % of a core
            self.state.setStyleSheet(css)
        _elided(self.track, np_.title or ("—" if self.music.available else "Music unavailable"))
        self.position.setText(f"{_mmss(np_.position_s)} / {_mmss(np_.length_s)}")
        frac = np_.position_s / np_.length_s if np_.length_s else 0.0
        self.progress.setValue(int(1000 * min(1.0, frac)))
        self.vol_label.setText(f"{np_.volume}")
        if self.volume.value() != np_.volume and not self.volume.isSliderDown():
            self.volume.blockSignals(True)
            self.volume.setValue(np_.volume)
            self.volume.blockSignals(False)
        fade = self.buttons["fade"]
        fade_in = st in (MusicState.SILENT, MusicState.QUIET, MusicState.FADING_OUT,
                         MusicState.STOPPED)
        fade.setText(("Fade in" if fade_in else "Fade out") + "\nF9")
        self.buttons["silence"].setText(("End silence" if st is MusicState.SILENT
                                         else "Silence") + "\nF10")
        self.next_phase.setText(f"▶ {np_.next_phase}\n⇧F8" if np_.next_phase
                                else "Last\nphase")
        playing = st in (MusicState.PLAYING, MusicState.FADING_IN)
        self.buttons["play_pause"].setText(("Pause" if playing else "Play") + "\nF7")
        self.next_phase.setEnabled(self.music.available and np_.next_phase is not None)
        intention = self._intention()
        show = (bool(intention) and self._return_index is not None
                and np_.phase_index is not None and np_.phase_index >= self._return_index)
        self.reminder.setText(f"Intention: “{intention}”" if show else "")
        self.reminder.setVisible(show)

    def _c(self, colour: str) -> str:
        return theme.dim(colour, ROOM_DIM) if self._room else colour

    def set_room_mode(self, on: bool) -> None:
        """Room mode: lower the panel's own colours too (the app sheet dims the rest)."""
        self._room = on
        sf = theme.surfaces(on)
        panel, edge, btn_bg, btn_edge = sf.panel, sf.edge, sf.control, sf.control_edge
        text, dim_text = self._c(theme.TEXT), self._c(theme.TEXT_DIM)
        quiet = self._c("#c9a45a")
        # (a style sheet's min-height wins over setMinimumHeight, so sizes are set here)
        h, w = (34, 54) if self.scale == "compact" else (44, 72)
        self.setStyleSheet(f"""
            QFrame#musicPanel {{ background: {panel}; border: 1px solid {edge};
                                 border-radius: 6px; }}
            QLabel {{ color: {text}; background: transparent; }}
            QPushButton {{ background: {btn_bg}; border: 1px solid {btn_edge}; color: {text};
                           border-radius: 6px; font-size: 15px; padding: 4px 2px;
                           min-height: {h}px; min-width: {w}px; }}
            QPushButton:disabled {{ color: {theme.dim(dim_text, 0.6)}; }}
            QProgressBar {{ background: {btn_bg}; border: none; border-radius: 2px; }}
            QProgressBar::chunk {{ background: {dim_text}; border-radius: 2px; }}
            QSlider::groove:horizontal {{ height: 6px; background: {btn_edge};
                                          border-radius: 3px; }}
            QSlider::handle:horizontal {{ width: 22px; margin: -9px 0; border-radius: 11px;
                                          background: {dim_text}; }}
        """)
        self.title.setStyleSheet(f"color: {dim_text}; font-size: 12px; letter-spacing: 2px;")
        self.phase.setStyleSheet(f"color: {text}; font-size: 16px;")
        self.track.setStyleSheet(f"color: {text}; font-size: 20px;")
        self.position.setStyleSheet(f"color: {dim_text}; font-size: 15px;")
        self.vol_label.setStyleSheet(f"color: {dim_text}; min-width: 28px; font-size: 17px;")
        self.message.setStyleSheet(f"color: {self._c('#c9a45a')}; font-size: 13px;")
        self.reminder.setStyleSheet(f"color: {text}; font-size: 16px; font-style: italic;")
        self.buttons["quiet"].setStyleSheet(
            f"QPushButton:enabled {{ color: {quiet}; border-color: {quiet}; }}")
        self.refresh()
