"""Protocol templates: shipped ones load, a clinic adds its own, a typo names file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.core.dosing.templates import (
    SHIPPED_DIR,
    TemplateError,
    load_catalog,
    load_file,
    template_choices,
)


def test_shipped_templates_all_load_with_their_sources() -> None:
    cat = load_catalog()
    assert cat.errors == []
    assert {"im", "iv-infusion", "sublingual", "esketamine-rems", "palliative-low",
            "palliative-moderate"} <= set(cat.templates)
    iv = cat.templates["iv-infusion"]
    assert iv.dose.per_kg and iv.dose.max == 0.5 and iv.dose.infusion_minutes == 40
    esk = cat.templates["esketamine-rems"]
    assert esk.rems and esk.observation_minutes == 120 and esk.observation_from == "first_dose"
    assert esk.dose.unit_mg == 28 and esk.gate.sys_max == 140
    assert [c.at_minutes for c in esk.checks if c.what == "bp" and c.at_minutes] == [(40.0,)]
    for name in ("palliative-low", "palliative-moderate"):
        assert cat.templates[name].unverified
        assert "UNVERIFIED" in cat.templates[name].provenance
    hr = next(a for a in cat.templates["im"].alarms if a.id == "hr-high")
    assert (hr.above, hr.sustain_minutes, hr.priority) == (120, 5, "medium")
    assert "Conscious Dying" in cat.templates["im"].source


def test_clinic_template_is_added_and_replaces_a_shipped_one(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    text = (SHIPPED_DIR / "im.toml").read_text().replace('title = "IM ketamine"',
                                                         'title = "IM ketamine (our clinic)"')
    (tmp_path / "templates" / "im.toml").write_text(text)
    (tmp_path / "templates" / "im-low.toml").write_text(
        text.replace("(our clinic)", "low").replace("max = 100", "max = 50"))
    cat = load_catalog(tmp_path)
    assert cat.templates["im"].title == "IM ketamine (our clinic)"
    assert cat.templates["im"].origin == "clinic"
    assert cat.templates["im-low"].dose.max == 50
    assert ("im-low", "IM ketamine low") in template_choices(tmp_path)


def test_a_typo_in_a_key_names_file_line_and_reason(tmp_path: Path) -> None:
    text = (SHIPPED_DIR / "im.toml").read_text().replace("max = 100", "maxx = 100")
    line = text.splitlines().index("maxx = 100") + 1
    p = tmp_path / "typo.toml"
    p.write_text(text)
    with pytest.raises(TemplateError) as e:
        load_file(p)
    msg = str(e.value)
    assert f"typo.toml, line {line}" in msg
    assert "unknown setting `maxx`" in msg and "did you mean `max`" in msg


def test_unknown_key_and_bad_values_are_reported_at_their_line(tmp_path: Path) -> None:
    base = (SHIPPED_DIR / "im.toml").read_text()
    cases = {
        "priorty": base.replace('priority = "medium"', 'priorty = "medium"', 1),
        "one of": base.replace('method = "bolus"', 'method = "push"'),
        "must be a number": base.replace("min = 25", 'min = "25"'),
        "not valid TOML": base.replace('route = "IM"', 'route = "IM'),
        "did you mean `observation`": base.replace("[observation]", "[observaton]"),
    }
    for expected, text in cases.items():
        p = tmp_path / "bad.toml"
        p.write_text(text)
        with pytest.raises(TemplateError) as e:
            load_file(p)
        assert expected in str(e.value), str(e.value)
        assert e.value.line is not None, str(e.value)


def test_a_bad_clinic_file_is_rejected_and_the_others_still_load(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "broken.toml").write_text('title = "x"\n[drug\n')
    cat = load_catalog(tmp_path)
    assert "im" in cat.templates and "broken" not in cat.templates
    assert len(cat.errors) == 1 and "broken.toml, line 2" in str(cat.errors[0])
