"""The clinic's central station: every room's record as replicated to PostgreSQL, read only.

Model modules (`server`, `mirror`, `rooms`, `feed`, `reports`) import no Qt; the window
(`window`, `panel`, `detail`, `banner`) paints what they derive. Nothing here writes clinical
data: the station logs in with the read-only role and never calls a core method that records.
"""
