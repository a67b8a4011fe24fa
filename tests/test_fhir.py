"""The FHIR R4 export of a whole simulated dosing day, made by `holdspace export --fhir` and
read back: every resource validated with fhir.resources (its R4B models share R4's shapes for
these resources), and the day's facts found where a receiving system would look for them."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from console.cli import main
from console.core.exports import fhir_codes as fc
from console.core.report.record_hash import session_record_hash
from console.store.events import session_events
from devices import mdc
from tests.helpers.report_day import Day, ketamine_day, rig, start

Json = dict[str, Any]


@pytest.fixture(autouse=True)
def _clinic_settings() -> None:
    cfg = Path(os.environ["HOLDSPACE_CONFIG_DIR"])
    cfg.mkdir(parents=True, exist_ok=True)
    (cfg / "workstation.json").write_text(json.dumps({"extra": {"clinic": {
        "name": "Harbour Clinic"}}}))


def export(d: Day, out: Path) -> Json:
    d.writer.flush()
    assert main(["export", "--db", str(d.path), "--session", str(d.session_id), "--fhir",
                 str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def validated(bundle: Json) -> Bundle:
    """The whole bundle, and then each resource on its own, through the R4B models."""
    parsed = Bundle.model_validate(bundle)
    for e in bundle["entry"]:
        res = e["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
    return parsed


class Index:
    def __init__(self, bundle: Json) -> None:
        self.by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        self.entries = [e["resource"] for e in bundle["entry"]]

    def of(self, kind: str) -> list[Json]:
        return [r for r in self.entries if r["resourceType"] == kind]

    def get(self, ref: Json) -> Json:
        return self.by_url[ref["reference"]]


def codes(concept: Json, system: str) -> list[str]:
    return [c["code"] for c in concept.get("coding", []) if c["system"] == system]


def ext(res: Json, url: str) -> list[Json]:
    return [x for x in res.get("extension", []) if x["url"] == url]


def test_the_fhir_bundle_of_a_full_day_holds_its_facts(tmp_path: Path, capsys,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with rig(tmp_path) as d:
        ketamine_day(d)
        out = tmp_path / "day.json"
        bundle = export(d, out)
        record_hash = session_record_hash(d.reader, d.session_id)
        said = capsys.readouterr()
        assert "export.fhir" in said.out
        ev = session_events(d.reader, d.session_id, ["export.fhir"])
        hr_rows = d.reader.execute(
            "SELECT COUNT(*) FROM readings WHERE session_id = ? AND code = ? AND source = ?",
            (d.session_id, mdc.MDC_ECG_HEART_RATE, "Philips IntelliVue")).fetchone()[0]
    # a private file; the patient is in it and nowhere else
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".json") == ["day.json"]
    for text in (said.out, said.err, caplog.text):
        assert "Maria" not in text and "MK-1042" not in text
    validated(bundle)
    ix = Index(bundle)
    assert bundle["type"] == "document" and bundle["timestamp"]
    assert bundle["identifier"]["system"] == "urn:ietf:rfc:3986"
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"
    assert len(ix.by_url) == len(bundle["entry"]), "every fullUrl is unique"
    for res in ix.entries:  # every reference inside the bundle resolves
        for ref in re.findall(r'"reference": "([^"]+)"', json.dumps(res)):
            assert ref in ix.by_url, (res["resourceType"], ref)

    # who and where
    (patient,) = ix.of("Patient")
    assert patient["name"][0]["text"] == "Maria Keller"
    assert patient["identifier"][0]["value"] == "MK-1042"
    assert patient["birthDate"] == "1961-04-12"
    (encounter,) = ix.of("Encounter")
    assert encounter["status"] == "finished" and encounter["type"][0]["text"] == "IM ketamine"
    assert {p["name"][0]["text"] for p in ix.of("Practitioner")} == {"Ana Nurse", "Dr Lee"}
    assert [x["deviceName"][0]["name"] for x in ix.of("Device")] == ["Philips IntelliVue"]
    assert ix.of("Organization")[0]["name"] == "Harbour Clinic"

    # doses: the two counted ketamine doses with RxNorm 6130, route, mg and mg/kg, lot
    admins = ix.of("MedicationAdministration")
    ketamine = [a for a in admins if codes(ix.get(a["medicationReference"])["code"],
                                           fc.RXNORM) == ["6130"]]
    given = [a for a in ketamine if a["status"] == "completed"]
    assert [a["dosage"]["dose"]["value"] for a in given] == [50, 120]
    for a in given:
        assert a["dosage"]["dose"]["code"] == "mg"
        assert codes(a["dosage"]["route"], fc.SNOMED) == ["78421000"]
        assert ix.get(a["medicationReference"])["batch"]["lotNumber"] == "K-2291"
        assert a["performer"][0]["actor"]["display"] == "Dr Lee"
    per_kg = ext(given[1]["dosage"], fc.EXT_DOSE_PER_KG)[0]["valueQuantity"]
    assert per_kg == {"value": 1.875, "unit": "mg/kg", "system": fc.UCUM, "code": "mg/kg"}
    # the out-of-range dose, marked as data and in words
    (marker,) = ext(given[1], fc.EXT_OUTSIDE_PROTOCOL)
    parts = {x["url"]: x for x in marker["extension"]}
    assert parts["direction"]["valueCode"] == "above"
    assert parts["protocolRange"]["valueString"] == "25–100 mg"
    assert parts["confirmedBy"]["valueReference"]["display"] == "Ana Nurse"
    assert any("ABOVE the protocol range 25–100 mg" in n["text"] for n in given[1]["note"])
    assert not ext(given[0], fc.EXT_OUTSIDE_PROTOCOL)
    # the dose entered in error stays, as entered-in-error with its reason
    (wrong,) = [a for a in ketamine if a["status"] == "entered-in-error"]
    assert wrong["dosage"]["dose"]["value"] == 25
    assert wrong["statusReason"][0]["text"] == "Recorded twice by mistake"

    # the adverse event and its rescue drug, each pointing at the other
    (ae,) = ix.of("AdverseEvent")
    assert ae["event"]["text"] == "Nausea" and ae["actuality"] == "actual"
    assert codes(ae["severity"], fc.AE_SEVERITY) == ["moderate"]
    assert ae["outcome"]["text"] == "settled within 15 min"
    assert ext(ae, fc.EXT_INTERVENTION)[0]["valueString"] == "bowl, cool cloth"
    rescue = ix.get(ext(ae, fc.EXT_TREATED_WITH)[0]["valueReference"])
    assert rescue["resourceType"] == "MedicationAdministration"
    assert ix.get(rescue["medicationReference"])["code"] == {"text": "ondansetron"}, \
        "no RxNorm code that was not confirmed"
    assert rescue["dosage"]["dose"]["value"] == 4
    assert codes(rescue["dosage"]["route"], fc.SNOMED) == ["47625008"]
    assert ix.get(rescue["supportingInformation"][0]) is ae

    # the amendment: the note as amended, the original kept, who amended and why
    notes = [o for o in ix.of("Observation") if codes(o["code"], fc.NOTE_SYSTEM)]
    (amended,) = [o for o in notes if o["status"] == "amended"]
    assert amended["valueString"] == "[eyes closed] Eyes closed, breathing calm and even"
    assert amended["note"][0]["text"] == "Originally: [eyes closed] Eyes closed, breathing slow"
    url = next(u for u, r in ix.by_url.items() if r is amended)
    (change,) = [p for p in ix.of("Provenance") if p["target"][0]["reference"] == url]
    assert codes(change["activity"], fc.DATA_OPERATION) == ["UPDATE"]
    assert change["reason"][0]["text"] == "wrong word"
    assert change["agent"][0]["who"]["display"] == "Dr Lee"
    assert "Originally: [eyes closed] Eyes closed, breathing slow" in json.dumps(
        bundle["entry"][0]["resource"], ensure_ascii=False)

    # the scores
    scores = {codes(o["code"], fc.SCALE_SYSTEM)[0]: o for o in ix.of("Observation")
              if codes(o["code"], fc.SCALE_SYSTEM)}
    assert scores["moaas"]["valueInteger"] == 3 and scores["cadss"]["valueInteger"] == 12
    assert scores["moaas"]["category"][0]["coding"][0]["code"] == "survey"

    # the signer: in Provenance with the record hash, and as the Composition's attester
    (composition,) = ix.of("Composition")
    signed = [p for p in ix.of("Provenance") if p.get("signature")]
    assert len(signed) == 1
    sig = signed[0]
    assert sig["agent"][0]["who"]["display"] == "Dr Lee"
    assert codes(sig["agent"][0]["type"], fc.PARTICIPANT_TYPE) == ["legal"]
    assert sig["signature"][0]["who"]["display"] == "Dr Lee"
    assert sig["signature"][0]["type"][0]["code"] == fc.AUTHOR_SIGNATURE
    assert sig["entity"][0]["what"]["identifier"] == {"system": fc.RECORD_HASH_SYSTEM,
                                                      "value": record_hash}
    assert "I have reviewed this record of the session." in sig["activity"]["text"]
    assert composition["identifier"]["value"] == record_hash
    assert composition["status"] == "amended", "an addendum followed the signature"
    assert composition["attester"][0]["mode"] == "legal"
    assert composition["attester"][0]["party"]["display"] == "Dr Lee"
    assert codes(composition["type"], fc.LOINC) == [fc.PROCEDURE_NOTE]
    text = json.dumps(composition, ensure_ascii=False)
    for fact in ("OVERRIDE at 08:10 by Ana Nurse", "Cumulative ketamine: 170 mg",
                 "<del>08:11 Booster dose: ketamine 25 mg", "Called the next morning",
                 "08:25:15 HIGH SpO2 89 %"):
        assert fact in text, fact

    # vital signs: LOINC and MDC both, the vital-signs profiles, every NIBP as a panel
    vitals = [o for o in ix.of("Observation")
              if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    hr = [o for o in vitals if codes(o["code"], fc.MDC) == [str(mdc.MDC_ECG_HEART_RATE)]]
    assert hr and all(codes(o["code"], fc.LOINC) == ["8867-4"] for o in hr)
    assert all(o["meta"]["profile"] == [fc.PROFILE + "heartrate"] for o in hr)
    (hr_by_hand,) = [o for o in hr if "device" not in o]
    assert hr_by_hand["valueQuantity"]["value"] == 70
    assert hr_by_hand["performer"][0]["display"] == "Ana Nurse"
    hr = [o for o in hr if o is not hr_by_hand]
    assert all(o["device"]["display"] == "Philips IntelliVue" for o in hr)
    medians = [re.match(r"Median of (\d+) value", o["note"][0]["text"]) for o in hr]
    counted = sum(int(m[1]) for m in medians if m is not None)
    assert None not in medians
    assert counted == hr_rows, "every HR value is in one 5-minute summary"
    spo2 = [o for o in vitals if codes(o["code"], fc.MDC) == [str(mdc.MDC_PULS_OXIM_SAT_O2)]]
    assert all(codes(o["code"], fc.LOINC) == ["2708-6", "59408-5"] for o in spo2)
    assert any("range 89–97 %" in o["note"][0]["text"] for o in spo2), "the dip is kept"
    rr = [o for o in vitals if codes(o["code"], fc.LOINC) == ["9279-1"]]
    assert rr and all(o["valueQuantity"]["code"] == "/min" for o in rr)
    panels = [o for o in vitals if codes(o["code"], fc.LOINC) == [fc.BP_PANEL]]
    by_source = Counter(o.get("device", {}).get("display", "by hand") for o in panels)
    assert by_source == {"Philips IntelliVue": 32, "by hand": 1}
    first = panels[0]
    assert [codes(c["code"], fc.LOINC)[0] for c in first["component"]] == [
        "8480-6", "8462-4", "8478-0"]
    assert [c["valueQuantity"]["value"] for c in first["component"]] == [166, 96, 119]
    assert all(c["valueQuantity"]["code"] == "mm[Hg]" for c in first["component"])
    (by_hand,) = [o for o in panels if "device" not in o]
    assert by_hand["performer"][0]["display"] == "Ana Nurse"
    assert [c["valueQuantity"]["value"] for c in by_hand["component"][:2]] == [128, 80]

    # what left the record: the export event
    assert len(ev) == 1
    p = ev[0].payload
    assert p["files"] == [str(out)] and p["format"] == "fhir" and p["via"] == "command line"
    assert p["record_hash"] == record_hash
    assert p["counts"]["MedicationAdministration"] == 4


def test_an_esketamine_dose_is_coded_by_name_and_an_unsigned_note_is_preliminary(
        tmp_path: Path) -> None:
    with rig(tmp_path) as d:
        day = start(d, "esketamine-rems")
        d.feed(5, bp=(132, 84))
        for item in day.template.checklist:
            day.set_item(item.id, {"confirm": True, "text": "none", "hours": 6.0}[item.kind])
        day.give_dose("56", lot="ESK-7731", given_by="Dr Lee")
        d.feed(3, bp=(138, 86))
        bundle = export(d, tmp_path / "esk.json")
    validated(bundle)
    ix = Index(bundle)
    (admin,) = ix.of("MedicationAdministration")
    med = ix.get(admin["medicationReference"])
    assert "coding" not in med["code"] and med["code"]["text"].startswith("esketamine")
    assert codes(admin["dosage"]["route"], fc.SNOMED) == ["46713006"]
    assert admin["dosage"]["dose"]["value"] == 56
    (composition,) = ix.of("Composition")
    assert composition["status"] == "preliminary" and "attester" not in composition
    assert not [p for p in ix.of("Provenance") if p.get("signature")]
    assert ix.of("Encounter")[0]["status"] == "in-progress"
    assert "NOT SIGNED" in json.dumps(composition)


def test_bad_fhir_export_input_is_one_line_exit_2_and_nothing_left(tmp_path: Path,
                                                                   capsys) -> None:
    with rig(tmp_path) as d:
        start(d, "im")
        d.feed(2)
        d.writer.flush()
        db = str(d.path)
        out = tmp_path / "out"
        out.mkdir()
        cases = [
            (["--session", "99", "--fhir", str(out / "a.json")], "There is no session 99"),
            (["--session", "1", "--fhir", str(out / "nowhere" / "a.json")], "does not exist"),
            (["--session", "1", "--fhir", str(out)], "is a folder"),
            (["--session", "1", "--fhir", db], "the Holdspace database itself"),
            (["--from", "2027-01-01", "--to", "2027-01-02", "--fhir", str(out / "a.json")],
             "a FHIR bundle holds one session"),
            (["--session", "1", "--fhir", str(out / "a.json"), "--csv", str(out / "a.csv")],
             "not allowed with"),
            (["--db", str(tmp_path / "missing.db"), "--session", "1", "--fhir",
              str(out / "b.json")], "There is no database"),
        ]
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        if not os.access(locked, os.W_OK):  # root can write anywhere
            cases.append((["--session", "1", "--fhir", str(locked / "a.json")],
                          "permission denied"))
        for args, words in cases:
            capsys.readouterr()
            argv = ["export", *([] if "--db" in args else ["--db", db]), *args]
            assert main(argv) == 2, argv
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and words in err and "Traceback" not in err, (args, err)
        assert os.listdir(out) == [] and os.listdir(locked) == []
        assert session_events(d.reader, d.session_id, ["export.fhir"]) == []
