"""workstation.json read against its declared shape: what is good is used, the rest explained."""

from __future__ import annotations

import json
from pathlib import Path

from console.core.config import Config, DeviceConfig, StaffConfig


def load(tmp_path: Path, content: str | bytes) -> Config:
    p = tmp_path / "workstation.json"
    p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return Config.load(p)


def reasons(cfg: Config) -> str:
    return "\n".join(str(p) for p in cfg.problems)


def test_a_good_file_loads_without_problems_and_round_trips(tmp_path: Path) -> None:
    cfg = load(tmp_path, json.dumps({
        "devices": [{"protocol": "sim", "port": "/dev/ttyUSB0", "capture": True}],
        "preferred_source": {"147842": "sim:/dev/ttyUSB0"},
        "staff": [{"name": "Ana", "role": "nurse"}], "room_mode": True,
        "extra": {"music": {"volume": 40, "autostart": "session"},
                  "notes": {"measures": {"calm": [0, 10]}}, "later": {"x": 1}}}))
    assert cfg.problems == []
    assert cfg.devices == [DeviceConfig("sim", "/dev/ttyUSB0", True)]
    assert cfg.staff == [StaffConfig("Ana", "nurse")] and cfg.room_mode is True
    assert cfg.extra["music"] == {"volume": 40, "autostart": "session"}
    assert cfg.extra["later"] == {"x": 1}  # a newer feature's settings are kept as they are
    cfg.save()
    again = Config.load(cfg.path)
    assert again == cfg and again.problems == []


def test_one_bad_entry_costs_only_itself(tmp_path: Path) -> None:
    cfg = load(tmp_path, """{
  "devices": [
    {"protocol": "sim"},
    {"protocol": "nonin", "port": "/dev/ttyS1", "baud": 9600},
    {"protocol": "sim", "port": 5}
  ],
  "staff": [{"name": "Ana"}, {"name": "Bo", "role": "therapist"}, "Cy"],
  "room_mode": "no",
  "colour": "blue",
  "extra": {"notes": "calm", "music": {"volume": "loud", "volum": 3}}
}""")
    assert cfg.devices == [DeviceConfig("nonin", "/dev/ttyS1")]
    assert cfg.staff == [StaffConfig("Bo", "therapist")]
    assert cfg.room_mode is False and "notes" not in cfg.extra
    text = reasons(cfg)
    for words in ("line 3: monitor 1 is left out: it has no `port`",
                  "monitor 2: unknown setting `baud` — ignored",
                  "monitor 3 is left out: its `port` must be text",
                  "line 7: staff entry 1 (Ana) is left out: it has no `role`",
                  "staff entry 3 is left out: it must be a group of settings",
                  "line 8: `room_mode` is left out: it must be true or false",
                  "line 9: unknown setting `colour` — ignored",
                  "the `notes` settings must be a group",
                  "`volume` is left out: it must be a whole number",
                  "unknown setting `volum` (did you mean `volume`?)"):
        assert words in text, words
    assert (tmp_path / "workstation.json").exists()  # a partly good file stays where it is


def test_saving_after_problems_keeps_the_original_beside_it(tmp_path: Path) -> None:
    original = '{"devices": [{"protocol": "sim"}], "room_mode": true}'
    cfg = load(tmp_path, original)
    cfg.room_mode = False
    cfg.save()
    assert (tmp_path / "workstation.damaged.json").read_text("utf-8") == original
    cfg.save()  # the second save does not overwrite the kept original with our own file
    assert (tmp_path / "workstation.damaged.json").read_text("utf-8") == original
    assert json.loads((tmp_path / "workstation.json").read_text("utf-8"))["room_mode"] is False


def test_a_file_of_the_wrong_shape_is_set_aside_and_reported(tmp_path: Path) -> None:
    cases: list[tuple[str | bytes, str]] = [
        ("[]", "holds a list"),
        ("null", "holds null"),
        ("{devices: [", "is not valid JSON"),
        (b'{"a": "\xff"}', "UTF-8"),
        (b'{"a": "\x00"}', "NUL byte"),
        ("[\n" * 100_000 + "]\n" * 100_000, "nested more than"),
        ('{"a": "' + "x" * 5_000_000 + '"}', "MB"),
    ]
    for content, words in cases:
        cfg = load(tmp_path, content)
        assert cfg.devices == [] and not cfg.room_mode
        assert len(cfg.problems) == 1 and words in cfg.problems[0].reason, reasons(cfg)
        assert "renamed to workstation.damaged.json" in cfg.problems[0].outcome
        assert not (tmp_path / "workstation.json").exists()
        assert (tmp_path / "workstation.damaged.json").exists()


def test_a_missing_file_is_no_problem(tmp_path: Path) -> None:
    cfg = Config.load(tmp_path / "workstation.json")
    assert cfg.problems == [] and cfg.devices == []


def test_a_clinic_narrows_a_plausible_range_and_the_link_applies_it(tmp_path: Path) -> None:
    """`extra.plausibility` replaces a default range; a monitor value outside it is stored
    INVALID with the reason, through the same gate every link runs."""
    from console.core.config import plausible_limits
    from devices import mdc
    from devices.plausibility import PlausibilityGate
    from devices.reading import Quality, Reading

    cfg = load(tmp_path, json.dumps({"extra": {"plausibility": {"HR": [20, 200]}}}))
    limits = plausible_limits(cfg)
    assert cfg.problems == []
    hr = mdc.MDC_ECG_HEART_RATE
    assert (limits[hr].low, limits[hr].high) == (20, 200)
    out = PlausibilityGate(limits).apply(
        [Reading(1.0, "m", hr, 250.0, mdc.MDC_DIM_BEAT_PER_MIN)])
    assert isinstance(out[0], Reading)
    assert [r.quality for r in out] == [Quality.INVALID] and out[0].reason


