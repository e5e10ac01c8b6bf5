"""The floors of the product code: core is the ground, features stand on it in layers, entry points
and tools on top. A module imports only from its own feature or from a lower layer; an `api.py`
module is an entrance (it serves routes and no other feature imports it) and may read any feature.
Imports of `shared.*` sit at the top of a module, where the reader sees them, and no modules
import each other in a circle."""
from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Lowest first. Features of one layer do not import each other: a feature that needs another
# stands a layer above it.
LAYERS: list[set[str]] = [
    {"core"},
    {"maintenance", "access_cache", "accounts", "ledger", "rtc"},
    {"backpack", "assets", "livestream"},
    {"goals"},
    {"gifts", "posts", "shop", "leaderboards", "access"},
    {"realtime", "chats"},
    {"feeds"},
    {"analytics"},
    {"app", "meta"},  # the registry's loader, the meta surface
    {"localstack", "tools", "functions"},  # entry points, the local stack, the CLIs
]
LAYER = {unit: index for index, units in enumerate(LAYERS) for unit in units}
# Imports of shared.* inside a function, kept out of import time on purpose (none today).
FUNCTION_LEVEL: set[tuple[str, str]] = set()


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    """The feature (or layer member) a module belongs to: `shared.goals.service` -> goals."""
    parts = module.split(".")
    return "functions" if parts[0] == "functions" else parts[1]


def modules() -> dict[str, pathlib.Path]:
    paths = [*ROOT.glob("shared/**/*.py"), *ROOT.glob("functions/*.py")]
    return {module_name(p): p for p in paths if "__pycache__" not in p.parts}


def imports(path: pathlib.Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported module, line, at module level) for every import of our own modules."""
    tree = ast.parse(path.read_text(), str(path))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from shared.x import y` names the module shared.x.y when y is one
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                       for a in node.names]
        else:
            continue
        found += [(t, node.lineno, id(node) in top) for t in targets if t in known]
    return found


def graph() -> dict[str, list[tuple[str, int, bool]]]:
    found = modules()
    known = set(found) | {m.rsplit(".", 1)[0] for m in found if "." in m}
    return {name: [i for i in imports(path, known) if i[0] != name] for name, path in found.items()}


def is_entrance(module: str) -> bool:
    return module.endswith((".api", "_api"))


def test_every_unit_has_a_layer():
    units = {unit(m) for m in modules() if m != "shared"}
    assert units - set(LAYER) == set(), "give each new feature its place in LAYERS"
    assert set(LAYER) - units == set(), "LAYERS names a feature that no longer exists"


def test_imports_run_down_the_floors():
    upward = []
    for source, targets in graph().items():
        if source == "shared" or is_entrance(source):
            continue
        for target, line, _ in targets:
            if target == "shared":
                continue
            a, b = unit(source), unit(target)
            if a != b and LAYER[b] >= LAYER[a]:
                upward.append(f"{source}:{line} imports {target} ({a}, layer {LAYER[a]} -> {b}, layer {LAYER[b]})")
    assert upward == []


def test_no_feature_imports_another_ones_entrance():
    """Routes are reached through the registry, never imported (shared.app loads them by name);
    a feature's own routes may share its surface."""
    offenders = [f"{source}:{line} imports {target}" for source, targets in graph().items()
                 for target, line, _ in targets if is_entrance(target) and unit(target) != unit(source)]
    assert offenders == []


def test_imports_of_our_modules_are_at_the_top():
    inside = {(source, target) for source, targets in graph().items() for target, _, top in targets if not top}
    assert inside - FUNCTION_LEVEL == set(), "import at the top of the module (or say why in FUNCTION_LEVEL)"
    assert FUNCTION_LEVEL - inside == set(), "FUNCTION_LEVEL lists an import that is gone"


def test_no_circles():
    edges = {source: {target for target, _, _ in targets} for source, targets in graph().items()}
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    assert circles == []


def test_the_checks_see_a_wrong_import(tmp_path):
    """The scan itself: an import from a lower floor up, inside a function, is found."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from shared.goals import service\n")
    assert imports(probe, {"shared.goals.service", "shared.goals"}) == [("shared.goals.service", 2, False)]
