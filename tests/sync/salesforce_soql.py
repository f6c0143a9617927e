"""The SOQL the local Salesforce org answers: `SELECT f, ... FROM Object [WHERE c AND c ...]` with
conditions `field = literal` and `field IN (literal, ...)`. Anything else is a SoqlError (the org
answers 400 MALFORMED_QUERY), so a destination sending a query shape the contract does not cover
fails its tests rather than passing by luck.

String comparison is case-insensitive, as in SOQL; string literals take SOQL's backslash escapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<symbol>[(),=]))"
)
ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class SoqlError(ValueError):
    pass


@dataclass(frozen=True)
class Query:
    fields: list[str]
    object_type: str
    conditions: list[tuple[str, str, Any]]  # (field, "=" | "IN", value or list of values)

    def matches(self, row: dict[str, Any]) -> bool:
        for name, operator, value in self.conditions:
            have = _fold(row.get(name))
            wanted = [_fold(v) for v in value] if operator == "IN" else [_fold(value)]
            if have not in wanted:
                return False
        return True


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _tokens(soql: str) -> list[tuple[str, Any]]:
    tokens, position = [], 0
    while position < len(soql):
        if not soql[position:].strip():
            break
        match = TOKEN.match(soql, position)
        if not match:
            raise SoqlError(f"unexpected token at: {soql[position : position + 20]!r}")
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            value: Any = re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), text[1:-1])
        elif kind == "number":
            value = float(text) if "." in text else int(text)
        else:
            value = text
        tokens.append((kind, value))
        position = match.end()
    return tokens


def parse_soql(soql: str) -> Query:
    tokens = _tokens(soql)
    at = 0

    def take(kind: str | None = None, word: str | None = None) -> Any:
        nonlocal at
        if at >= len(tokens):
            raise SoqlError("unexpected end of query")
        got_kind, value = tokens[at]
        if (kind and got_kind != kind) or (word and (got_kind != "word" or value.upper() != word)):
            raise SoqlError(f"unexpected token: {value!r}")
        at += 1
        return value

    def peek_word(word: str) -> bool:
        return at < len(tokens) and tokens[at][0] == "word" and str(tokens[at][1]).upper() == word

    def literal() -> Any:
        kind, value = tokens[at] if at < len(tokens) else (None, None)
        if kind in ("string", "number"):
            return take()
        if kind == "word" and str(value).lower() in ("true", "false", "null"):
            take()
            return {"true": True, "false": False, "null": None}[str(value).lower()]
        raise SoqlError(f"expected a literal, got {value!r}")

    take("word", "SELECT")
    fields = [take("word")]
    while at < len(tokens) and tokens[at] == ("symbol", ","):
        take("symbol")
        fields.append(take("word"))
    take("word", "FROM")
    object_type = take("word")
    conditions: list[tuple[str, str, Any]] = []
    if peek_word("WHERE"):
        take()
        while True:
            name = take("word")
            if peek_word("IN"):
                take()
                if take("symbol") != "(":
                    raise SoqlError("expected '(' after IN")
                values = [literal()]
                while at < len(tokens) and tokens[at] == ("symbol", ","):
                    take("symbol")
                    values.append(literal())
                if take("symbol") != ")":
                    raise SoqlError("expected ')'")
                conditions.append((name, "IN", values))
            elif take("symbol") == "=":
                conditions.append((name, "=", literal()))
            else:
                raise SoqlError("expected '=' or IN")
            if not peek_word("AND"):
                break
            take()
    if at != len(tokens):
        raise SoqlError(f"unexpected token: {tokens[at][1]!r}")
    return Query(fields, object_type, conditions)
