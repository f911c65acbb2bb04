"""Label and field selectors with the real API's grammar and meaning (`!=` and `notin` also match
objects without the label; only the fields the real API indexes are accepted)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .resources import Resource


class SelectorError(ValueError):
    """A selector the API would reject with 400 Bad Request."""


_KEY = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_EQUALITY = re.compile(rf"\s*({_KEY})\s*(==|=|!=)\s*({_VALUE})\s*")
_SET = re.compile(rf"\s*({_KEY})\s+(in|notin)\s*\(([^()]*)\)\s*")
_EXISTS = re.compile(rf"\s*(!?)\s*({_KEY})\s*")
_ORDER = re.compile(rf"\s*({_KEY})\s*([<>])\s*(-?\d+)\s*")

Labels = Mapping[str, str]
Requirement = Callable[[Labels], bool]


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside `( )`."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _requirement(text: str) -> Requirement:
    if match := _SET.fullmatch(text):
        key, op = match[1], match[2]
        values = {v.strip() for v in match[3].split(",")}
        if not all(re.fullmatch(_VALUE, v) for v in values):
            raise SelectorError(f"unable to parse requirement: invalid value in {text.strip()!r}")
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if match := _EQUALITY.fullmatch(text):
        key, op, value = match[1], match[2], match[3]
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match := _ORDER.fullmatch(text):
        key, op, bound = match[1], match[2], int(match[3])

        def compare(labels: Labels) -> bool:
            try:
                number = int(labels[key])
            except (KeyError, ValueError):
                return False
            return number > bound if op == ">" else number < bound

        return compare
    if match := _EXISTS.fullmatch(text):
        negated, key = match[1] == "!", match[2]
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(
        f"unable to parse requirement: {text.strip()!r} (expected key, !key, key=value,"
        " key!=value, key in (a,b) or key notin (a,b))"
    )


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: Labels | None) -> bool:
        found = labels or {}
        return all(requirement(found) for requirement in self.requirements)


def parse_label_selector(text: str) -> LabelSelector:
    if not text.strip():
        return LabelSelector(())
    return LabelSelector(tuple(_requirement(part) for part in _split_top_level(text)))


# The API compares a field that is absent as Go's zero value of its type.
_ZERO_VALUES = {
    "spec.unschedulable": "false",
    "spec.hostNetwork": "false",
    "status.replicas": "0",
    "status.successful": "0",
}


def _field_value(obj: Mapping[str, Any], field: str) -> str:
    if field == "source":  # an Event's `source` selects on its reporting component
        value: Any = (obj.get("source") or {}).get("component") or obj.get("reportingComponent")
    else:
        value = obj
        for part in field.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if value is None:
        return _ZERO_VALUES.get(field, "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...]  # (field, equal?, value)

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((_field_value(obj, f) == value) == equal for f, equal, value in self.terms)


_FIELD_TERM = re.compile(r"\s*([A-Za-z][A-Za-z0-9.]*)\s*(==|=|!=)\s*(.*?)\s*")


def parse_field_selector(text: str, resource: Resource) -> FieldSelector:
    terms = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _FIELD_TERM.fullmatch(part)
        if match is None:
            raise SelectorError(
                f"invalid selector: {part.strip()!r}; expected field=value or field!=value"
            )
        field, op, value = match[1], match[2], match[3]
        if not resource.supports_field(field):
            supported = sorted({"metadata.name", "metadata.namespace", *resource.field_labels})
            raise SelectorError(
                f'field label not supported: {field} ("{resource.kind}" supports'
                f" {', '.join(supported)})"
            )
        terms.append((field, op != "!=", value))
    return FieldSelector(tuple(terms))
