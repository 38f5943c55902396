"""A small validator for PVE's JSONSchema dialect, and access to the shared contract files.

PVE's schema (pve-docs `apidata.js`) is not JSON Schema: `optional: 1` marks optional
properties (everything else is required), booleans are 0/1 integers on the wire,
`additionalProperties` defaults to "allowed" for return values (the schema often lists only
some of what a handler returns), and keys like `net[n]` stand for `net0`, `net1`, ...
Property strings (`format: {"property-string": {...}}`) are checked key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED_PVE

Schema = Mapping[str, Any]

# PVE::JSONSchema::parse_boolean accepts these words inside property strings.
_PS_BOOL_WORDS = {"0", "1", "on", "off", "yes", "no", "true", "false"}
_INT_TEXT = re.compile(r"^[+-]?\d+$")
_NUM_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def require_shared(*parts: str) -> Path:
    """The path of a contract file, skipping the calling test when the contract is absent."""
    path = SHARED_PVE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"PVE contract not available ({path})")
    return path


@cache
def _schema_file() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(require_shared("schema-subset.json").read_text("utf-8"))
    return data


def schema_endpoints() -> dict[tuple[str, str], dict[str, Any]]:
    """Every documented endpoint (`endpoints`, `extras`, `operations`) by (method, path)."""
    data = _schema_file()
    everything = [*data["endpoints"], *data["extras"], *data.get("operations", [])]
    return {(e["method"], e["path"]): e for e in everything}


def load_response(name: str) -> Any:
    """A captured response body (envelope included) from the shared `responses/` folder."""
    return json.loads(require_shared("responses", name).read_text("utf-8"))


def load_ops_response(name: str) -> Any:
    """An operations example (snapshots, backups, storage) from `ops-responses/`."""
    return json.loads(require_shared("ops-responses", name).read_text("utf-8"))


def _kind_ok(value: Any, type_: str) -> bool:
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_ == "boolean":
        # 0/1 integers only: PVE never sends JSON true/false for schema booleans.
        return isinstance(value, int) and not isinstance(value, bool) and value in (0, 1)
    if type_ == "array":
        return isinstance(value, list)
    if type_ == "object":
        return isinstance(value, dict)
    if type_ == "null":
        return value is None
    raise ValueError(f"unknown PVE schema type {type_!r}")


def _limit(schema: Schema, key: str) -> float | None:
    # The schema sometimes spells limits as strings ("minimum": "0").
    raw = schema.get(key)
    return None if raw is None else float(raw)


def _property_schema(properties: Mapping[str, Any], key: str) -> Schema | None:
    """`net0` is described by `net[n]`; everything else by its own name."""
    if key in properties:
        return properties[key]  # type: ignore[no-any-return]
    match = re.fullmatch(r"([a-z_\-]+?)(\d+)", key)
    if match and f"{match.group(1)}[n]" in properties:
        return properties[f"{match.group(1)}[n]"]  # type: ignore[no-any-return]
    return None


def validate(
    value: Any,
    schema: Schema,
    where: str = "data",
    *,
    numeric_strings: Collection[str] = (),
    _shape: str = "data",
) -> list[str]:
    """All ways `value` breaks `schema`, as readable lines; empty when it conforms.

    `numeric_strings` lists locations (array indices written as `[*]`, e.g. `data` or
    `data[*].vmid`) where PVE itself sends an integer/number as a string, so a numeric
    string is accepted there (docs/proxmox.md, Quirks: `/cluster/nextid` answers `"105"`).
    """
    errors: list[str] = []
    type_ = schema.get("type")
    if type_ is not None:
        ok = _kind_ok(value, type_)
        if (
            not ok
            and type_ in ("integer", "number")
            and _shape in numeric_strings
            and isinstance(value, str)
        ):
            ok = bool((_INT_TEXT if type_ == "integer" else _NUM_TEXT).match(value))
            value = float(value) if ok else value
        if not ok:
            shown = json.dumps(value)[:80]
            return [f"{where}: expected {type_}, got {type(value).__name__} {shown}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in enum {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = _limit(schema, "minimum"), _limit(schema, "maximum")
        if low is not None and value < low:
            errors.append(f"{where}: {value} is below the minimum {low:g}")
        if high is not None and value > high:
            errors.append(f"{where}: {value} is above the maximum {high:g}")
    if isinstance(value, str):
        errors += _check_string(value, schema, where)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += validate(
                item,
                schema["items"],
                f"{where}[{index}]",
                numeric_strings=numeric_strings,
                _shape=f"{_shape}[*]",
            )
    if isinstance(value, dict):
        errors += _check_object(value, schema, where, numeric_strings, _shape)
    return errors


def _check_string(value: str, schema: Schema, where: str) -> list[str]:
    errors: list[str] = []
    max_length = schema.get("maxLength")
    if max_length is not None and len(value) > int(max_length):
        errors.append(f"{where}: longer than maxLength {max_length}")
    pattern = schema.get("pattern")
    # PVE anchors patterns; Perl-only syntax such as `(?^:...)` is not checked here.
    if pattern and not pattern.startswith("(?^") and not re.fullmatch(pattern, value):
        errors.append(f"{where}: {value!r} does not match /{pattern}/")
    fmt = schema.get("format")
    if isinstance(fmt, Mapping) and "property-string" in fmt:
        errors += _check_property_string(value, fmt["property-string"], where)
    return errors


def _check_object(
    value: dict[str, Any],
    schema: Schema,
    where: str,
    numeric_strings: Collection[str],
    shape: str,
) -> list[str]:
    errors: list[str] = []
    properties: Mapping[str, Any] = schema.get("properties") or {}
    for name, prop in properties.items():
        if "[n]" in name or prop.get("optional"):
            continue
        if name not in value:
            errors.append(f"{where}: required property {name!r} is missing")
    extra = schema.get("additionalProperties", 1)
    for key, item in value.items():
        prop = _property_schema(properties, key)
        if prop is None:
            if isinstance(extra, Mapping):
                prop = extra
            elif not extra:
                errors.append(f"{where}: property {key!r} is not allowed")
                continue
            else:
                continue  # PVE's return schemas routinely list only some properties
        errors += validate(
            item,
            prop,
            f"{where}.{key}",
            numeric_strings=numeric_strings,
            _shape=f"{shape}.{key}",
        )
    return errors


def _check_property_string(text: str, keys: Mapping[str, Any], where: str) -> list[str]:
    """`key=value,...` with an optional leading default-key value, as PVE parses it.

    Required sub-keys are not enforced: qemu's `net[n]` satisfies its required `model`
    through model-named alias keys (`virtio=MAC`), which only qemu-server's parser knows.
    """
    errors: list[str] = []
    default_key = next((k for k, v in keys.items() if v.get("default_key")), None)
    for part in text.split(","):
        if not part:
            continue
        key, sep, raw = part.partition("=")
        if not sep:
            key, raw = default_key or "", part
            if not key:
                errors.append(f"{where}: {part!r} has no key and the format has no default key")
                continue
        sub = keys.get(key)
        if sub is None:
            errors.append(f"{where}: unknown property-string key {key!r} in {text!r}")
            continue
        if sub.get("alias"):
            sub = keys.get(sub["alias"], {})
        sub_type = sub.get("type")
        bad = (
            (sub_type == "boolean" and raw.lower() not in _PS_BOOL_WORDS)
            or (sub_type == "integer" and not _INT_TEXT.match(raw))
            or (sub_type == "number" and not _NUM_TEXT.match(raw))
            or ("enum" in sub and raw not in sub["enum"])
        )
        if bad:
            errors.append(f"{where}: {key}={raw!r} is not a valid {sub_type} in {text!r}")
    return errors
