"""The notes feature's widgets (note pane, timeline, courses, staff); `notes_feature.install`
adds them to the window."""
