"""The clinic's own details, from the workstation settings (`extra.clinic`).

    "extra": {"clinic": {"name": "Harbour Clinic", "address1": "1 Quay St", "address2": "",
                         "city": "Portland", "state": "ME", "zip": "04101",
                         "phone": "555-0100"}}

Only the name is used by the session report ("Holdspace" when none is set); the REMS form
offers the rest as the healthcare setting, to be confirmed and saved with the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def clinic_from(extra: dict[str, Any]) -> Clinic:
    """The clinic section of the settings; anything not text is ignored, never fatal."""
    raw = extra.get("clinic")
    if not isinstance(raw, dict):
        return Clinic()
    vals = {k: str(raw[k]).strip() for k in FIELDS
            if isinstance(raw.get(k), str | int) and str(raw[k]).strip()}
    name = vals.pop("name", "")
    return Clinic(name=name or DEFAULT_NAME, named=bool(name), **vals)
