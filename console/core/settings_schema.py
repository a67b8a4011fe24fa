"""Declared shapes for hand-edited settings, read so that one bad part never costs the rest.

Each file's shape is declared once, as the dataclasses the program already uses or as
TypedDicts, and cattrs structures the raw JSON/TOML onto it. Its primitives are made strict
here (plain cattrs would turn "no" into True and 5 into "5"), and every refusal is turned
into a sentence: a bad entry or value is left out with its reason, an unknown key is
reported and ignored, a missing one takes its default.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

import cattrs
from cattrs.errors import AttributeValidationNote, ClassValidationError

T = TypeVar("T")

converter = cattrs.Converter(detailed_validation=True)


def _text(v: Any, _: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("not text")
    return v


def _flag(v: Any, _: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError("not true or false")
    return v


def _whole(v: Any, _: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("not a whole number")
    return v


def _number(v: Any, _: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise TypeError("not a number")
    return float(v)


def _is_sequence(t: Any) -> bool:
    return get_origin(t) in (list, tuple)


def _sequence(v: Any, t: Any) -> Any:
    """A list in the file, never a text read as its letters (plain cattrs takes any iterable)."""
    if not isinstance(v, list | tuple):
        raise TypeError("not a list")
    args = get_args(t)
    if get_origin(t) is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(v) != len(args):
            raise ValueError(f"not {len(args)} values")
        return tuple(converter.structure(x, a) for x, a in zip(v, args, strict=True))
    items = [converter.structure(x, args[0] if args else Any) for x in v]
    return items if get_origin(t) is list else tuple(items)


converter.register_structure_hook_func(_is_sequence, _sequence)
converter.register_structure_hook(str, _text)
converter.register_structure_hook(bool, _flag)
converter.register_structure_hook(int, _whole)
converter.register_structure_hook(float, _number)


def expected(t: Any) -> str:
    """What a value of type `t` looks like, in words."""
    origin, args = get_origin(t), get_args(t)
    if t is str:
        return "text in quotes"
    if t is bool:
        return "true or false"
    if t is int:
        return "a whole number"
    if t is float:
        return "a number"
    if origin is Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin in (types.UnionType, typing.Union):
        return " or ".join(expected(a) for a in args if a is not type(None))
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        origin, args = list, args[:1]  # tuple[str, ...]: written in the file as a list
    if origin is list:
        return {str: "a list of texts", float: "a list of numbers"}.get(args[0] if args else Any,
                                                                          "a list")
    if origin is tuple and args and all(a is float for a in args):
        return f"{len(args)} numbers, like [0, 10]"
    if origin is dict or t is dict or dataclasses.is_dataclass(t) or typing.is_typeddict(t):
        return "a group of settings in {…}"
    return "something else"


def why(exc: BaseException, t: Any) -> str:
    """A refusal by the converter, as words: which part is missing or of the wrong kind."""
    if isinstance(exc, ClassValidationError):
        parts = []
        for e in exc.exceptions:
            notes = [n for n in getattr(e, "__notes__", []) if isinstance(n, AttributeValidationNote)]
            if not notes:
                continue
            name, typ = notes[0].name, notes[0].type
            if isinstance(e, KeyError):
                parts.append(f"it has no `{name}`")
            else:
                parts.append(f"its `{name}` must be {expected(typ)}")
        if parts:
            return "; ".join(parts)
    return f"it must be {expected(t)}"


def structure(value: Any, t: type[T] | Any) -> tuple[T | None, str | None]:
    """(value on the declared type, None) or (None, why it was refused)."""
    try:
        return converter.structure(value, t), None
    except Exception as e:  # cattrs raises many kinds; all mean "not this shape"
        return None, why(e, t)


def unknown(keys: Iterable[str], known: Iterable[str]) -> list[str]:
    """One sentence per key that is not in `known`, with a suggestion for a likely typo."""
    known = list(known)
    out = []
    for key in keys:
        if key in known:
            continue
        near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.7)
        hint = f" (did you mean `{near[0]}`?)" if near else ""
        out.append(f"unknown setting `{key}`{hint} — ignored")
    return out


def fields_of(schema: Any) -> dict[str, Any]:
    """The declared keys and their types, for a dataclass or a TypedDict."""
    hints = get_type_hints(schema)
    if dataclasses.is_dataclass(schema):
        return {f.name: hints[f.name] for f in dataclasses.fields(schema) if f.init}
    return hints


def check_table(raw: dict[str, Any], schema: Any, keep_unknown: bool = False,
                ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Each declared key structured on its own type; returns (good values, [(key, reason)]).

    A value of the wrong kind is left out (its default applies); a missing required key
    (TypedDict `Required`) is reported; unknown keys are reported and left out, or kept
    untouched with `keep_unknown` (settings of a newer version, say).
    """
    declared = fields_of(schema)
    required: frozenset[str] = getattr(schema, "__required_keys__", frozenset()) if (
        typing.is_typeddict(schema)) else frozenset()
    good: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, text in zip([k for k in raw if k not in declared], unknown(
            [k for k in raw if k not in declared], declared), strict=True):
        problems.append((key, text))
        if keep_unknown:
            good[key] = raw[key]
    for key, t in declared.items():
        if key not in raw:
            if key in required:
                problems.append((key, f"`{key}` is missing"))
            continue
        value, reason = structure(raw[key], t)
        if reason is None:
            good[key] = value
        else:
            problems.append((key, f"`{key}` is left out: {reason}"))
    return good, problems
