"""An interpreter of the view schemas (``views/schemas/*.schema.json``), the one written contract.

The schemas are JSON Schema 2020-12. This module implements the subset they use, and
``js/src/validate.ts`` implements the same subset with the same messages, so a view that
passes here renders in the browser (``tests/views/test_contract_parity.py`` runs both on
``tests/views/contract_fixtures``). Keywords:

- ``$ref`` (a file name and/or a JSON pointer fragment), ``allOf``, ``if``/``then``;
- ``type`` (a name or a list; ``number`` means a finite number, ``integer`` includes 3.0),
  ``const``, ``enum``, ``minimum``, ``maximum``, ``minItems``, ``items``,
  ``properties`` (checked in the schema's order), ``required``;
- cross-field rules, which plain JSON Schema cannot say, as ``x-`` keywords whose value is
  a JSON pointer into the view (``"/tokens"``):

  - ``"x-length": "/tokens"``: the array has as many entries as the array at the pointer;
  - ``"x-below": "/tokens"``: the integer is less than that array's length;
  - ``"x-index": true``: the integer equals the index of the nearest enclosing array entry;
  - ``"x-contiguous": true``: equal entries of the array stand next to each other.

  A pointer whose target is not an array, or was itself reported as wrong, is skipped.

A value that fails its ``type``, ``const``, ``enum``, bounds or ``x-index`` gets one message
and is not looked into further; so does an array with the wrong ``x-length``. Otherwise
``$ref`` and ``allOf`` apply next, then the array or object keywords, then ``if``/``then``.
Problems are listed in the order met, at most ``MAX_ERRORS``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

MAX_ERRORS = 12
ROOT = "view.schema.json"

Schema = Mapping[str, Any]


@cache
def load(name: str) -> dict[str, Any]:
    """The schema file ``name`` of ``lmscope/views/schemas`` (cached)."""
    return json.loads(resources.files("lmscope.views").joinpath("schemas", name).read_text("utf-8"))


def schema_names() -> list[str]:
    """The file names of every schema (the root, one per view kind, and the shared parts)."""
    folder = resources.files("lmscope.views").joinpath("schemas")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".schema.json"))


def kinds() -> tuple[str, ...]:
    """The view kinds, in the order the root schema lists them."""
    return tuple(load(ROOT)["properties"]["kind"]["enum"])


def resolve(ref: str, base: str) -> tuple[Schema, str]:
    """The schema at ``ref`` (``file#/json/pointer``) read from file ``base``, and its file."""
    name, _, frag = ref.partition("#")
    name = name or base
    node: Any = load(name)
    for part in (p for p in frag.split("/") if p):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, name


def pointer(data: Any, ptr: str) -> Any:
    """The value at JSON pointer ``ptr`` in ``data``, or None if there is none."""
    node = data
    for part in (p for p in ptr.split("/") if p):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def pointer_path(ptr: str) -> str:
    """The message path of a JSON pointer: ``/a/0/b`` -> ``a[0].b``."""
    out = ""
    for part in (p for p in ptr.split("/") if p):
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def js_number(x: float) -> str:
    """``x`` written as JavaScript's ``String(x)`` writes it, so both validators say the same."""
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign, digits, exp = Decimal(repr(abs(x))).normalize().as_tuple()
    d = "".join(map(str, digits))
    k, n = len(d), exp + len(d)  # value = 0.d * 10**n
    s = "-" if x < 0 else ""
    if k <= n <= 21:
        return s + d + "0" * (n - k)
    if 0 < n <= 21:
        return s + d[:n] + "." + d[n:]
    if -6 < n <= 0:
        return s + "0." + "0" * -n + d
    e = n - 1
    return s + d[0] + ("." + d[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def describe(v: object) -> str:
    """A short description of a value for a message."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return js_number(v)
    if isinstance(v, str):
        return json.dumps(v if len(v) <= 40 else v[:40] + "\u2026", ensure_ascii=False)
    if isinstance(v, list):
        return f"a list of length {len(v)}"
    if isinstance(v, Mapping):
        return "an object"
    return f"a {type(v).__name__}"


def json_value(v: object) -> str:
    """A constant of the schema, as JSON."""
    return json.dumps(v, ensure_ascii=False)


def entries(n: int) -> str:
    """``n`` entries, in words."""
    return f"{n} entry" if n == 1 else f"{n} entries"


def is_type(v: object, t: str) -> bool:
    """Whether ``v`` is of JSON type ``t`` (``integer`` includes integral floats; numbers are finite)."""
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, Mapping)
    number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if t == "number":
        return number
    if t == "integer":
        return number and (isinstance(v, int) or float(v).is_integer())
    raise ValueError(f"the view schemas use a type this interpreter does not know: {t!r}")


LEAF_KEYS = {"type", "minimum", "maximum", "description"}


def leaf_test(s: Schema) -> Callable[[Any], bool] | None:
    """A fast yes/no test for a plain number, integer or string schema (the cells of a matrix), else None."""
    t = s.get("type")
    if not s.keys() <= LEAF_KEYS or t not in ("number", "integer", "string"):
        return None
    if t == "string":
        return lambda x: isinstance(x, str)
    lo, hi = s.get("minimum", -math.inf), s.get("maximum", math.inf)
    if t == "number":
        return lambda x: type(x) in (int, float) and -math.inf < x < math.inf and lo <= x <= hi
    return lambda x: (type(x) is int or (type(x) is float and x.is_integer())) and lo <= x <= hi


class Checker:
    """Walks one view against the schemas, collecting ``(path, message)`` problems."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.found: list[tuple[str, str]] = []
        self.failed: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self.found) >= MAX_ERRORS

    def add(self, path: str, msg: str) -> None:
        self.failed.add(path)
        if not self.full:
            self.found.append((path, f"{path or 'view data'} {msg}"))

    def length_of(self, ptr: str) -> int | None:
        """The length of the array at ``ptr``, or None when it cannot be used (absent, not an array, wrong)."""
        target = pointer(self.root, ptr)
        if not isinstance(target, list) or pointer_path(ptr) in self.failed:
            return None
        return len(target)

    def expected(self, s: Schema, base: str) -> str:
        """What ``s`` asks for, in words ("an integer in [0, 8]", "a list (one row per target)")."""
        while "$ref" in s and not ({"type", "const", "enum"} & s.keys()):
            s, base = resolve(s["$ref"], base)
        if "const" in s:
            return json_value(s["const"])
        if "enum" in s:
            return "one of " + ", ".join(json_value(v) for v in s["enum"])
        types = s.get("type", [])
        words = []
        for t in [types] if isinstance(types, str) else types:
            if t in ("integer", "number"):
                words.append(("an integer" if t == "integer" else "a number") + self.bounds(s))
            elif t == "array":
                words.append("a list" + (f" ({s['description']})" if "description" in s else ""))
            else:
                words.append({"string": "a string", "boolean": "true or false", "null": "null",
                              "object": "an object"}[t])
        return " or ".join(words) or "anything"

    def bounds(self, s: Schema) -> str:
        lo = s.get("minimum")
        hi = s.get("maximum")
        if "x-below" in s:
            n = self.length_of(s["x-below"])
            if n is not None:
                hi = n - 1 if hi is None else min(hi, n - 1)
        if lo is not None and hi is not None:
            return f" in [{js_number(lo)}, {js_number(hi)}]"
        if lo is not None:
            return f" >= {js_number(lo)}"
        return f" <= {js_number(hi)}" if hi is not None else ""

    def check(self, s: Schema, v: Any, path: str, base: str, index: int | None) -> None:
        """Check value ``v`` at ``path`` against schema ``s`` read from file ``base``."""
        if self.full or not self.scalar(s, v, path, base, index):
            return
        if "$ref" in s:
            sub, sub_base = resolve(s["$ref"], base)
            self.check(sub, v, path, sub_base, index)
        for sub in s.get("allOf", ()):
            self.check(sub, v, path, base, index)
        if isinstance(v, list):
            self.array(s, v, path, base)
        elif isinstance(v, Mapping):
            self.object(s, v, path, base, index)
        if "if" in s and "then" in s:
            trial = Checker(self.root)
            trial.check(s["if"], v, path, base, index)
            if not trial.found:
                self.check(s["then"], v, path, base, index)

    def scalar(self, s: Schema, v: Any, path: str, base: str, index: int | None) -> bool:
        """Type, const, enum and bounds; False (after one message) when ``v`` breaks one."""
        types = s.get("type")
        ok = True
        if types is not None:
            ok = any(is_type(v, t) for t in ([types] if isinstance(types, str) else types))
        if ok and "const" in s:
            ok = v == s["const"] and type(v) is type(s["const"])
        if ok and "enum" in s:
            ok = any(v == e and type(v) is type(e) for e in s["enum"])
        if ok and is_type(v, "number"):
            below = self.length_of(s["x-below"]) if "x-below" in s else None
            ok = (v >= s.get("minimum", -math.inf) and v <= s.get("maximum", math.inf)
                  and (below is None or v < below))
        if not ok:
            self.add(path, f"must be {self.expected(s, base)}, got {describe(v)}")
            return False
        if s.get("x-index") and index is not None and v != index:
            self.add(path, f"must be {index} (its index), got {describe(v)}")
            return False
        return True

    def array(self, s: Schema, v: list[Any], path: str, base: str) -> None:
        n = len(v)
        least = s.get("minItems", 0)
        if n < least:
            self.add(path, ("is empty" if n == 0 else f"has {entries(n)}")
                     + f"; expected at least {entries(least)}")
        if "x-length" in s:
            want = self.length_of(s["x-length"])
            if want is not None and n != want:
                self.add(path, f"has {entries(n)}; expected {want}, one per entry of {pointer_path(s['x-length'])}")
                return
        if "items" in s:
            fast = leaf_test(s["items"])
            for i, x in enumerate(v):
                if self.full:
                    return
                if fast is None or not fast(x):  # a fast pass needs no message; a failure gets the full check
                    self.check(s["items"], x, f"{path}[{i}]", base, i)
        if s.get("x-contiguous"):
            seen: set[Any] = set()
            for i, x in enumerate(v):
                if i > 0 and x == v[i - 1]:
                    continue
                if x in seen:
                    self.add(f"{path}[{i}]", f"is {describe(x)} again after other values; "
                             "equal entries must be contiguous (sort by them)")
                    return
                seen.add(x)

    def object(self, s: Schema, v: Mapping[str, Any], path: str, base: str, index: int | None) -> None:
        props = s.get("properties", {})
        required = s.get("required", ())
        for key, sub in props.items():
            where = f"{path}.{key}" if path else key
            if key in v:
                self.check(sub, v[key], where, base, index)
            elif key in required:
                self.add(where, f"is missing; expected {self.expected(sub, base)}")
        for key in required:
            if key not in props and key not in v:
                self.add(f"{path}.{key}" if path else key, "is missing")


def check(data: Any, schema: str = ROOT) -> list[tuple[str, str]]:
    """Every problem of plain JSON ``data`` against schema file ``schema``, as ``(path, message)`` pairs."""
    c = Checker(data)
    c.check(load(schema), data, "", schema, None)
    return c.found


def iter_refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` in a schema (to check that each resolves)."""
    if isinstance(node, Mapping):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for v in node.values():
            yield from iter_refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from iter_refs(v)
