"""The libvlc plugins the frozen build ships: only what the console needs to play its music
and alarm tones (file access, Ogg/Vorbis, FLAC, WAV, MP3, volume and fades, sound outputs).

Paths are relative to the system's VLC plugin folder (Debian/Ubuntu:
/usr/lib/x86_64-linux-gnu/vlc/plugins). Each plugin's licence is the one it declares itself
(libvlc's `vlc_entry_license` string); packaging/build.sh writes them into the build's
LICENSES-vlc.txt and packaging/LICENSES.md lists them. Found by playing every shipped
format with `-vv` and keeping each module libvlc reported using, plus the other outputs.
"""

PLUGINS: dict[str, str] = {
    # sound outputs: the sound card (PulseAudio/PipeWire, ALSA), and the silent ones used by
    # `HOLDSPACE_AUDIO=dummy`/CI (ALSA's null device), the level meter (amem) and tests
    "audio_output/libpulse_plugin.so": "PulseAudio or PipeWire output",
    "audio_output/libalsa_plugin.so": "ALSA output (and ALSA's null device for dummy)",
    "audio_output/libamem_plugin.so": "memory output (the console's level meter)",
    "audio_output/libafile_plugin.so": "write to a file (diagnosis)",
    "audio_output/libadummy_plugin.so": "silent output",
    # volume, fades and format conversion
    "audio_mixer/libfloat_mixer_plugin.so": "software volume (float samples): fades",
    "audio_mixer/libinteger_mixer_plugin.so": "software volume (integer samples): fades",
    "audio_filter/libaudio_format_plugin.so": "sample format conversion",
    "audio_filter/libugly_resampler_plugin.so": "fast resampler",
    "audio_filter/libsamplerate_plugin.so": "good resampler (libsamplerate)",
    "audio_filter/libscaletempo_plugin.so": "tempo filter libvlc inserts by default",
    "audio_filter/libtrivial_channel_mixer_plugin.so": "channel conversion (mono/stereo)",
    "audio_filter/libsimple_channel_mixer_plugin.so": "channel down-mix",
    "audio_filter/libremap_plugin.so": "channel order remapping",
    # reading files
    "access/libfilesystem_plugin.so": "local files",
    "stream_filter/libcache_read_plugin.so": "read cache",
    "stream_filter/libskiptags_plugin.so": "skips ID3/APE tags before MP3 and FLAC data",
    # containers and codecs
    "demux/libogg_plugin.so": "Ogg container",
    "codec/libvorbis_plugin.so": "Vorbis decoder (libvorbis)",
    "demux/libflacsys_plugin.so": "FLAC container",
    "packetizer/libpacketizer_flac_plugin.so": "FLAC packetizer",
    "codec/libflac_plugin.so": "FLAC decoder (libFLAC)",
    "demux/libwav_plugin.so": "WAV container",
    "codec/libaraw_plugin.so": "PCM decoder (WAV)",
    "codec/libadpcm_plugin.so": "ADPCM decoder (compressed WAV)",
    "demux/libes_plugin.so": "MP3 (elementary audio stream)",
    "packetizer/libpacketizer_mpegaudio_plugin.so": "MPEG audio packetizer",
    "codec/libmpg123_plugin.so": "MP3 decoder (libmpg123)",
    # messages for support (`--verbose` style logs)
    "logger/libconsole_logger_plugin.so": "libvlc's messages on stderr",
}

# libvlc_pulse.so.0 lives in the VLC folder itself (the pulse output needs it).
EXTRA_LIBS = ["libvlc_pulse.so.0"]

# Sound outputs of the other systems (the Linux ones above are skipped there).
LINUX_ONLY = {"audio_output/libpulse_plugin.so", "audio_output/libalsa_plugin.so"}
WINDOWS_OUTPUTS = ["audio_output/libmmdevice_plugin", "audio_output/libdirectsound_plugin",
                   "audio_output/libwaveout_plugin"]
MACOS_OUTPUTS = ["audio_output/libauhal_plugin"]


def vlc_files(platform: str, lib_dir: str, plugin_dir: str) -> list[tuple[str, str]]:
    """(source file, folder in the build) for libvlc, libvlccore, their helper libraries and
    the plugins above, on `platform` (sys.platform) with VLC installed at lib_dir/plugin_dir.

    Windows: lib_dir is VLC's folder (C:\\Program Files\\VideoLAN\\VLC), plugin_dir its
    plugins\\; macOS: lib_dir is VLC.app/Contents/MacOS/lib, plugin_dir ../plugins.
    """
    from pathlib import Path

    lib, plugins = Path(lib_dir), Path(plugin_dir)
    if platform.startswith("linux"):
        out = [(str(lib / n), ".") for n in ("libvlc.so.5", "libvlccore.so.9")]
        out += [(str(lib / "vlc" / n), ".") for n in EXTRA_LIBS]
        rels = list(PLUGINS)
    else:
        ext = ".dll" if platform == "win32" else ".dylib"
        names = ("libvlc", "libvlccore")
        out = [(str(lib / f"{n}{ext}"), ".") for n in names]
        extra = WINDOWS_OUTPUTS if platform == "win32" else MACOS_OUTPUTS
        rels = [r.removesuffix(".so") + ext for r in PLUGINS if r not in LINUX_ONLY]
        rels += [r + ext for r in extra]
    out += [(str(plugins / rel), str(Path("vlc/plugins") / Path(rel).parent)) for rel in rels]
    return out
