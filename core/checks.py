"""Field checks shared by every typed config (``LLaMoConfig``, ``TrainConfig``, stages).

Each raises ``ValueError`` whose message starts with the field's name, so a bad YAML/JSON
key is found at once.
"""

from __future__ import annotations

import math
from dataclasses import fields


def check_keys(cls: type, data: object, where: str) -> None:
    """Raise unless ``data`` is a mapping whose keys are fields of the dataclass ``cls``."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; valid keys are {sorted(known)}")


def require_int(name: str, value: object, minimum: int) -> int:
    """``value`` if it is an integer (not a bool) >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return value


def require_number(
    name: str, value: object, *, low: float = 0.0, high: float = math.inf, low_open: bool = True,
    high_open: bool = True,
) -> float:  # fmt: skip
    """``float(value)`` if it is a finite number in the interval (open ends by default)."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        if low == 0.0 and low_open and high == math.inf:
            raise ValueError(f"{name}: must be a positive number, got {value!r}")
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name}: must be a number in {lo}{low:g}, {high:g}{hi}, got {value!r}")
    return float(value)
