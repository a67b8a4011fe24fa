"""Widgets. Only this package (and the composition root) imports Qt."""
