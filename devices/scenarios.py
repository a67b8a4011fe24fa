"""The simulator's named scenarios, apart from the model itself: the command line lists them
for `--help` without importing numpy (which the model needs)."""

from __future__ import annotations

SCENARIOS: dict[str, str] = {
    "calm": "Resting adult: HR ~72, SpO2 97-98 % (99 now and then), RR 14, NIBP ~122/78 every 3 min.",
    "hypertensive": "Raised BP before and after dosing: NIBP ~172/104, HR ~96.",
    "desaturation": "Calm, then SpO2 falls to ~86 % from minute 1 for a minute and recovers.",
    "tachycardia": "HR climbs to ~128 from minute 1 and stays there.",
    "unplug": "Calm, but the cable is pulled for 10 s every minute (link lost and back).",
    "noisy": "Calm, with occasional probe-off periods and artefact (invalid / questionable).",
}
