"""Audio focus between alarms and music: an alarm ducks the music while it sounds.

The alarm side calls `request(reason, True/False)`; the music player listens to `changed`
and lowers or restores its volume. Neither side imports the other.
"""

from __future__ import annotations

from console.core.observers import Observers


class Ducking:
    def __init__(self) -> None:
        self._reasons: set[str] = set()
        self.changed: Observers[bool] = Observers()

    @property
    def active(self) -> bool:
        return bool(self._reasons)

    def request(self, reason: str, on: bool) -> None:
        before = self.active
        if on:
            self._reasons.add(reason)
        else:
            self._reasons.discard(reason)
        if self.active != before:
            self.changed.emit(self.active)
