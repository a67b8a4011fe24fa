"""The clinic's own details, from the workstation settings (`extra.clinic`, declared in
console/core/settings.py).

    "extra": {"clinic": {"name": "Harbour Clinic", "address1": "1 Quay St", "address2": "",
                         "city": "Portland", "state": "ME", "zip": "04101",
                         "phone": "555-0100"}}

Only the name is used by the session report ("Holdspace" when none is set); the REMS form
offers the rest as the healthcare setting, to be confirmed and saved with the form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from console.core.settings import ClinicSettings, from_extra

DEFAULT_NAME = "Holdspace"
FIELDS = ("name", "address1", "address2", "city", "state", "zip", "phone")


@dataclass(frozen=True, slots=True)
class Clinic:
    name: str = DEFAULT_NAME
    address1: str = ""
    address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    phone: str = ""
    named: bool = False  # a name was set in the settings


def clinic_from(extra: Mapping[str, Any]) -> Clinic:
    """The clinic section of the settings (declared in console/core/settings.py); anything not
    text is ignored, never fatal."""
    declared = from_extra(ClinicSettings, extra)
    vals = {k: str(getattr(declared, k)).strip() for k in FIELDS}
    name = vals.pop("name")
    return Clinic(name=name or DEFAULT_NAME, named=bool(name), **vals)
