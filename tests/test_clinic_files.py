"""The clinic-file guard and every loader behind it: no input makes a loader raise.

Random bytes and pathological structures (deep nesting, NUL bytes, absurd names, wrong
shapes) go through the real loaders from real files; each must return its usual result,
with the shipped default where the file could not be used and a reason naming the file.
"""

from __future__ import annotations

import json
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.core import clinic_files
from console.core.clinic_files import MAX_DEPTH, NAME_MAX, UnreadableFile
from console.core.clinic_survey import MAX_TAGS, read_quick_tags, survey
from console.core.config import Config
from console.core.dosing import templates
from console.core.music import music_program, playlists, setting_checklist

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@contextmanager
def clinic_dir() -> Iterator[Path]:
    """A fresh clinic data folder per example (hypothesis runs many in one test)."""
    with tempfile.TemporaryDirectory() as d:
        base = Path(d)
        for sub in ("templates", "checklists", "playlists"):
            (base / sub).mkdir()
        yield base


# ---------------------------------------------------------------- the guard itself
def test_guard_names_the_line_of_each_defect(tmp_path: Path) -> None:
    p = tmp_path / "f.toml"
    cases: dict[bytes, tuple[int | None, str]] = {
        b'a = 1\nb = "x\x00"\n': (2, "NUL byte"),
        b'a = 1\n\nb = "\xff"\n': (3, "UTF-8"),
        b"a = 1\n" + b"b = " + b"[" * 30 + b"]" * 30 + b"\n": (2, "nested more than"),
        b"a = 1\nb = '" + b"x" * 5000 + b"'\n": (2, "characters long"),
        b"a = \n": (1, "not valid TOML"),
    }
    for data, (line, words) in cases.items():
        p.write_bytes(data)
        with pytest.raises(UnreadableFile) as e:
            clinic_files.load_toml(p)
        assert e.value.line == line and words in e.value.reason, e.value


def test_brackets_inside_strings_and_comments_do_not_count(tmp_path: Path) -> None:
    p = tmp_path / "f.toml"
    brackets = "[" * 40
    p.write_text(f'a = "{brackets}"\nb = \'{brackets}\'\n# {brackets}\nc = """\n{brackets}\n"""\n'
                 f'd = "quote \\" {brackets}"\n[[item]]\nid = "x"\n', "utf-8")
    assert clinic_files.load_toml(p)["item"] == [{"id": "x"}]


def test_nesting_without_brackets_is_refused_after_parsing(tmp_path: Path) -> None:
    p = tmp_path / "f.toml"
    p.write_text(".".join(["a"] * (MAX_DEPTH + 5)) + " = 1\n", "utf-8")
    with pytest.raises(UnreadableFile, match="nested more than"):
        clinic_files.load_toml(p)


