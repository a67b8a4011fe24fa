"""The dosing day: templates, doses, the gate, infusions, checks, timers, alarms, REMS and
discharge, with the day's state rebuilt from the session's events (`dose_day`)."""
