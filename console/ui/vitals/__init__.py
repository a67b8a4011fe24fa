"""The vitals area (tiles, pleth, trend) and the monitor dialog."""
