"""Print the fingerprint of pyproject.toml's dependencies (stdlib only, Python 3.11+).

The lock files carry the fingerprint of the dependencies they were made from
(`# pyproject-deps: <sha256>`); scripts/setup.sh and packaging/build.sh compare it with
today's pyproject.toml, so a dependency added without re-locking is noticed instead of
silently missing from the install or the frozen build. Only what decides the resolution is
hashed (requires-python, dependencies, optional-dependencies), so editing ruff's settings
does not make the lock stale.

    python3 packaging/deps_fingerprint.py [pyproject.toml]          # prints the fingerprint
    python3 packaging/deps_fingerprint.py --check requirements.lock # exit 1 when stale
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

MARK = "# pyproject-deps: "


def fingerprint(pyproject: Path) -> str:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {k: sorted(v) for k, v in
                                  sorted(project.get("optional-dependencies", {}).items())},
    }
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()


def recorded(lock: Path) -> str | None:
    """The fingerprint a lock file was made from, or None (no file, or no mark in it)."""
    try:
        for line in lock.read_text(encoding="utf-8").splitlines():
            if line.startswith(MARK):
                return line[len(MARK):].strip()
    except OSError:
        return None
    return None


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    if argv[:1] == ["--check"]:
        lock = Path(argv[1]) if len(argv) > 1 else root / "requirements.lock"
        return 0 if recorded(lock) == fingerprint(root / "pyproject.toml") else 1
    print(fingerprint(Path(argv[0]) if argv else root / "pyproject.toml"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
