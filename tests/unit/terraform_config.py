"""Loading the terraform root module in infra/terraform for the tests of test_terraform*.py:
python-hcl2 parses every .tf file, and small helpers find blocks, locals and expressions."""
from __future__ import annotations

import importlib.util
import pathlib
import re
import sys

import hcl2
from hcl2 import SerializationOptions

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "infra" / "terraform"
TFVARS = TF_DIR / "registry.auto.tfvars.json"

if importlib.util.find_spec("shared") is None:  # run without a conftest putting the repo root on sys.path
    sys.path.insert(0, str(ROOT))
from shared.core.options import FunctionOptions  # noqa: E402 -- after the sys.path insert above
from shared.core.registry import kebab  # noqa: E402 -- after the sys.path insert above

# python-hcl2 8.x keeps the quotes of strings unless told otherwise, and marks blocks with
# `__is_block__` (which tells a block from an object-valued attribute).
HCL_OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=True)
BLOCK = "__is_block__"

REGISTRY_VARIABLES = {"functions", "topics", "queues", "buckets"}
KINDS = ("http", "receiver")
TASK_HANDLER = "task-handler"
# service_config attribute -> the FunctionOptions field it is sized by
SIZING = {"available_memory": "memory", "available_cpu": "cpu", "timeout_seconds": "timeout",
          "max_instance_request_concurrency": "concurrency", "min_instance_count": "min_instances",
          "max_instance_count": "max_instances"}
HCL_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "list(string)"}


# --- loading ---------------------------------------------------------------------------------


def _tf_files() -> list[pathlib.Path]:
    return sorted(p for p in TF_DIR.rglob("*.tf") if ".terraform" not in p.parts)


def load_blocks() -> dict[str, list]:
    """Every top-level block of every .tf file: block type -> list of parsed blocks (the `config`
    fixture of tests/unit/conftest.py, with `registry` and `tfvars`)."""
    files = _tf_files()
    assert files, f"no .tf files in {TF_DIR}"
    merged: dict[str, list] = {}
    for path in files:
        with path.open() as fh:
            parsed = hcl2.load(fh, serialization_options=HCL_OPTIONS)
        for kind, blocks in parsed.items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


def _labelled(config: dict, kind: str) -> dict[str, dict]:
    """Blocks with one label (variable, output, check): label -> body."""
    out: dict[str, dict] = {}
    for block in config.get(kind, []):
        for label, body in block.items():
            assert label not in out, f"{kind} {label} declared twice"
            out[label] = body
    return out


def _resources(config: dict, kind: str = "resource") -> dict[tuple[str, str], dict]:
    """(type, name) -> body for every resource (or data source)."""
    out: dict[tuple[str, str], dict] = {}
    for block in config.get(kind, []):
        for rtype, named in block.items():
            for name, body in named.items():
                assert (rtype, name) not in out, f"{kind} {rtype}.{name} declared twice"
                out[(rtype, name)] = body
    return out


def _of_type(config: dict, rtype: str) -> dict[str, dict]:
    return {name: body for (t, name), body in _resources(config).items() if t == rtype}


def _locals(config: dict) -> dict:
    out: dict = {}
    for block in config.get("locals", []):
        for key, value in block.items():
            if key != BLOCK:
                assert key not in out, f"local.{key} declared twice"
                out[key] = value
    return out


def _block(body: dict, name: str) -> dict:
    """The single nested block `name` of a body (fails when absent, repeated or an attribute)."""
    blocks = body.get(name)
    assert isinstance(blocks, list) and len(blocks) == 1, f"expected one `{name}` block, got {blocks!r}"
    assert blocks[0].get(BLOCK), f"`{name}` is not a block"
    return blocks[0]


def _squash(expr) -> str:
    return re.sub(r"\s+", "", str(expr))


def _expr(value) -> str:
    """An expression without its `${...}` wrapper and whitespace: `var.receivers`."""
    text = _squash(value)
    return text[2:-1] if text.startswith("${") and text.endswith("}") else text


def _for_each_over(config: dict, rtype: str, expr: str) -> dict[str, dict]:
    """Resources of `rtype` whose for_each is exactly `expr` (e.g. `var.receivers`)."""
    return {n: b for n, b in _of_type(config, rtype).items() if "for_each" in b and _expr(b["for_each"]) == _expr(expr)}


def _render(value, entry: dict):
    """An attribute as terraform would set it for one entry of a for_each map: only the forms the
    module uses (`each.value.x`, `"${each.value.x}s"`, `max(n, each.value.x)`); anything else fails."""
    text = _squash(value)
    if m := re.fullmatch(r"\$\{each\.value\.(\w+)\}", text):
        return entry[m.group(1)]
    if m := re.fullmatch(r"\$\{each\.value\.(\w+)\}s", text):
        return f"{entry[m.group(1)]}s"
    if m := re.fullmatch(r"\$\{max\((\d+),each\.value\.(\w+)\)\}", text):
        return max(int(m.group(1)), entry[m.group(2)])
    raise AssertionError(f"{value!r} does not come from each.value")


def _kind(tfvars: dict, kind: str) -> dict[str, dict]:
    """The entries of var.functions of one kind ("http" or "receiver")."""
    assert kind in KINDS, kind
    return {name: fn for name, fn in tfvars["functions"].items() if fn["kind"] == kind}


def _options(registry, name: str) -> FunctionOptions:
    """The options a deployed function (key of var.functions) was declared with."""
    if name == TASK_HANDLER:
        return registry.task_handler_options
    if name in registry.worker_options:
        return registry.worker_options[name]
    if name in registry.receivers:
        return registry.receivers[name].options
    (surface,) = [s for s in registry.surfaces if f"{kebab(s)}-api" == name]
    return registry.surface_options[surface]


