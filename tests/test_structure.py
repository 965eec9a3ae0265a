"""The package's shape, read from its source: who may import whom, no private names across modules, small
modules, and public methods that show their parameters.

The import rules are checked with ``ast`` over ``src/lmscope/**.py`` (nothing is imported for
them), so a lazy import inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lmscope

SRC = Path(lmscope.__file__).resolve().parent
MAX_LINES = 400

# Modules that read runs and draw results: they take a core.Record and may import run.py or
# scope.py only for type checking.
ANALYSES = ("lmscope.activations", "lmscope.factors", "lmscope.lens", "lmscope.lens_*", "lmscope.similarity",
            "lmscope.candidates", "lmscope.saliency", "lmscope.saliency.*", "lmscope.corpus", "lmscope.corpus.*",
            "lmscope.views", "lmscope.views.*")
WEB = ("fastapi", "uvicorn", "starlette")

# Files over MAX_LINES that other engineers are splitting in the restructure (issue 16). Remove an entry
# when its file is split; a new file never goes here.
PENDING_LONG: set[str] = set()   # empty: every module is split (name one here only with its reason)

# Every result class lmscope must have, whoever owns it, by its public import path: each is a concrete
# core.results.Result.
ALL_RESULTS = ("lmscope.saliency.Saliency", "lmscope.factors.Factors", "lmscope.corpus.CorpusFactors")


# ---------------------------------------------------------------------- reading the imports
@dataclass(frozen=True)
class Import:
    """One imported module (and the names taken from it) at one line of one file."""

    path: str            # relative to src/lmscope, e.g. "views/html.py"
    line: int
    module: str          # absolute, e.g. "lmscope.core.checks"
    names: tuple[str, ...]
    type_checking: bool  # inside ``if TYPE_CHECKING:``


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(path: Path) -> Iterator[Import]:
    """Every import of ``path``; ``from pkg import sub`` also yields ``pkg.sub`` (it may be a module)."""
    rel = path.relative_to(SRC).as_posix()

    def walk(node: ast.AST, guarded: bool) -> Iterator[Import]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from walk(child, True)
            for child in node.orelse:
                yield from walk(child, guarded)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(rel, node.lineno, alias.name, (), guarded)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, path)
            names = tuple(alias.name for alias in node.names)
            yield Import(rel, node.lineno, base, names, guarded)
            for name in names:
                yield Import(rel, node.lineno, f"{base}.{name}", (), guarded)
        for child in ast.iter_child_nodes(node):
            yield from walk(child, guarded)

    yield from walk(ast.parse(path.read_text(encoding="utf-8")), False)


def _matches(module: str, patterns: tuple[str, ...]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(module, pattern) for pattern in patterns)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _internal(module: str) -> bool:
    return module == "lmscope" or module.startswith("lmscope.")


# ---------------------------------------------------------------------- the import rules
def test_the_walker_reads_relative_and_guarded_imports(tmp_path):
    """The rules below are only as good as this reading of the source."""
    found = list(imports(SRC / "views" / "combined.py"))
    modules = {i.module for i in found}
    assert {"lmscope.core.checks", "lmscope.views.mixin", "lmscope.views.schema"} <= modules
    assert any(i.module == "matplotlib.figure" and i.type_checking for i in found)
    assert any(i.module == "lmscope.core.figures" and not i.type_checking for i in found)  # inside plot()
    assert module_name(SRC / "saliency" / "__init__.py") == "lmscope.saliency"


def test_analyses_import_run_and_scope_only_for_type_checking():
    bad = [f"{i.path}:{i.line} imports {i.module}" for path in sources() if _matches(module_name(path), ANALYSES)
           for i in imports(path) if i.module in ("lmscope.run", "lmscope.scope") and not i.type_checking]
    assert not bad, "analyses take a core.Record; import run/scope only under `if TYPE_CHECKING:`\n" + "\n".join(bad)


def test_no_private_name_is_imported_across_modules():
    bad = []
    for path in sources():
        for i in imports(path):
            if _internal(i.module):
                bad += [f"{i.path}:{i.line} imports {name} from {i.module}" for name in i.names if _private(name)]
    assert not bad, "make the name public (and documented) where it is shared\n" + "\n".join(bad)


def test_no_private_name_is_reached_through_a_module():
    """``from . import lens; lens._helper`` is as private as importing ``_helper``."""
    bad = []
    for path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        bound: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _internal(alias.name):
                        bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "lmscope"
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, path)
                for alias in node.names:
                    if _internal(base) and module_file(f"{base}.{alias.name}") is not None:
                        bound[alias.asname or alias.name] = f"{base}.{alias.name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound \
                    and _private(node.attr):
                bad.append(f"{path.relative_to(SRC).as_posix()}:{node.lineno} reaches "
                           f"{bound[node.value.id]}.{node.attr}")
    assert not bad, "\n".join(bad)


def module_file(module: str) -> Path | None:
    """The source file of an lmscope module, or None if ``module`` is not one (e.g. a class)."""
    parts = module.split(".")[1:]
    for candidate in (SRC.joinpath(*parts).with_suffix(".py"), SRC.joinpath(*parts, "__init__.py")):
        if parts and candidate.exists():
            return candidate
    return None


def test_core_imports_nothing_from_the_rest_of_lmscope():
    bad = [f"{i.path}:{i.line} imports {i.module}" for path in sources() if path.parent == SRC / "core"
           for i in imports(path) if _internal(i.module) and not i.module.startswith("lmscope.core")
           and module_file(i.module) is not None]
    assert not bad, "core/ is the bottom layer (not even for type checking)\n" + "\n".join(bad)


def test_web_frameworks_are_imported_only_by_the_server():
    bad = [f"{i.path}:{i.line} imports {i.module}" for path in sources() if not i_in_server(path)
           for i in imports(path) if i.module.split(".")[0] in WEB]
    assert not bad, "FastAPI, uvicorn and starlette belong to lmscope.server (the optional extra)\n" + "\n".join(bad)


def i_in_server(path: Path) -> bool:
    return (SRC / "server") in path.parents


def import_graph() -> dict[str, set[str]]:
    """Module -> the lmscope modules it imports (type-checking and lazy imports included)."""
    graph: dict[str, set[str]] = {}
    for path in sources():
        name = module_name(path)
        targets = {i.module for i in imports(path) if _internal(i.module) and module_file(i.module) is not None}
        graph[name] = {t for t in targets if t != name and not name.startswith(t + ".")}   # a package's face aside
    return graph


def test_imports_form_no_circle():
    """Data flows load -> run -> explain -> view, and so do the imports: no module reaches itself again."""
    graph = import_graph()
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                circles.append(trail[trail.index(target):] + [target] if target in trail else [node, target])
            elif not state.get(target):
                visit(target, trail + [target])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_no_module_is_over_400_lines():
    lengths = {path.relative_to(SRC).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
               for path in sources()}
    long = {name: n for name, n in lengths.items() if n > MAX_LINES and name not in PENDING_LONG}
    assert not long, f"split these modules (at most {MAX_LINES} lines): {long}"


# ---------------------------------------------------------------------- signatures
def _all_modules() -> list[str]:
    return [info.name for info in pkgutil.walk_packages(lmscope.__path__, "lmscope.")
            if not info.name.endswith(".__main__")]     # running a __main__ would start the CLI


def result_classes() -> list[type]:
    """Every concrete result: subclasses of core.results.Result in lmscope that no other result extends
    (a shared base such as factors.FactorComponents leaves the exports to its subclasses)."""
    from lmscope.core.results import Result

    for name in _all_modules():
        importlib.import_module(name)
    out, todo = [], list(Result.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("lmscope.") and cls not in out and (
                not cls.__subclasses__() or _dotted(cls) in MY_RESULTS):
            out.append(cls)
    return sorted(out, key=lambda c: f"{c.__module__}.{c.__qualname__}")


MY_RESULTS = ("lmscope.activations.NeuronActivations", "lmscope.activations.Clusters", "lmscope.lens.Lens",
              "lmscope.lens.Watch", "lmscope.lens.Predictions", "lmscope.similarity.LayerSimilarity",
              "lmscope.views.combined.Combined")


def _dotted(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_results_share_the_base():
    """Every result has to_dict, to_frame and plot(ax=None) of its own; no to_pandas anywhere."""
    from lmscope.core.results import Result

    found = result_classes()
    assert set(MY_RESULTS) <= {_dotted(c) for c in found}
    for dotted in ALL_RESULTS:
        module, name = dotted.rsplit(".", 1)
        assert getattr(importlib.import_module(module), name) in found, f"{dotted} is not on the result base"
    for cls in found:
        for name in ("to_dict", "to_frame", "plot"):
            assert getattr(cls, name) is not getattr(Result, name), f"{_dotted(cls)} lacks {name}()"
        plot = inspect.signature(cls.plot).parameters
        assert "ax" in plot and plot["ax"].default is None, f"{_dotted(cls)}.plot must take ax=None"
        assert not hasattr(cls, "to_pandas"), f"{_dotted(cls)}: the one name is to_frame()"


def _public_methods(cls: type) -> Iterator[tuple[str, inspect.Signature]]:
    for name in dir(cls):
        if name.startswith("_"):
            continue
        static = inspect.getattr_static(cls, name)
        if isinstance(static, property) or not callable(getattr(cls, name)) or inspect.isclass(static):
            continue
        yield name, inspect.signature(getattr(cls, name))


def test_every_public_method_shows_its_parameters():
    """``help(run.lens)`` lists the lens's parameters: no bare ``**kwargs`` / ``**options``."""
    from lmscope.run import Run
    from lmscope.scope import Scope

    classes = [Run, Scope] + result_classes()
    bad = []
    for cls in classes:
        for name, signature in _public_methods(cls):
            hidden = [p.name for p in signature.parameters.values()
                      if p.kind in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)]
            if hidden:
                bad.append(f"{cls.__name__}.{name}{signature}: {hidden}")
    assert not bad, "name every parameter in the signature\n" + "\n".join(bad)
    methods = dict(_public_methods(Run))
    assert list(methods["lens"].parameters)[:3] == ["self", "raw", "lens"]