def test_an_unusable_plausible_range_is_reported_and_the_defaults_stand(tmp_path: Path) -> None:
    from console.core.config import plausible_limits
    from devices.plausibility import DEFAULT_LIMITS

    cfg = load(tmp_path, json.dumps({"extra": {"plausibility": {"HR": [300, 20]}}}))
    assert plausible_limits(cfg) is DEFAULT_LIMITS
    assert len(cfg.problems) == 1 and "plausible ranges" in cfg.problems[0].reason
    assert cfg.problems[0].line == 1 and "standard plausible ranges" in cfg.problems[0].outcome
    cfg = load(tmp_path, json.dumps({"extra": {"plausibility": {"Wobble": [1, 2]}}}))
    assert plausible_limits(cfg) is DEFAULT_LIMITS and "plausible ranges" in reasons(cfg)


# ------------------------------------------------------------- settings declared once
def test_a_section_is_read_filled_with_the_declared_defaults(tmp_path: Path) -> None:
    from console.core.settings import BackupSettings, MusicSettings, NotesSettings, SyncConfig

    cfg = load(tmp_path, json.dumps({"extra": {"music": {"volume": 40, "autostart": "launch",
                                                         "crossfade": 3}}}))
    music = cfg.section(MusicSettings)
    assert (music.volume, music.autostart) == (40, "launch")  # the file's values
    assert music.follow_doses is True and music.return_phase == "return"  # the defaults
    assert music.patient_languages == ("en",) and music.output == ""
    assert cfg.section(BackupSettings).folder == ""  # a section the file does not have
    assert cfg.section(SyncConfig) == SyncConfig(url="", room="", waveforms=False)
    assert cfg.section(NotesSettings).tags[0] == "tearful"
    # the newer version's key is reported, kept, and written back as it was
    assert "unknown setting `crossfade`" in reasons(cfg)
    assert cfg.extra["music"]["crossfade"] == 3
    cfg.save()
    assert json.loads(cfg.path.read_text("utf-8") if cfg.path else "")["extra"]["music"] == {
        "volume": 40, "autostart": "launch", "crossfade": 3}  # defaults are not written in


def test_a_bad_value_is_reported_and_its_default_used(tmp_path: Path) -> None:
    from console.core.settings import ClinicSettings, MusicSettings, NotesSettings

    cfg = load(tmp_path, json.dumps({"extra": {
        "music": {"volume": "loud", "autostart": "always", "follow_doses": "yes"},
        "notes": {"tags": "calm"},
        "clinic": {"name": "Harbour Clinic", "zip": 4101, "phone": ["555"]}}}))
    music = cfg.section(MusicSettings)
    assert (music.volume, music.autostart, music.follow_doses) == (70, "session", True)
    assert cfg.section(NotesSettings).tags == NotesSettings().tags
    text = reasons(cfg)
    for words in ("`volume` is left out: it must be a whole number",
                  "`autostart` is left out: it must be one of: launch, session, off",
                  "`follow_doses` is left out: it must be true or false",
                  "`phone` is left out"):
        assert words in text, words
    clinic = cfg.section(ClinicSettings)  # a zip typed as a number is still the zip
    assert (clinic.name, clinic.zip, clinic.phone) == ("Harbour Clinic", 4101, "")
    # even a value set in memory past the file (a test, a dialog) falls back to the default
    cfg.extra["music"] = {"volume": "loud"}
    assert cfg.section(MusicSettings).volume == 70


def test_every_declared_setting_has_a_default_of_its_kind_and_a_meaning() -> None:
    import dataclasses

    from console.core import settings, settings_schema

    assert {"music", "notes", "backup", "sync", "clinic"} <= set(settings.SECTIONS)
    for name, cls in settings.SECTIONS.items():
        hints = settings_schema.fields_of(cls)
        filled = cls()
        for f in dataclasses.fields(cls):
            assert f.metadata.get(settings.MEANING), f"{name}.{f.name} has no meaning"
            value = getattr(filled, f.name)
            raw = json.loads(json.dumps(value))  # as it would be written in the file
            assert settings_schema.structure(raw, hints[f.name]) == (value, None), (name, f.name)


def test_docs_list_every_declared_setting() -> None:
    """docs/settings.md holds the table the declarations make (python -m console.core.settings)."""
    from console.core import settings

    doc = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text("utf-8")
    assert settings.markdown_table() in doc, "run: python -m console.core.settings"
    for section, key, *_ in settings.rows():
        assert f"| `{section}` | `{key}` |" in doc, (section, key)


def test_features_read_settings_through_their_declaration() -> None:
    """No `extra.get("…", default)` outside the settings code: the default would be a second one."""
    import re

    root = Path(__file__).resolve().parents[1] / "console"
    allowed = {"core/config.py", "core/settings.py",
               # below core (the layers contract): reads the `sync` section checked at load
               "replication/replicator.py"}
    found = []
    for p in root.rglob("*.py"):
        rel = p.relative_to(root).as_posix()
        if rel in allowed:
            continue
        for n, line in enumerate(p.read_text("utf-8").splitlines(), 1):
            if re.search(r"\bextra\s*(\.get\(|\[)", line) and not line.lstrip().startswith("#"):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
