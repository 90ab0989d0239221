"""Frozen config dataclasses from parsed YAML: nested sections, strict keys, checked scalar types.

Shared by the model presets (model/config.py) and the training stages (train/config.py), so
both refuse a typo'd key or a wrongly typed value with the same kind of message.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any


def plain(value):
    """Tuples -> lists, recursively: what yaml.safe_dump and json accept."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _section_type(hint) -> type | None:
    """The dataclass a field holds (``Section`` or ``Section | None``), else None."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    return next((option for option in options if dataclasses.is_dataclass(option)), None)


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def build_dataclass(cls, values: Any, where: str, error: type[Exception] = ValueError):
    """Instantiate ``cls`` from a mapping, recursing into dataclass-typed fields.

    Unknown keys are an error; lists become tuples; a field with a bool, int or float default
    must get a value of that kind (an int is accepted for a float). Raises ``error``.
    """
    label = where or cls.__name__
    if not isinstance(values, dict):
        raise error(f"{label}: expected a mapping, got {values!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise error(f"{label}: unknown key(s) {', '.join(unknown)} (known: {', '.join(known)})")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        inner = f"{where}.{name}" if where else name
        section, default = _section_type(hints[name]), _default(known[name])
        if section is not None and value is not None:
            value = build_dataclass(section, value, inner, error)
        elif isinstance(value, list):
            value = tuple(value)
        elif isinstance(default, bool) or isinstance(value, bool):
            if isinstance(default, bool) != isinstance(value, bool) and default is not dataclasses.MISSING:
                raise error(f"{inner}: expected {type(default).__name__}, got {value!r}")
        elif isinstance(default, int) and not isinstance(value, int):
            raise error(f"{inner}: expected int, got {value!r}")
        elif isinstance(default, float):
            if not isinstance(value, (int, float)):
                raise error(f"{inner}: expected float, got {value!r}")
            value = float(value)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required key is missing
        raise error(f"{label}: {exc}") from None
