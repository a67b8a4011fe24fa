"""What leaves the room: exports (CSV, .vital), and the event that records each one.

No Qt here: the command line and the window use the same functions. Every file that takes
patient data out of Holdspace is written readable by its owner only and recorded as an
`export.*` event (`export_events.py`) before it is given its name, so the record always shows
what left it, when, by whom and where to.
"""
