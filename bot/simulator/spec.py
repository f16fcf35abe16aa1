"""The Bot API spec subset shipped in ``botapi_spec.json``, and checks against it.

Two directions:

* :func:`validate_object` / :func:`object_problems` check an object the simulator *sends*
  (strict: required fields, field types, no fields the spec does not know, fixed
  discriminators such as ``MessageOriginUser.type == "user"``).
* :func:`decode_params` decodes and checks the parameters a client *sends* (form strings,
  JSON text for objects, files), raising :class:`BadRequest` with Telegram's wording.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).with_name("botapi_spec.json")
PRIMITIVES = frozenset({"Integer", "String", "Boolean", "Float", "InputFile"})
_ARRAY = "Array of "
_ALWAYS = re.compile(r'always [“"]([^”"]+)[”"]|must be ([a-z_]+)')
_QUOTED = re.compile(r'[“"]([a-z_]+)[”"]')


class SpecViolation(ValueError):
    """An object the simulator produced does not match the spec."""


class BadRequest(Exception):
    """A request Telegram would refuse; ``description`` is Telegram's text."""

    def __init__(self, description: str, error_code: int = 400,
                 parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.error_code = error_code
        self.parameters = parameters  # ResponseParameters, e.g. migrate_to_chat_id


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


@functools.cache
def load_spec() -> dict[str, Any]:
    """Load the shipped spec subset (once)."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def spec_version() -> str:
    """Bot API version the shipped spec describes, e.g. "Bot API 10.1"."""
    return str(load_spec().get("version", "?"))


def method_names() -> frozenset[str]:
    """Names of the methods the shipped spec describes."""
    return frozenset(load_spec()["methods"])


def method_fields(method: str) -> list[dict[str, Any]]:
    """Parameter descriptions of ``method``."""
    fields: list[dict[str, Any]] = load_spec()["methods"][method].get("fields", [])
    return fields


def method_returns(method: str) -> list[str]:
    """Type expressions the method may return."""
    returns: list[str] = load_spec()["methods"][method]["returns"]
    return returns


@functools.cache
def _fixed_values(type_name: str) -> dict[str, frozenset[str]]:
    """Allowed values of discriminator/enum string fields of a type, from their descriptions."""
    out: dict[str, frozenset[str]] = {}
    for field in load_spec()["types"][type_name].get("fields", []):
        if field["types"] != ["String"]:
            continue
        description = field.get("description", "")
        if field["name"] in ("type", "status", "source"):
            match = _ALWAYS.search(description)
            if match:
                out[field["name"]] = frozenset({match.group(1) or match.group(2)})
                continue
        if field["name"] in ("type", "status") and "can be " in description:
            values = _QUOTED.findall(description.split("can be ", 1)[1])
            if values:
                out[field["name"]] = frozenset(values)
    return out


def object_problems(type_expr: str, value: Any, path: str = "") -> list[str]:
    """Every way ``value`` departs from the spec type ``type_expr`` (empty when valid)."""
    here = path or type_expr
    if type_expr.startswith(_ARRAY):
        if not isinstance(value, list):
            return [f"{here}: expected an array, got {type(value).__name__}"]
        inner = type_expr[len(_ARRAY) :]
        problems: list[str] = []
        for i, item in enumerate(value):
            problems.extend(object_problems(inner, item, f"{here}[{i}]"))
        return problems
    if type_expr in ("Integer", "String", "Boolean", "Float", "InputFile"):
        return _primitive_problem(type_expr, value, here)
    types = load_spec()["types"]
    if type_expr not in types:
        return [f"{here}: unknown spec type {type_expr}"]
    entry = types[type_expr]
    if entry.get("subtypes"):
        attempts = [object_problems(sub, value, here) for sub in entry["subtypes"]]
        if any(not a for a in attempts):
            return []
        best = min(attempts, key=len)
        return [f"{here}: matches none of {type_expr}'s subtypes; nearest: {'; '.join(best)}"]
    if not isinstance(value, dict):
        return [f"{here}: expected {type_expr} object, got {type(value).__name__}"]
    fields = {f["name"]: f for f in entry.get("fields", [])}
    problems = []
    for name, field in fields.items():
        if field["required"] and name not in value:
            problems.append(f"{here}.{name}: required by {type_expr} but missing")
    for name, item in value.items():
        if name not in fields:
            if fields:  # types without fields (CallbackGame...) take anything
                problems.append(f"{here}.{name}: not a field of {type_expr}")
            continue
        problems.extend(_union_problems(fields[name]["types"], item, f"{here}.{name}"))
    for name, allowed in _fixed_values(type_expr).items():
        if name in value and isinstance(value[name], str) and value[name] not in allowed:
            problems.append(f"{here}.{name}: {value[name]!r} not one of {sorted(allowed)}")
    return problems


def _union_problems(type_exprs: list[str], value: Any, path: str) -> list[str]:
    attempts = [object_problems(t, value, path) for t in type_exprs]
    if any(not a for a in attempts):
        return []
    if len(attempts) == 1:
        return attempts[0]
    nearest = min(attempts, key=lambda a: len(a))
    return [f"{path}: not any of {' or '.join(type_exprs)}: {'; '.join(nearest)}"]


def _primitive_problem(type_name: str, value: Any, path: str) -> list[str]:
    ok = {
        "Integer": isinstance(value, int) and not isinstance(value, bool),
        "String": isinstance(value, str),
        "Boolean": isinstance(value, bool),
        "Float": isinstance(value, int | float) and not isinstance(value, bool),
        "InputFile": isinstance(value, UploadedFile),
    }[type_name]
    return [] if ok else [f"{path}: expected {type_name}, got {type(value).__name__} {value!r}"]


def validate_object(type_name: str, obj: Any) -> None:
    """Raise :class:`SpecViolation` unless ``obj`` is a valid ``type_name`` (a spec type)."""
    problems = object_problems(type_name, obj)
    if problems:
        raise SpecViolation(f"invalid {type_name}: " + "; ".join(problems[:10]))


def validate_result(method: str, result: Any) -> None:
    """Raise :class:`SpecViolation` unless ``result`` is a valid return value of ``method``."""
    returns = method_returns(method)
    if any(not object_problems(t, result) for t in returns):
        return
    problems = min((object_problems(t, result) for t in returns), key=len)
    raise SpecViolation(f"invalid result of {method}: " + "; ".join(problems[:10]))


# --- decoding what clients send -------------------------------------------------------------

_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False}
_INT_TEXT = re.compile(r"-?\d+")


def decode_params(method: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Decode request parameters by the spec and check them; raise :class:`BadRequest`.

    ``raw`` holds form strings, :class:`UploadedFile` parts or (for JSON bodies) JSON values.
    Unknown parameters are dropped, as Telegram ignores them.
    """
    out: dict[str, Any] = {}
    for field in method_fields(method):
        name = field["name"]
        value = raw.get(name)
        if value is None or (value == "" and field["types"] != ["String"]):
            if field["required"]:
                raise BadRequest(_missing_text(method, name))
            continue
        out[name] = decode_value(name, field["types"], value, raw)
    return out


def _missing_text(method: str, name: str) -> str:
    if name == "chat_id":
        return "Bad Request: chat_id is empty"
    if name == "text" and method == "sendMessage":
        return "Bad Request: message text is empty"
    return f'Bad Request: parameter "{name}" is required'


def decode_value(name: str, type_exprs: list[str], value: Any, raw: dict[str, Any]) -> Any:
    """Decode one top-level parameter whose spec types are ``type_exprs``."""
    if isinstance(value, UploadedFile):
        if "InputFile" in type_exprs:
            return value
        raise BadRequest(f'Bad Request: field "{name}" must be of type {_or(type_exprs)}')
    if isinstance(value, str) and "InputFile" in type_exprs and value.startswith("attach://"):
        attached = raw.get(value[len("attach://") :])
        if isinstance(attached, UploadedFile):
            return attached
        raise BadRequest(f"Bad Request: file {value} not found in the request")
    scalars = [t for t in type_exprs if t in PRIMITIVES and t != "InputFile"]
    for t in scalars:
        decoded = _decode_scalar(t, value)
        if decoded is not _NO:
            return decoded
    objects = [t for t in type_exprs if t not in PRIMITIVES]
    if objects:
        parsed = value
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                raise BadRequest(_unparsable(name)) from None
        attempts = [(t, input_problems(t, parsed, name)) for t in objects]
        for _t, problems in attempts:
            if not problems:
                return parsed
        _t, problems = min(attempts, key=lambda a: len(a[1]))
        raise BadRequest(f"{_unparsable(name)}: {problems[0]}")
    raise BadRequest(f'Bad Request: field "{name}" must be of type {_or(type_exprs)}')


_NO = object()


def _decode_scalar(type_name: str, value: Any) -> Any:
    if isinstance(value, str):
        if type_name == "String":
            return value
        if type_name == "Integer":
            return int(value) if _INT_TEXT.fullmatch(value.strip()) else _NO
        if type_name == "Boolean":
            return _BOOL_TEXT.get(value.strip().lower(), _NO)
        if type_name == "Float":
            try:
                return float(value)
            except ValueError:
                return _NO
        return _NO
    return value if not _primitive_problem(type_name, value, "") else _NO


def _or(type_exprs: list[str]) -> str:
    return " or ".join(type_exprs)


def _unparsable(name: str) -> str:
    if name == "reply_markup":
        return "Bad Request: can't parse reply keyboard markup JSON object"
    if name in ("entities", "caption_entities"):
        return "Bad Request: can't parse entities JSON object"
    return f"Bad Request: can't parse {name} JSON object"


def input_problems(type_expr: str, value: Any, path: str) -> list[str]:
    """Like :func:`object_problems` for client input: unknown fields are ignored."""
    if type_expr.startswith(_ARRAY):
        if not isinstance(value, list):
            return [f"{path}: expected an array"]
        inner = type_expr[len(_ARRAY) :]
        problems: list[str] = []
        for i, item in enumerate(value):
            problems.extend(input_problems(inner, item, f"{path}[{i}]"))
        return problems
    if type_expr in PRIMITIVES:
        return _primitive_problem(type_expr, value, path)
    entry = load_spec()["types"].get(type_expr)
    if entry is None:
        return [f"{path}: unknown spec type {type_expr}"]
    if entry.get("subtypes"):
        attempts = [input_problems(sub, value, path) for sub in entry["subtypes"]]
        return [] if any(not a for a in attempts) else min(attempts, key=len)
    if not isinstance(value, dict):
        return [f"{path}: expected {type_expr} object"]
    problems = []
    for field in entry.get("fields", []):
        name = field["name"]
        if name not in value:
            if field["required"]:
                problems.append(f'field "{name}" is required in {type_expr} ({path})')
            continue
        attempts = [input_problems(t, value[name], f"{path}.{name}") for t in field["types"]]
        if all(attempts):
            problems.append(min(attempts, key=len)[0])
    for name, allowed in _fixed_values(type_expr).items():
        if isinstance(value.get(name), str) and value[name] not in allowed:
            problems.append(f"{path}.{name}: {value[name]!r} not one of {sorted(allowed)}")
    return problems