def test_a_large_file_a_folder_and_a_missing_file(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"# x\n" * (clinic_files.MAX_BYTES // 4 + 1))
    with pytest.raises(UnreadableFile, match="MB"):
        clinic_files.read_bytes(big)
    with pytest.raises(UnreadableFile, match="not an ordinary file"):
        clinic_files.read_bytes(tmp_path)
    with pytest.raises(FileNotFoundError):
        clinic_files.read_bytes(tmp_path / "nope.toml")


def test_xml_entities_and_deep_elements_are_refused(tmp_path: Path) -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><playlist><title>&b;</title></playlist>')
    with pytest.raises(UnreadableFile, match="entities"):
        clinic_files.parse_xml(laughs, tmp_path / "x.xspf")
    external = (b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<playlist><title>&e;</title></playlist>")
    with pytest.raises(UnreadableFile, match="entities"):
        clinic_files.parse_xml(external, tmp_path / "x.xspf")
    deep = b"<playlist>\n" + b"<a>\n" * 100_000 + b"</a>" * 100_000 + b"</playlist>"
    with pytest.raises(UnreadableFile, match="nested more than") as e:
        clinic_files.parse_xml(deep, tmp_path / "x.xspf")
    assert e.value.line == MAX_DEPTH + 1


# ---------------------------------------------------------------- each loader, by hand
def test_template_with_an_absurd_title_or_infinite_number_is_rejected_at_its_line(
        tmp_path: Path) -> None:
    base = (templates.SHIPPED_DIR / "im.toml").read_text("utf-8")
    first_title = next(line for line in base.splitlines() if line.startswith("title"))
    line = base.splitlines().index(first_title) + 1
    (tmp_path / "templates").mkdir()
    p = tmp_path / "templates" / "long.toml"
    p.write_text(base.replace(first_title, f'title = "{"T" * 300}"', 1), "utf-8")
    cat = templates.load_catalog(tmp_path)
    assert [(e.path.name, e.line) for e in cat.errors] == [("long.toml", line)]
    assert "300 characters" in cat.errors[0].reason and "im" in cat.templates
    p.write_text(base.replace("max = 100", "max = inf"), "utf-8")
    assert "must be a number" in templates.load_catalog(tmp_path).errors[0].reason


def test_playlist_names_too_long_are_shortened_or_skipped_with_a_reason(tmp_path: Path) -> None:
    m = tmp_path / "long.m3u8"
    m.write_text(f"#EXTINF:10,{'t' * 300}\n{'y' * 300}.ogg\n", "utf-8")
    pl = playlists.load(m)
    assert pl.tracks == [] and pl.file_problem is not None
    assert "too long for the disk" in pl.problems[1] and "no playable tracks" in pl.problems[-1]
    x = tmp_path / "t.xspf"
    x.write_text(f"<playlist><title>{'n' * 300}</title><trackList/></playlist>", "utf-8")
    pl = playlists.load(x)
    assert len(pl.name) == NAME_MAX and "300 characters long — shortened" in pl.problems[0]


def test_damaged_addresses_cost_only_their_track(tmp_path: Path) -> None:
    (tmp_path / "ok.ogg").write_bytes(b"OggS" + b"\x00" * 64)
    m = tmp_path / "p.m3u8"
    m.write_text("file://[broken\nfile:///tmp/a%00b.ogg\n%ZZ\nok.ogg\n", "utf-8")
    pl = playlists.load(m)
    assert [t.path.name for t in pl.tracks] == ["ok.ogg"] and len(pl.problems) == 3
    assert pl.file_problem is None


def test_an_m3u8_that_is_not_utf8_is_refused_but_an_old_m3u_is_read_as_latin1(
        tmp_path: Path) -> None:
    (tmp_path / "Caf\xe9.ogg").write_bytes(b"OggS" + b"\x00" * 64)
    old = tmp_path / "old.m3u"
    old.write_bytes(b"Caf\xe9.ogg\n")
    assert [t.path.name for t in playlists.load(old).tracks] == ["Caf\xe9.ogg"]
    new = tmp_path / "new.m3u8"
    new.write_bytes(b"#EXTM3U\nCaf\xe9.ogg\n")
    pl = playlists.load(new)
    assert pl.tracks == [] and pl.file_problem is not None and pl.file_problem.line == 2
    assert "UTF-8" in pl.file_problem.reason


def test_program_with_wrong_kinds_keeps_what_it_can(tmp_path: Path) -> None:
    p = tmp_path / "program.toml"
    p.write_text('name = "Ours"\nfade_seconds = "slow"\nauto_advance = "yes"\ncolour = 1\n'
                 f'[[phase]]\nname = "{"p" * 300}"\nplaylist = "a"\nminutes = nan\n'
                 '[[phase]]\nname = "return"\nplaylist = "b"\nlyrics = "no"\n', "utf-8")
    prog = music_program.load_program(p)
    assert [len(ph.name) for ph in prog.phases] == [music_program.PHASE_NAME_MAX, 6]
    assert prog.phases[0].minutes is None and prog.fade_seconds == 8 and prog.auto_advance
    assert prog.file_problem is None and prog.source == p
    text = "\n".join(prog.problems)
    for words in ("fade time", "`auto_advance`", "`colour`", "300 characters", "invalid duration",
                  "`lyrics`"):
        assert words in text, words


def test_checklist_with_wrong_kinds_keeps_what_it_can(tmp_path: Path) -> None:
    (tmp_path / "checklists").mkdir()
    p = tmp_path / "checklists" / "setting.toml"
    p.write_text(f'title = ["x"]\n[[item]]\nid = "a"\nlabel = "{"L" * 300}"\n'
                 f'[[item]]\nid = "{"i" * 300}"\nlabel = "too long an id"\n'
                 '[[item]]\nid = 5\nlabel = "number id"\n', "utf-8")
    cl = setting_checklist.load_checklist(tmp_path)
    assert [it.id for it in cl.items] == ["a"] and len(cl.items[0].label) == NAME_MAX
    assert cl.title == "Set and setting" and len(cl.problems) == 3 and cl.file_problem is None


def test_quick_tags_are_bounded(tmp_path: Path) -> None:
    (tmp_path / "quick_tags.txt").write_text("\n".join(
        ["# ours", "x" * 300] + [f"tag {i}" for i in range(50)]), "utf-8")
    tags, problem = read_quick_tags(tmp_path)
    assert len(tags) == MAX_TAGS and tags[0] == "tag 0"
    assert problem is not None and problem.line == 2
    (tmp_path / "quick_tags.txt").write_bytes(b"calm\x00\n")
    tags, problem = read_quick_tags(tmp_path)
    assert tags == [] and problem is not None and "NUL" in problem.reason


def test_survey_lists_each_bad_file_once_with_what_is_used_instead(tmp_path: Path) -> None:
    with clinic_dir() as d:
        (d / "templates" / "t.toml").write_bytes(b"title = \x00")
        (d / "checklists" / "setting.toml").write_bytes(b"item = [1, 2]\n")
        (d / "playlists" / "program.toml").write_bytes(b"\xff\xfe")
        (d / "playlists" / "p.xspf").write_bytes(b"<trackList/>")
        (d / "playlists" / "ok.m3u").write_bytes(b"#EXTM3U\n")
        cfg = Config.load(d / "workstation.json")
        found = survey(cfg, d, [d / "playlists"])
    names = [p.path.name for p in found]
    assert sorted(names) == ["ok.m3u", "p.xspf", "program.toml", "setting.toml", "t.toml"]
    by = {p.path.name: p for p in found}
    assert by["setting.toml"].outcome == "the standard checklist is used"
    assert by["program.toml"].line == 1 and "demo" in by["program.toml"].outcome
    assert "has no tracks" in by["ok.m3u"].reason


# ---------------------------------------------------------------- property tests
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v) if v == v and abs(v) != float("inf") else "nan"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


KEYS = st.sampled_from(["title", "name", "id", "label", "kind", "group", "item", "phase",
                        "playlist", "minutes", "lyrics", "fade_seconds", "drug", "dose", "min",
                        "max", "basis", "method", "observation", "minimum_minutes", "alarms",
                        "param", "above", "priority", "checks", "what", "at_minutes", "x"])
SCALARS = st.one_of(st.booleans(), st.integers(-10**30, 10**30), st.floats(),
                    st.text(max_size=200), st.text(alphabet="[]{}\"'#=\\\n", max_size=40))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=25)
TABLES = st.dictionaries(KEYS, VALUES, max_size=6)
TOKENS = st.lists(st.sampled_from(
    ["[", "]", "{", "}", "[[item]]", "[[phase]]", "[drug]", "\n", " = ", '"', "'", '"""', "#",
     "title", "id", "label", "1", "inf", "nan", "\x00", "\\", "é", "x" * 130, "=", ","]),
    max_size=300)


def _toml_document(top: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in top.items())


def _load_everything(d: Path, data: bytes) -> None:
    """Every loader over the same bytes; each must return, with its default where needed."""
    for rel in ("templates/t.toml", "checklists/setting.toml", "playlists/program.toml",
                "playlists/p.m3u", "playlists/p.m3u8", "playlists/p.xspf", "quick_tags.txt",
                "workstation.json"):
        (d / rel).write_bytes(data)
    cat = templates.load_catalog(d)
    assert "im" in cat.templates and len(cat.errors) <= 1  # the shipped ones always load
    cl = setting_checklist.load_checklist(d)
    assert cl.items and all(len(it.label) <= NAME_MAX and len(it.id) <= NAME_MAX
                            for it in cl.items)
    prog = music_program.find_program([d / "playlists"])
    assert prog.phases and all(len(ph.name) <= NAME_MAX for ph in prog.phases)
    for name in ("p.m3u", "p.m3u8", "p.xspf"):
        pl = playlists.load(d / "playlists" / name)
        assert pl.problems or pl.tracks
        assert all(len(t.title) <= NAME_MAX for t in pl.tracks)
    tags, _ = read_quick_tags(d)
    assert len(tags) <= MAX_TAGS
    cfg = Config.load(d / "workstation.json")
    assert all(isinstance(x.port, str) for x in cfg.devices)
    assert isinstance(cfg.room_mode, bool)
    survey(cfg, d, [d / "playlists"])


@FAST
@given(st.binary(max_size=3000))
def test_random_bytes_never_make_a_loader_raise(data: bytes) -> None:
    with clinic_dir() as d:
        _load_everything(d, data)


@FAST
@given(TOKENS)
def test_bracket_and_quote_soup_never_makes_a_loader_raise(tokens: list[str]) -> None:
    with clinic_dir() as d:
        _load_everything(d, "".join(tokens).encode("utf-8"))


@FAST
@given(TABLES)
def test_valid_toml_of_any_shape_never_makes_a_loader_raise(top: dict[str, Any]) -> None:
    with clinic_dir() as d:
        _load_everything(d, _toml_document(top).encode("utf-8", "surrogatepass"))


@FAST
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["devices", "staff", "protocol", "port", "capture", "name", "role",
                         "room_mode", "extra", "notes", "music", "tags", "measures", "volume",
                         "autostart", "preferred_source", "7"]), inner, max_size=5),
    max_leaves=30))
