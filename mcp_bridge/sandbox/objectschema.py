"""Checks a scenario's Kubernetes object against the official client's schema (its generated
models list every field and its type), so a typo like `stauts` or `imagee` is an error."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from kubernetes import client as k8s

_LIST = re.compile(r"[Ll]ist\[(.+)\]")
_DICT = re.compile(r"[Dd]ict\(?\[?str, (.+?)[)\]]")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "datetime": (str,),
    "date": (str,),
    "bytes": (str,),  # base64 text on the wire (Secret data)
    "bytearray": (str,),
}
_SHOWN_KEYS = 40

Path_ = tuple[str | int, ...]


@cache
def _fields(model: str) -> tuple[dict[str, str], str]:
    """JSON key -> type name for a generated model, and its readable name (`Container`)."""
    cls = getattr(k8s, model)
    fields = {cls.attribute_map[attr]: kind for attr, kind in cls.openapi_types.items()}
    return fields, re.sub(r"^(CoreV1|V\d+(?:alpha\d+|beta\d+)?)", "", model)


def _type_word(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    return repr(value)


def schema_problem(value: Any, model: str, path: Path_ = ()) -> tuple[Path_, str] | None:
    """The first place where `value` does not fit `model` (a type name such as `V1Pod`,
    `List[V1Container]` or `str`), with what was expected there; None when it fits."""
    if value is None or model == "object":
        return None
    if match := _LIST.fullmatch(model):
        if not isinstance(value, list):
            return path, f"expected a list, got {_type_word(value)}"
        for index, item in enumerate(value):
            found = schema_problem(item, match[1], (*path, index))
            if found:
                return found
        return None
    if match := _DICT.fullmatch(model):
        if not isinstance(value, dict):
            return path, f"expected a mapping, got {_type_word(value)}"
        for key, item in value.items():
            found = schema_problem(item, match[1], (*path, str(key)))
            if found:
                return found
        return None
    if model in _PRIMITIVES:
        wanted = _PRIMITIVES[model]
        if not isinstance(value, wanted) or (bool not in wanted and isinstance(value, bool)):
            word = {"str": "a string (quote it)", "datetime": "a time"}.get(model, f"a {model}")
            return path, f"expected {word}, got {_type_word(value)}"
        return None
    if not hasattr(k8s, model):
        return None  # a type the client does not model: nothing to check against
    fields, readable = _fields(model)
    if not isinstance(value, dict):
        return path, f"expected a {readable} (a mapping), got {_type_word(value)}"
    for key, item in value.items():
        if key not in fields:
            known = sorted(fields)
            shown = ", ".join(known[:_SHOWN_KEYS]) + (", ..." if len(known) > _SHOWN_KEYS else "")
            return (*path, str(key)), f"unknown key {key!r}; a {readable} has: {shown}"
        found = schema_problem(item, fields[key], (*path, key))
        if found:
            return found
    return None
