"""Widgets. Only this package (and the composition root) imports Qt. The shell (main window,
theme, dialogs) at the top; one folder per feature, the same four as console.core."""
