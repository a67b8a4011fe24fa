"""Where Holdspace keeps its files by default: the data folder and the workstation settings.

Apart from console.core.config (which reads the settings with cattrs and the plausibility
limits) so that the command line can name the default database without importing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "holdspace"


def default_data_dir() -> Path:
    return Path(os.environ.get("HOLDSPACE_DATA_DIR") or platformdirs.user_data_dir(APP, appauthor=False))


def default_config_path() -> Path:
    base = os.environ.get("HOLDSPACE_CONFIG_DIR") or platformdirs.user_config_dir(APP, appauthor=False)
    return Path(base) / "workstation.json"
