"""The music feature's widgets; `music_feature.install` adds them to the window."""
