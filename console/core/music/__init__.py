"""Music and set and setting: libvlc playback, playlists, the music programme and the
setting checklist."""
