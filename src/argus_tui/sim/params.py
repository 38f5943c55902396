"""Parameter declarations and PVE-style validation for simulator routes.

Each route declares its parameters in a compact form, one word per parameter:

    name:type[?][(a|b|c)][>=min][<=max][@format][=default]

`type` is str, int, num, bool or array (of strings); `?` marks an optional parameter.
On a string `<=N` is the schema's `maxLength`, and `@format` one of the PVE formats in
`FORMATS` (e.g. `snapname:str<=40@pve-configid`). Validation answers exactly as
`PVE::JSONSchema` does: a 400 whose `errors` object maps each bad parameter to PVE's
wording; a bad format comes before a bad length, as in `check_prop`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_WORD_RE = re.compile(
    r"^(?P<name>[A-Za-z0-9_\-]+):(?P<type>str|int|num|bool|array)(?P<opt>\?)?"
    r"(?:\((?P<enum>[^)]*)\))?(?:>=(?P<min>-?\d+))?(?:<=(?P<max>-?\d+))?"
    r"(?:@(?P<format>[a-z\-]+))?(?:=(?P<default>\S+))?$"
)
_TYPE_NAMES = {
    "str": "string",
    "int": "integer",
    "num": "number",
    "bool": "boolean",
    "array": "array",
}
_INT_RE = re.compile(r"^[+-]?\d+$")
_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_BOOL_WORDS = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "on": 1, "off": 0}
CONFIGID_RE = re.compile(r"^[a-z][a-z0-9_-]+$", re.IGNORECASE)
STORAGE_ID_RE = re.compile(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", re.IGNORECASE)
CONTENT_TYPES = ("images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import")


def _configid(value: str) -> str | None:
    return None if CONFIGID_RE.match(value) else f"invalid configuration ID '{value}'"


def _storage_id(value: str) -> str | None:
    ok = STORAGE_ID_RE.match(value)
    return None if ok else f"storage ID '{value}' contains illegal characters"


def _vmid_list(value: str) -> str | None:
    # pve-vmid-list: every item of the comma/space separated list is a pve-vmid.
    for item in split_list(value):
        if not re.match(r"^[1-9][0-9]{2,8}$", item):
            return "value does not look like a valid VM ID"
    return None


def _content(value: str) -> str | None:
    return None if value in CONTENT_TYPES else f"invalid content type '{value}'"


# The formats PVE registers (pve-common JSONSchema.pm, pve-storage) that routes use here:
# each returns the text PVE dies with, or None when the value is fine.
FORMATS: dict[str, Callable[[str], str | None]] = {
    "pve-configid": _configid,
    "pve-storage-id": _storage_id,
    "pve-vmid-list": _vmid_list,
    "pve-storage-content": _content,
}


def split_list(value: str) -> list[str]:
    """PVE::Tools::split_list: items separated by commas, semicolons or white space."""
    return [item for item in re.split(r"[\s,;\0]+", value) if item]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str  # PVE type name: string | integer | number | boolean | array
    optional: bool
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    default: str | None = None
    max_length: int | None = None
    format: str | None = None


def parse_spec(spec: str) -> dict[str, Param]:
    """Turn a route's compact parameter declaration into Param objects."""
    params: dict[str, Param] = {}
    for word in spec.split():
        match = _WORD_RE.match(word)
        if match is None:
            raise ValueError(f"bad parameter declaration {word!r}")
        enum = match.group("enum")
        type_ = _TYPE_NAMES[match.group("type")]
        top = int(match.group("max")) if match.group("max") else None
        fmt = match.group("format")
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"unknown format in {word!r}")
        params[match.group("name")] = Param(
            name=match.group("name"),
            type=type_,
            optional=bool(match.group("opt")),
            enum=tuple(enum.split("|")) if enum else None,
            minimum=int(match.group("min")) if match.group("min") else None,
            maximum=top if type_ != "string" else None,
            default=match.group("default"),
            max_length=top if type_ == "string" else None,
            format=fmt,
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
    elif param.type == "array":
        # A JSON body's list arrives NUL-separated; a form body keeps the key's last value.
        return raw.split("\0"), None
    else:
        return _string(param, raw)
    if param.minimum is not None and number < param.minimum:
        return None, f"value must have a minimum value of {param.minimum}"
    if param.maximum is not None and number > param.maximum:
        return None, f"value must have a maximum value of {param.maximum}"
    return number, None


def _string(param: Param, raw: str) -> tuple[Any, str | None]:
    if param.format is not None:
        problem = FORMATS[param.format](raw)
        if problem is not None:
            # check_format dies with a line ending in "\n"; check_prop prefixes it.
            return None, f"invalid format - {problem}\n"
    if param.max_length is not None and len(raw) > param.max_length:
        return None, f"value may only be {param.max_length} characters long"
    if param.enum is not None and raw not in param.enum:
        return None, (
            f"value '{raw}' does not have a value in the enumeration '{', '.join(param.enum)}'"
        )
    return raw, None
