"""Parsing of loader and system config values, which arrive as strings from CLI spec strings.

``dns:root=/x,subset=no_reverb+with_reverb`` cannot use commas inside a value (they separate
keys), so lists are written with ``+`` or ``|``; YAML configs may use real lists and mappings.
"""

from __future__ import annotations

from typing import Any

from bench.errors import ConfigError

def as_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"config '{key}': expected an integer, got {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(f"config '{key}': expected an integer, got {value!r}") from None


def as_float(value: Any, key: str) -> float:
    try:
        return float(str(value).strip())
    except ValueError:
        raise ConfigError(f"config '{key}': expected a number, got {value!r}") from None


def as_list(value: Any, key: str) -> list[str]:
    """A YAML list, or a string split on ``|`` or ``+`` (empty parts dropped)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    if isinstance(value, str):
        parts = value.replace("+", "|").split("|")
        return [p.strip() for p in parts if p.strip()]
    raise ConfigError(f"config '{key}': expected a list or a '|'-separated string, got {value!r}")


def as_mapping(value: Any, key: str) -> dict[str, str]:
    """A YAML mapping, or ``a:b|c:d`` from the command line (values may contain ``+``)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in str(value).split("|"))):
        src, sep, dst = part.partition(":")
        if not sep or not src.strip() or not dst.strip():
            raise ConfigError(f"config '{key}': expected 'from:to|from:to', got {value!r}")
        out[src.strip()] = dst.strip()
    return out


def numeric(text: str) -> Any:
    """'5' -> 5, '-2.5' -> -2.5, anything else unchanged: meta values parsed from names and CSVs."""
    for cast in (int, float):
        try:
            return cast(text)
        except (TypeError, ValueError):
            continue
    return text
