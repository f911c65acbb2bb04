"""PromQL tokens: numbers, durations, strings, identifiers, keywords and operators."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import DURATION_RE, PromQLError, parse_duration, quote


@dataclass(frozen=True)
class Token:
    kind: str  # NUMBER DURATION STRING IDENT EOF, a lower-case keyword, or the operator itself
    text: str
    pos: int
    number: float = 0.0


KEYWORDS = {
    "and",
    "or",
    "unless",
    "atan2",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
}
_OPERATORS_2 = ("==", "!=", "<=", ">=", "=~", "!~")
_OPERATORS_1 = "+-*/%^<>=(){}[],:@"
_NUMBER_RE = re.compile(r"0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DURATION_TOKEN_RE = re.compile(r"(?:\d+(?:ms|[smhdwy]))+")
_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
}


def lex(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(query)
    brace_depth = 0
    bracket_depth = 0
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c == "#":
            end = query.find("\n", i)
            i = n if end < 0 else end
            continue
        if c.isdigit() or (c == "." and i + 1 < n and query[i + 1].isdigit()):
            duration = _DURATION_TOKEN_RE.match(query, i)
            if duration and not _continues_word(query, duration.end()):
                text = duration.group()
                if not DURATION_RE.fullmatch(text):
                    raise PromQLError(f"not a valid duration string: {quote(text)}", i, query)
                tokens.append(Token("DURATION", text, i, float(parse_duration(text))))
                i = duration.end()
                continue
            number = _NUMBER_RE.match(query, i)
            if number is None or _continues_word(query, number.end()):
                raise PromQLError("bad number or duration syntax", i, query)
            text = number.group()
            value = float(int(text, 16)) if text[:2] in ("0x", "0X") else float(text)
            tokens.append(Token("NUMBER", text, i, value))
            i = number.end()
            continue
        if c.isalpha() or c == "_" or (c == ":" and brace_depth == 0 and bracket_depth == 0):
            j = i + 1
            in_selector = brace_depth > 0 or bracket_depth > 0
            while j < n and (
                query[j].isalnum() or query[j] == "_" or (query[j] == ":" and not in_selector)
            ):
                j += 1
            word = query[i:j]
            if not word.isascii():
                raise PromQLError(f"unexpected character in identifier {quote(word)}", i, query)
            lower = word.lower()
            if brace_depth > 0:
                tokens.append(Token("IDENT", word, i))
            elif lower in ("inf", "nan"):
                tokens.append(Token("NUMBER", word, i, float(lower)))
            elif lower in KEYWORDS:
                tokens.append(Token(lower, word, i))
            else:
                tokens.append(Token("IDENT", word, i))
            i = j
            continue
        if c in "\"'`":
            string, end = _lex_string(query, i)
            tokens.append(Token("STRING", string, i))
            i = end
            continue
        two = query[i : i + 2]
        if two in _OPERATORS_2:
            tokens.append(Token(two, two, i))
            i += 2
            continue
        if c in _OPERATORS_1:
            if c == "{":
                brace_depth += 1
            elif c == "}":
                brace_depth = max(0, brace_depth - 1)
            elif c == "[":
                bracket_depth += 1
            elif c == "]":
                bracket_depth = max(0, bracket_depth - 1)
            tokens.append(Token(c, c, i))
            i += 1
            continue
        raise PromQLError(f"unexpected character: {quote(c)}", i, query)
    tokens.append(Token("EOF", "", n))
    return tokens


def _continues_word(query: str, index: int) -> bool:
    return index < len(query) and (query[index].isalnum() or query[index] in "_.")


def _lex_string(query: str, start: int) -> tuple[str, int]:
    quote = query[start]
    i = start + 1
    n = len(query)
    if quote == "`":
        end = query.find("`", i)
        if end < 0:
            raise PromQLError("unterminated raw string", start, query)
        return query[i:end], end + 1
    out: list[str] = []
    while i < n:
        c = query[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n":
            break
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            break
        e = query[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e == quote:
            out.append(e)
            i += 2
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = query[i + 2 : i + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise PromQLError(f"invalid escape sequence \\{e}{digits}", i, query)
            code = int(digits, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise PromQLError(f"escape sequence \\{e}{digits} is not a valid code point", i)
            out.append(chr(code))
            i += 2 + width
        elif e in "01234567":
            digits = query[i + 1 : i + 4]
            if len(digits) != 3 or not all(d in "01234567" for d in digits) or int(digits, 8) > 255:
                raise PromQLError(f"invalid octal escape sequence \\{digits}", i, query)
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise PromQLError(f"unknown escape sequence \\{e}", i, query)
    raise PromQLError("unterminated quoted string", start, query)
