"""The allocator settings (console/store/allocator.py): applied on glibc, left alone where
whoever started the console chose them, and harmless everywhere else."""

from __future__ import annotations

import platform
import sys

import pytest

from console.store import allocator

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt is glibc's")
def test_the_mapping_threshold_is_set_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert allocator.tune()


@pytest.mark.parametrize(("var", "value"), [
    ("MALLOC_MMAP_THRESHOLD_", "65536"), ("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536")])
def test_a_choice_made_outside_is_kept(monkeypatch: pytest.MonkeyPatch, var: str,
                                       value: str) -> None:
    monkeypatch.setenv(var, value)
    assert not allocator.tune()


def test_release_is_safe_anywhere() -> None:
    assert allocator.release() in (True, False)
    if not GLIBC:
        assert not allocator.tune()
