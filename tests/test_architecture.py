"""The shape of the code base, checked from the source (no import is executed).

* no ``.py`` file in ``core/``, ``dashboard/`` or ``pages/`` is over
  :data:`MAX_LINES` lines (``OVER_400_ALLOWED`` lists today's offenders in other
  helpers' areas; it only shrinks);
* ``core`` never imports Streamlit;
* the stages of ``core`` import each other only along the data flow
  (:data:`STAGE_ORDER`) and never in a cycle.

Each rule is a function over plain data (file texts, an import graph), tested on
a hand-made bad case first so that the rule is shown able to fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 400

#: Files over MAX_LINES that other helpers are splitting in this round. The lead
#: engineer removes each entry when its split is merged; never add one.
OVER_400_ALLOWED: frozenset[str] = frozenset({
})

#: The data flow, earliest first. A module of a stage may import its own stage,
#: an earlier stage or a shared module, never a later stage. ``models`` (getting
#: weights onto the disk) comes before everything that loads them. ``embed``
#: ranks before ``candidates``: dense retrieval in the first stage already
#: embeds posts (the map and the clusters use the same embedder later).
#: ``timeline`` counts posts per cluster or per reranked top-k, so it follows ``cluster``.
#: ``store`` (per-dataset folders: the Parquet post table, post vectors, ANN) keeps what
#: ``ingest`` and ``embed`` produce and serves ``candidates`` (BM25 saved there too).
STAGE_ORDER: tuple[str, ...] = (
    "models", "ingest", "embed", "store", "candidates", "rerank", "compare", "cluster", "timeline", "labels",
    "evaluate", "export",
    "distributed",  # runs the stages' batch work on Ray, so it comes after them
)
#: Modules any stage may import: they hold no stage's logic and import no stage.
SHARED: frozenset[str] = frozenset({"errors", "config", "schema", "text", "ids", "security", "tables", "__init__"})
#: The command line: wires stages together, so it may import any of them; only
#: command modules (``core/<stage>/cli.py``) may import it.
COMMAND_LAYER: frozenset[str] = frozenset({"cli", "cli_common", "__main__"})


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def imported_modules(source: str) -> list[str]:
    """Every absolute module name an ``import`` / ``from ... import`` in ``source`` names
    (``from a import b`` gives ``a`` and ``a.b``: ``b`` may be a module)."""
    out: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{alias.name}" for alias in node.names]
    return out


def stage_of(path: str) -> str:
    """``core/rerank/cli.py`` -> ``rerank``; ``core/compare.py`` -> ``compare``."""
    first = path.split("/")[1]
    return first.removesuffix(".py")


def is_command_module(path: str) -> bool:
    """A stage's ``cli.py`` wires stages into a command (like ``core/cli.py``), so it may use later ones."""
    return path.endswith("/cli.py")


def stage_edges(sources: dict[str, str]) -> set[tuple[str, str, str]]:
    """``(from stage, to stage, file)`` for every import between two different parts of ``core``."""
    edges = set()
    for path, text in sources.items():
        src = stage_of(path)
        for module in imported_modules(text):
            parts = module.split(".")
            if parts[0] != "core" or len(parts) < 2 or parts[1] == "__version__":
                continue
            dst = parts[1]
            if dst != src:
                edges.add((src, dst, path))
    return edges


def flow_violations(edges) -> list[str]:
    """Imports against the data flow: a later stage, the command layer, or an unknown part of core."""
    rank = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    bad = []
    for src, dst, path in sorted(edges):
        if dst in SHARED:
            continue
        if is_command_module(path) or src in COMMAND_LAYER:
            continue  # a command may use every stage
        if src in SHARED:
            bad.append(f"{path}: the shared module {src} imports {dst}")
        elif dst in COMMAND_LAYER:
            bad.append(f"{path}: the stage {src} imports the command layer {dst}")
        elif dst not in rank or src not in rank:
            bad.append(f"{path}: {src} -> {dst}: place it in STAGE_ORDER, SHARED or COMMAND_LAYER")
        elif rank[dst] > rank[src]:
            bad.append(f"{path}: the stage {src} imports the later stage {dst}")
    return bad


