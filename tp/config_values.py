"""Build validated dataclasses from plain mappings (YAML, JSON, overrides): types checked, unknown keys named."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from tp.errors import ConfigError


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check `value` against a type hint (str, int, float, bool, list[str], X | None, dataclass)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(option for option in options if option is not type(None))
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise ConfigError(f"`{where}` should be a mapping, got {value!r}.")
        return build_dataclass(hint, value, where)
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"`{where}` should be a list of strings, got {value!r}.")
        return list(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"`{where}` should be true or false, got {value!r}.")
        return value
    if hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:  # YAML 1.1 reads `5e-5` (no dot) as a string: accept the scientific notation people write
            return float(value)
        except ValueError:
            pass
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint is str and isinstance(value, str):
        return value
    raise ConfigError(f"`{where}` should be of type {getattr(hint, '__name__', hint)}, got {value!r}.")


def build_dataclass(cls: type, values: dict[str, Any], where: str = "") -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys by name."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"Unknown key `{prefix}{unknown[0]}`. Known keys here: {', '.join(sorted(known))}."
        )
    kwargs = {key: _coerce(value, hints[key], f"{where}.{key}" if where else key)
              for key, value in values.items()}
    return cls(**kwargs)
