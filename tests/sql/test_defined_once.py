"""Every function (by name and argument types), table, view, index, trigger, policy and type is created in one schema file, once."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from backend.migrate import SCHEMAS_DIR

_IDENT = r'(?:"[^"]+"|[\w$]+)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})?"
_CREATE = re.compile(
    r"\bcreate\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unlogged|materialized|unique|constraint)\s+)*"
    rf"(function|procedure|table|view|index|trigger|policy|type)\s+(?:concurrently\s+)?(?:if\s+not\s+exists\s+)?"
    rf"({_NAME})",
    re.IGNORECASE,
)
# Argument types as Postgres identifies a function (names, defaults and IN dropped), so that an
# overload is a different function and `create or replace` of the same signature is caught.
_TYPE_ALIASES = {"timestamptz": "timestamp with time zone", "int": "integer", "int4": "integer", "bool": "boolean"}


def strip_sql(text: str) -> str:
    """The SQL without comments, string literals and dollar-quoted bodies (a body may create
    nothing that lives on: a DO block's dynamic SQL is the only exception, and it is visible)."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            i = text.find("*/", i) + 2
        elif text[i] == "'":
            j = i + 1
            while True:
                j = text.find("'", j)
                if text.startswith("''", j):
                    j += 2
                    continue
                break
            out.append("''")
            i = j + 1
        elif m := re.match(r"\$\w*\$", text[i:]):
            tag = m.group(0)
            j = text.find(tag, i + len(tag))
            out.append("$$ $$")
            i = j + len(tag)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _signature(after_name: str) -> str:
    depth, args = 0, ""
    for ch in after_name:
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                break
        args += ch
    types = []
    for arg in filter(None, (a.strip() for a in re.split(r",(?![^(]*\))", args))):
        arg = re.split(r"\s+default\s+|\s*=\s*", arg, flags=re.IGNORECASE)[0]
        words = arg.split()
        if words and words[0].lower() in ("in", "out", "inout", "variadic"):
            words = words[1:]
        if len(words) > 1 and not words[0].lower().startswith(("timestamp", "double", "character")):
            words = words[1:]  # the argument's name
        t = " ".join(words).lower()
        types.append(_TYPE_ALIASES.get(t, t))
    return "(" + ", ".join(types) + ")"


def definitions(paths: list[Path]) -> dict[str, list[str]]:
    """object -> the places (file:line) that create it."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        text = strip_sql(path.read_text(encoding="utf-8"))
        for m in _CREATE.finditer(text):
            kind, name = m.group(1).lower(), re.sub(r"\s+", "", m.group(2)).lower()
            rest = text[m.end() : m.end() + 2000]
            if kind in ("function", "procedure"):
                name += _signature(rest)
            elif kind in ("trigger", "policy", "index"):
                on = re.match(rf"(?s).*?\bon\s+({_NAME})", rest)
                name += " on " + (on.group(1).lower() if on else "?")
            line = text.count("\n", 0, m.start()) + 1
            found[f"{kind} {name}"].append(f"{path.name}:{line}")
    return found


def test_nothing_is_created_twice_in_the_schema():
    paths = sorted(SCHEMAS_DIR.glob("*.sql"))
    found = definitions(paths)
    assert len(found) > 150, "the parser found too little: is the schema where it should be?"
    twice = {obj: places for obj, places in found.items() if len(places) > 1}
    assert not twice, "each object is written once, where its capability lives:\n" + "\n".join(
        f"  {obj}: {', '.join(places)}" for obj, places in sorted(twice.items())
    )


def test_the_parser_sees_a_second_definition(tmp_path):
    # The check above must be able to fail: the same function again elsewhere, with other spacing
    # and argument names, is found.
    (tmp_path / "a.sql").write_text("create or replace function kanta.card_extras(p_member_id uuid)\nreturns jsonb")
    (tmp_path / "b.sql").write_text("-- a comment\ncreate function KANTA.card_extras( p_other  uuid )")
    (tmp_path / "c.sql").write_text("create function kanta.card_extras(p_member_id uuid, p_at timestamptz)")
    found = definitions(sorted(tmp_path.glob("*.sql")))
    assert found["function kanta.card_extras(uuid)"] == ["a.sql:1", "b.sql:2"]
    assert found["function kanta.card_extras(uuid, timestamp with time zone)"] == ["c.sql:1"]