def cycles(edges) -> list[list[str]]:
    """Cycles of the stage graph (each once, as the stages met along it)."""
    graph: dict[str, set[str]] = {}
    for src, dst, _ in edges:
        graph.setdefault(src, set()).add(dst)
    found, seen = [], set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycle = path[path.index(nxt):]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    found.append(cycle + [nxt])
            elif len(path) < len(graph) + 1:
                visit(nxt, path + [nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


def streamlit_imports(sources: dict[str, str]) -> list[str]:
    return [path for path, text in sources.items()
            if any(m.split(".")[0] == "streamlit" for m in imported_modules(text))]


def long_files(sources: dict[str, str], allowed=frozenset()) -> list[str]:
    return [f"{path}: {text.count(chr(10))} lines" for path, text in sources.items()
            if text.count("\n") > MAX_LINES and path not in allowed]


@pytest.fixture(scope="module")
def core_sources() -> dict[str, str]:
    return {rel(p): p.read_text(encoding="utf-8") for p in python_files("core")}


# -- the rules can fail ---------------------------------------------------------------------------

def test_rules_catch_hand_made_offenders():
    bad = {
        "core/ingest/read.py": "from core.export.bundle import write_bundle\n",
        "core/export/cli.py": "import core.labels.store\n",
        "core/labels/store.py": "from core.export import trec\n",
        "core/text/x.py": "from core.rerank import pipeline\n",
        "core/cluster/x.py": "from core.cli_common import open_store\n",
        "core/cli_common.py": "from core.labels.store import LabelStore\n",
        "core/compare.py": "import streamlit as st\n",
        "core/evaluate/x.py": "from core.export.trec import read_runs\n",
        "core/export/x.py": "from core.evaluate import metrics\n",
        "core/rerank/cli.py": "from core.evaluate.trec import write_run\n",
        "core/weird/x.py": "from core.errors import SieveError\n" + "x = 1\n" * (MAX_LINES + 1),
    }
    edges = stage_edges(bad)
    violations = flow_violations(edges)
    assert any("ingest imports the later stage export" in v for v in violations)
    assert any("labels imports the later stage export" in v for v in violations)
    assert any("evaluate imports the later stage export" in v for v in violations)
    assert any("shared module text imports rerank" in v for v in violations)
    assert any("cluster imports the command layer cli_common" in v for v in violations)
    assert not any(v.startswith("core/cli_common.py") for v in violations)
    assert not any(v.startswith("core/rerank/cli.py") for v in violations)  # a command may use later stages
    assert not any(v.startswith("core/export/cli.py") for v in violations)  # earlier stage: fine
    assert ["evaluate", "export", "evaluate"] in cycles(edges) or ["export", "evaluate", "export"] in cycles(edges)
    assert streamlit_imports(bad) == ["core/compare.py"]
    assert long_files(bad) == [f"core/weird/x.py: {MAX_LINES + 2} lines"]
    assert long_files(bad, allowed={"core/weird/x.py"}) == []
    assert imported_modules("from core.labels import store\nimport numpy.linalg as la\n") == [
        "core.labels", "core.labels.store", "numpy.linalg"]


# -- the code base follows them --------------------------------------------------------------------

def test_no_file_over_400_lines():
    sources = {rel(p): p.read_text(encoding="utf-8") for p in python_files("core", "dashboard", "pages")}
    assert long_files(sources, OVER_400_ALLOWED) == [], (
        f"split these files (at most {MAX_LINES} lines each): move a job into its own module")


def test_allow_list_only_shrinks():
    """An allowed file that is short now is taken off the list (it must stay short)."""
    still_long = {path for path in OVER_400_ALLOWED
                  if (REPO / path).is_file() and (REPO / path).read_text(encoding="utf-8").count("\n") > MAX_LINES}
    assert still_long == OVER_400_ALLOWED, f"remove from OVER_400_ALLOWED: {sorted(OVER_400_ALLOWED - still_long)}"


def test_core_never_imports_streamlit(core_sources):
    assert streamlit_imports(core_sources) == []


def test_stages_import_along_the_data_flow(core_sources):
    assert flow_violations(stage_edges(core_sources)) == []


def test_no_import_cycle_between_stages(core_sources):
    assert cycles(stage_edges(core_sources)) == []


def modules_missing_from(doc: str, paths: list[str]) -> list[str]:
    """The module paths (``core/x.py``) that ``doc`` does not name in backticks."""
    return [p for p in paths if f"`{p}`" not in doc]


def test_architecture_doc_names_every_module():
    """docs/ARCHITECTURE.md has one line per module: a new module without its line fails here."""
    assert modules_missing_from("- `core/a.py`: a.", ["core/a.py", "core/b.py"]) == ["core/b.py"]
    doc = (REPO / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    paths = [str(p.relative_to(REPO)) for p in python_files("core", "dashboard", "pages")]
    assert modules_missing_from(doc, paths) == [], "give these modules their line in docs/ARCHITECTURE.md"

