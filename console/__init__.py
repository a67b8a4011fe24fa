"""Holdspace: the treatment-room console for ketamine-assisted psychotherapy dosing days."""

__version__ = "0.1.0"