def test_any_json_in_workstation_settings_loads(value: Any) -> None:
    with clinic_dir() as d:
        p = d / "workstation.json"
        p.write_text(json.dumps(value), "utf-8")
        cfg = Config.load(p)
        assert all(isinstance(x.protocol, str) and isinstance(x.port, str) for x in cfg.devices)
        assert all(isinstance(s.name, str) and isinstance(s.role, str) for s in cfg.staff)
        assert all(isinstance(v, str) for v in cfg.preferred_source.values())
        cfg.save()  # what was read can always be written back
        assert Config.load(p).devices == cfg.devices


XSPF_TAGS = st.sampled_from(["playlist", "{http://xspf.org/ns/0/}playlist", "trackList", "track",
                             "location", "title", "duration", "meta", "x"])


@st.composite
def xml_trees(draw: st.DrawFn, depth: int = 0) -> ET.Element:
    el = ET.Element(draw(XSPF_TAGS))
    el.text = draw(st.one_of(
        st.none(), st.text(st.characters(exclude_categories=["Cs"]), max_size=300),
        st.sampled_from(["file:///tmp/%00x", "9" * 4000, "-5", "http://x/y", "a/" * 200])))
    if depth < 4:
        el.extend(draw(st.lists(xml_trees(depth + 1), max_size=3)))
    if draw(st.booleans()):
        el.set("rel", "lyrics")
    return el


@FAST
@given(xml_trees())
def test_xspf_of_any_shape_never_makes_the_playlist_loader_raise(root: ET.Element) -> None:
    with clinic_dir() as d:
        p = d / "playlists" / "p.xspf"
        p.write_bytes(ET.tostring(root))
        pl = playlists.load(p)
        assert pl.problems or pl.tracks
        assert len(pl.name) <= NAME_MAX
