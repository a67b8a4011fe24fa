"""Write the alarm and reminder tones into assets/sounds/ (run: python assets/make_alarm_sounds.py).

The synthesis lives in console/core/dosing/tones.py so the console can regenerate a missing file.
"""

from __future__ import annotations

from pathlib import Path

from console.core.dosing.tones import write_all

if __name__ == "__main__":
    for name, path in write_all(Path(__file__).resolve().parent / "sounds").items():
        print(f"{name}: {path}")
