"""Parameter declarations and PVE-style validation for simulator routes.

Each route declares its parameters in a compact form, one word per parameter:

    name:type[?][(a|b|c)][>=min][<=max][=default]

`type` is str, int, num or bool; `?` marks an optional parameter. Validation answers
exactly as `PVE::JSONSchema` does: a 400 whose `errors` object maps each bad parameter
to PVE's wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_WORD_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9_\-]+):(?P<type>str|int|num|bool)(?P<opt>\?)?"
    r"(?:\((?P<enum>[^)]*)\))?(?:>=(?P<min>-?\d+))?(?:<=(?P<max>-?\d+))?(?:=(?P<default>\S+))?$"
)
_TYPE_NAMES = {"str": "string", "int": "integer", "num": "number", "bool": "boolean"}
_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOL_WORDS = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "on": 1, "off": 0}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str  # PVE type name: string | integer | number | boolean
    optional: bool
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    default: str | None = None


def parse_spec(spec: str) -> dict[str, Param]:
    """Turn a route's compact parameter declaration into Param objects."""
    params: dict[str, Param] = {}
    for word in spec.split():
        match = _WORD_RE.match(word)
        if match is None:
            raise ValueError(f"bad parameter declaration {word!r}")
        enum = match.group("enum")
        params[match.group("name")] = Param(
            name=match.group("name"),
            type=_TYPE_NAMES[match.group("type")],
            optional=bool(match.group("opt")),
            enum=tuple(enum.split("|")) if enum else None,
            minimum=int(match.group("min")) if match.group("min") else None,
            maximum=int(match.group("max")) if match.group("max") else None,
            default=match.group("default"),
        )
    return params


def validate(
    params: dict[str, Param], given: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check and convert request parameters; returns (values, errors by parameter)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, raw in given.items():
        param = params.get(name)
        if param is None:
            errors[name] = (
                "property is not defined in schema and the schema does not allow additional"
                " properties"
            )
            continue
        value, error = _convert(param, raw)
        if error:
            errors[name] = error
        else:
            values[name] = value
    for name, param in params.items():
        if name not in given and not param.optional:
            errors[name] = "property is missing and it is not optional"
    return values, errors


def _convert(param: Param, raw: str) -> tuple[Any, str | None]:
    if param.type == "integer":
        if not _INT_RE.match(raw):
            return None, f"type check ('integer') failed - got '{raw}'"
        number: float = int(raw)
    elif param.type == "number":
        if not _NUM_RE.match(raw):
            return None, f"type check ('number') failed - got '{raw}'"
        number = float(raw)
    elif param.type == "boolean":
        flag = _BOOL_WORDS.get(raw.lower())
        if flag is None:
            return None, f"type check ('boolean') failed - got '{raw}'"
        return flag, None
    else:
        if param.enum is not None and raw not in param.enum:
            return None, (
                f"value '{raw}' does not have a value in the enumeration '{', '.join(param.enum)}'"
            )
        return raw, None
    if param.minimum is not None and number < param.minimum:
        return None, f"value must have a minimum value of {param.minimum}"
    if param.maximum is not None and number > param.maximum:
        return None, f"value must have a maximum value of {param.maximum}"
    return number, None
