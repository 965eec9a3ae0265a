"""The view contract is written once (src/lmscope/views/schemas): the Python validator and the
browser bundle's validator interpret it alike on the shared fixtures in contract_fixtures/.

valid/*.json are view data both must accept; invalid/*.json are {rule, errors, data}: both must
reject data with problems at exactly the paths in errors, in that order, and with the same
messages. The bundle is run with node (Node 20, as in CI: `make test` runs `make js-check`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from lmscope.views import contract
from lmscope.views.schema import KINDS, ViewDataError, problems, validate_view

HERE = Path(__file__).parent
FIXTURES = HERE / "contract_fixtures"
NODE_SCRIPT = HERE.parents[1] / "js" / "scripts" / "validate-views.mjs"
VALID = {p.stem: json.loads(p.read_text("utf-8")) for p in sorted((FIXTURES / "valid").glob("*.json"))}
INVALID = {p.stem: json.loads(p.read_text("utf-8")) for p in sorted((FIXTURES / "invalid").glob("*.json"))}

# Every keyword the two interpreters implement; a schema using another one would be ignored by them.
KEYWORDS = {"$schema", "$id", "$ref", "$defs", "title", "description", "type", "const", "enum", "minimum",
            "maximum", "minItems", "items", "properties", "required", "allOf", "if", "then",
            "x-length", "x-below", "x-index", "x-contiguous"}
CROSS_FIELD = {"x-length", "x-below", "x-index", "x-contiguous"}


def path_of(message: str) -> str:
    """The field a message is about: its first word, or "view data" for the view itself."""
    return "view data" if message.startswith("view data ") else message.split(" ", 1)[0]


@pytest.fixture(scope="module")
def bundle_problems() -> dict[str, list[str]]:
    """Every fixture's problems according to the committed bundle's validator."""
    node = shutil.which("node")
    assert node, "node (>= 20) is needed to run the bundle's validator; install Node.js"
    cases = {f"valid/{k}": v for k, v in VALID.items()} | {f"invalid/{k}": v["data"] for k, v in INVALID.items()}
    out = subprocess.run([node, str(NODE_SCRIPT)], input=json.dumps(cases), capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)


def test_there_are_fixtures_for_every_kind_and_every_cross_field_rule():
    for kind in KINDS:
        assert any(d["kind"] == kind for d in VALID.values()), f"no valid fixture of kind {kind}"
        assert any(isinstance(c["data"], dict) and c["data"].get("kind") == kind for c in INVALID.values()), kind
    rules = " ".join(c["rule"] for c in INVALID.values())
    for keyword in CROSS_FIELD:
        assert keyword in rules, f"no invalid fixture exercises {keyword}"


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_fixtures_pass_both_validators(name, bundle_problems):
    assert problems(VALID[name]) == []
    assert validate_view(VALID[name], digits=None) == VALID[name]
    assert bundle_problems[f"valid/{name}"] == []


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_fixtures_fail_both_validators_on_the_same_fields(name, bundle_problems):
    case = INVALID[name]
    python = problems(case["data"])
    assert [path_of(m) for m in python] == case["errors"], case["rule"]
    assert bundle_problems[f"invalid/{name}"] == python, "the bundle and Python disagree"
    with pytest.raises(ViewDataError) as err:
        validate_view(case["data"])
    assert err.value.problems == python


def walk(schema: object, where: str):
    """Yield (where, keyword) for every keyword of every (sub)schema in ``schema``."""
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        yield where, key
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                yield from walk(sub, f"{where}/{key}/{name}")
        elif key in ("items", "if", "then"):
            yield from walk(value, f"{where}/{key}")
        elif key == "allOf":
            for i, sub in enumerate(value):
                yield from walk(sub, f"{where}/allOf/{i}")


@pytest.mark.parametrize("name", contract.schema_names())
def test_schemas_use_only_the_interpreted_keywords_and_their_refs_resolve(name):
    schema = contract.load(name)
    unknown = {(w, k) for w, k in walk(schema, name) if k not in KEYWORDS}
    assert not unknown, f"keywords the validators do not implement: {sorted(unknown)}"
    for ref in contract.iter_refs(schema):
        contract.resolve(ref, name)
    for w, k in walk(schema, name):
        if k in ("x-length", "x-below"):
            node = schema
            for part in w.split("/")[1:]:
                node = node[part]
            target = node[k]
            assert target.startswith("/") and target.count("/") == 1, f"{w}: {k} must point at a top-level field"


def test_schemas_are_standard_json_schema_and_accept_the_valid_fixtures():
    """A standard 2020-12 validator (jsonschema, which nbformat brings) reads the files and the
    valid fixtures pass it (it skips the x- keywords), so the files are usable outside lmscope."""
    import jsonschema
    import referencing
    import referencing.jsonschema

    resources = [(n, referencing.Resource.from_contents(contract.load(n), referencing.jsonschema.DRAFT202012))
                 for n in contract.schema_names()]
    registry = referencing.Registry().with_resources(resources)
    for n in contract.schema_names():
        jsonschema.Draft202012Validator.check_schema(contract.load(n))
    validator = jsonschema.Draft202012Validator(contract.load(contract.ROOT), registry=registry)
    for name, data in VALID.items():
        assert not list(validator.iter_errors(data)), name
    bad = INVALID["saliency-variant-unknown"]["data"]
    assert list(validator.iter_errors(bad)), "the standard validator must see the schemas' own rules"


def test_numbers_in_messages_are_written_as_javascript_writes_them():
    """Both validators describe a bad value alike: Python writes numbers as JS's String(x)."""
    node = shutil.which("node")
    assert node, "node (>= 20) is needed"
    xs = [3, 3.0, -1.5, 0.1, 1 / 3, 1e21, 1e20, 123456789.125, 1e-7, 0.000001, 1.5e-10, -2.5e-7, 5e-05,
          1e16, 2**53 + 0.0, -0.0, 7e300]
    out = subprocess.run([node, "-e", "process.stdout.write(JSON.stringify(JSON.parse(process.argv[1]).map(String)))",
                          json.dumps(xs)], capture_output=True, text=True, check=True, timeout=60)
    assert [contract.js_number(x) for x in xs] == json.loads(out.stdout)
    assert [contract.js_number(x) for x in (float("nan"), float("inf"), -float("inf"))] == [
        "NaN", "Infinity", "-Infinity"]
