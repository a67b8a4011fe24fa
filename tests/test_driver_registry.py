"""The driver registry refuses a driver it would otherwise skip: a misnamed DRIVER, a
DRIVER that is not a Driver, two drivers with one name."""

from __future__ import annotations

import importlib
import itertools
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from devices import drivers
from devices.drivers import DriverDefinitionError, collect

_n = itertools.count()
WriteModule = Callable[[str], ModuleType]


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteModule:
    """Real modules, written to files and imported, as the registry meets them."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(source: str) -> ModuleType:
        name = f"proto_under_test_{next(_n)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        mod = importlib.import_module(name)
        monkeypatch.setitem(sys.modules, name, mod)  # forgotten after the test
        return mod

    return write


DRIVER_OF_SIM = """
    import dataclasses
    from devices.protocols import sim
    {name} = dataclasses.replace(sim.DRIVER, name="{driver}")
"""


def test_a_well_named_driver_is_registered(write_module: WriteModule) -> None:
    mod = write_module(DRIVER_OF_SIM.format(name="DRIVER", driver="newmon"))
    assert collect([mod])["newmon"] is mod.DRIVER


def test_a_misnamed_driver_is_refused_with_its_module_and_name(write_module: WriteModule) -> None:
    mod = write_module(DRIVER_OF_SIM.format(name="DRIVERS", driver="newmon"))
    with pytest.raises(DriverDefinitionError) as e:
        collect([mod])
    assert mod.__name__ in str(e.value) and "as DRIVERS" in str(e.value)
    assert "name it DRIVER" in str(e.value)


def test_a_driver_that_is_not_a_driver_is_refused(write_module: WriteModule) -> None:
    mod = write_module("DRIVER = 'newmon'\n")
    with pytest.raises(DriverDefinitionError, match=r"DRIVER is a str, not a Driver"):
        collect([mod])


def test_two_drivers_with_one_name_are_refused(write_module: WriteModule) -> None:
    a = write_module(DRIVER_OF_SIM.format(name="DRIVER", driver="twin"))
    b = write_module(DRIVER_OF_SIM.format(name="DRIVER", driver="twin"))
    with pytest.raises(DriverDefinitionError, match=r"two drivers are named 'twin'"):
        collect([a, b])


def test_a_module_that_only_imports_another_modules_driver_is_fine(write_module: WriteModule) -> None:
    own = write_module(DRIVER_OF_SIM.format(name="DRIVER", driver="newmon"))
    helper = write_module(f"from {own.__name__} import DRIVER as USED\n")
    assert set(collect([own, helper])) == {"newmon"}


def test_every_shipped_driver_is_registered() -> None:
    assert {"sim", "contec", "hl7", "intellivue", "masimo", "nonin", "s5"} <= set(drivers.DRIVERS)
