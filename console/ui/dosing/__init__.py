"""The dose feature's widgets; `dose_feature.install` adds them to the window."""
