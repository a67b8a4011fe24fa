"""The console core, no Qt widgets: the kernel every feature needs at the top (session,
acquisition hub, clock, config, the vitals table), one folder per feature (vitals, dosing,
music, notes) that never import each other, and report/ and exports/ above them."""
