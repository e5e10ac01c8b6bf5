"""The terraform root module in infra/terraform against the registry.

The registry is the one declaration of functions, topics, queues and buckets; the terraform
module only iterates over the variables generated from it. These tests check both ends: the
generated tfvars file matches the registry, and the module consumes every generated variable
with `for_each` instead of a hand-kept list.
"""
from __future__ import annotations

import fnmatch
import json
import pathlib
import re
import shutil
import subprocess
import sys

import hcl2
import pytest
from hcl2 import SerializationOptions

ROOT = pathlib.Path(__file__).resolve().parents[2]
TF_DIR = ROOT / "infra" / "terraform"
TFVARS = TF_DIR / "registry.auto.tfvars.json"

try:
    from shared import app
except ImportError:  # run without a conftest putting the repo root on sys.path
    sys.path.insert(0, str(ROOT))
    from shared import app
from shared.core import generate
from shared.core.registry import kebab

# python-hcl2 8.x keeps the quotes of strings unless told otherwise, and marks blocks with
# `__is_block__` (which tells a block from an object-valued attribute).
HCL_OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=True)
BLOCK = "__is_block__"

REGISTRY_VARIABLES = {"http_functions", "receivers", "topics", "queues", "buckets"}
TASK_HANDLER = "task-handler"


# --- loading ---------------------------------------------------------------------------------


def _tf_files() -> list[pathlib.Path]:
    return sorted(p for p in TF_DIR.rglob("*.tf") if ".terraform" not in p.parts)


@pytest.fixture(scope="module")
def config() -> dict[str, list]:
    """Every top-level block of every .tf file: block type -> list of parsed blocks."""
    files = _tf_files()
    assert files, f"no .tf files in {TF_DIR}"
    merged: dict[str, list] = {}
    for path in files:
        with path.open() as fh:
            parsed = hcl2.load(fh, serialization_options=HCL_OPTIONS)
        for kind, blocks in parsed.items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


@pytest.fixture(scope="module")
def registry():
    return app.load()


@pytest.fixture(scope="module")
def tfvars() -> dict:
    return json.loads(TFVARS.read_text())


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


# --- the generated variables and the registry --------------------------------------------------


def test_tfvars_file_is_what_the_registry_generates(registry, tfvars):
    assert generate.TFVARS == TFVARS
    expected = json.loads(json.dumps(generate.terraform_variables(registry)))
    assert tfvars == expected, "registry.auto.tfvars.json is stale: run .venv/bin/python -m shared.core.generate"


def test_tfvars_hold_exactly_the_registry(registry, tfvars):
    # Both directions, per variable: nothing missing, nothing the registry lacks.
    assert set(tfvars) == REGISTRY_VARIABLES

    expected_http = {f"{kebab(s)}-api" for s in registry.surfaces} | {TASK_HANDLER}
    assert set(tfvars["http_functions"]) == expected_http
    assert set(tfvars["receivers"]) == set(registry.receivers)
    assert tfvars["topics"] == registry.topics
    assert set(tfvars["queues"]) == set(registry.queues)
    assert tfvars["buckets"] == registry.buckets

    for name, receiver in tfvars["receivers"].items():
        declared = registry.receivers[name]
        assert receiver["entry_point"] == declared.entry_point
        assert receiver["signal"] == declared.signal
        assert receiver["topic"] == registry.signals[declared.signal].topic
        assert receiver["topic"] in tfvars["topics"], f"receiver {name} listens on an undeclared topic"

    queued = {task for tasks in tfvars["queues"].values() for task in tasks}
    assert queued == set(registry.tasks), "queues list tasks the registry lacks, or miss some"


def test_every_tfvars_key_is_a_declared_variable(config, tfvars):
    variables = _labelled(config, "variable")
    missing = set(tfvars) - set(variables)
    assert not missing, f"tfvars keys without a variable block: {sorted(missing)}"

    for name, value in tfvars.items():
        declared_type = _squash(variables[name].get("type"))
        if isinstance(value, list):
            assert declared_type == "${list(string)}", f"var.{name}: {declared_type}"
        elif all(isinstance(v, str) for v in value.values()):
            assert declared_type == "${map(string)}", f"var.{name}: {declared_type}"
        elif all(isinstance(v, list) for v in value.values()):
            assert declared_type == "${map(list(string))}", f"var.{name}: {declared_type}"
        else:
            # map(object({...})): the object's attributes are exactly the generated keys.
            assert declared_type.startswith("${map(object({"), f"var.{name}: {declared_type}"
            attributes = set(re.findall(r"(\w+)=", declared_type))
            generated = {key for entry in value.values() for key in entry}
            assert attributes == generated, f"var.{name} declares {sorted(attributes)}, tfvars hold {sorted(generated)}"


def test_secrets_and_settings_are_variables(config):
    variables = _labelled(config, "variable")
    for name in ("project", "region", "max_delivery_attempts"):
        assert name in variables
    assert variables["region"].get("default") == "us-central1"
    assert variables["max_delivery_attempts"].get("default") == 10
    for name in ("jwt_secret", "task_secret", "pusher_app_id", "pusher_key", "pusher_secret", "pusher_host"):
        assert name in variables, f"missing variable {name}"
        assert variables[name].get("sensitive") is True, f"var.{name} must be sensitive"
        assert "default" not in variables[name], f"var.{name} must not have a default"


# --- the module iterates over the generated variables ---------------------------------------


def test_functions_come_only_from_the_registry_maps(config):
    functions = _of_type(config, "google_cloudfunctions2_function")
    iterated = sorted(_squash(body.get("for_each")) for body in functions.values())
    # Exactly one resource per map; a function without for_each would be hand-kept.
    assert iterated == ["${var.http_functions}", "${var.receivers}"], iterated
    for body in functions.values():
        assert _squash(body.get("name")) == "${each.key}"
        build = _block(body, "build_config")
        runtime = build.get("runtime")
        if _expr(runtime) == "local.runtime":
            runtime = _locals(config).get("runtime")
        assert runtime == "python311"
        assert _squash(build.get("entry_point")) == "${each.value.entry_point}"
        assert _squash(build["environment_variables"].get("GOOGLE_FUNCTION_SOURCE")) == "${each.value.source}"
        storage = _block(_block(build, "source"), "storage_source")
        assert _squash(storage.get("object")) == "${google_storage_bucket_object.source.name}"


def test_receivers_are_cloudevent_functions(config):
    (body,) = _for_each_over(config, "google_cloudfunctions2_function", "var.receivers").values()
    env = _block(body, "build_config")["environment_variables"]
    assert env.get("GOOGLE_FUNCTION_SIGNATURE_TYPE") == "cloudevent"
    assert "event_trigger" not in body, "receivers are pushed to by their own subscription, not an Eventarc trigger"


@pytest.mark.parametrize(
    "rtype, expr",
    [
        ("google_pubsub_topic", "${toset(var.topics)}"),
        ("google_pubsub_subscription", "${var.receivers}"),
        ("google_cloud_tasks_queue", "${var.queues}"),
        ("google_storage_bucket", "${var.buckets}"),
    ],
)
def test_registry_resources_use_for_each(config, tfvars, rtype, expr):
    matching = _for_each_over(config, rtype, expr)
    assert len(matching) == 1, f"expected one {rtype} with for_each = {expr}, got {sorted(matching)}"
    (body,) = matching.values()
    if rtype == "google_storage_bucket":
        assert _squash(body.get("name")) == "${var.project}-${each.key}"
        assert body.get("uniform_bucket_level_access") is True
    else:
        assert _squash(body.get("name")) == "${each.key}"

    # Any other resource of the type is infrastructure of the module itself (dead letters,
    # source bucket), never a hand-kept copy of something the registry declares.
    registry_names = {
        "google_pubsub_topic": set(tfvars["topics"]),
        "google_pubsub_subscription": set(tfvars["receivers"]),
        "google_cloud_tasks_queue": set(tfvars["queues"]),
        "google_storage_bucket": set(tfvars["buckets"]),
    }[rtype]
    for name, other in _of_type(config, rtype).items():
        if other is body:
            continue
        assert "for_each" not in other or "var." not in str(other["for_each"]), f"{rtype}.{name} iterates a variable too"
        literal = str(other.get("name", ""))
        assert literal not in registry_names and not any(literal.endswith(f"-{n}") for n in registry_names), (
            f"{rtype}.{name} hand-declares {literal!r}, which the registry already declares"
        )


def test_queues_are_all_from_var_queues(config):
    queues = _of_type(config, "google_cloud_tasks_queue")
    assert queues and all(_squash(b.get("for_each")) == "${var.queues}" for b in queues.values())
    (body,) = queues.values()
    retry = _block(body, "retry_config")
    assert retry.get("max_attempts", 0) >= 10
    assert retry.get("min_backoff") and retry.get("max_backoff")
    _block(body, "rate_limits")


def test_every_receiver_has_a_dead_lettered_push_subscription(config, tfvars, registry):
    ((sub_name, body),) = _for_each_over(config, "google_pubsub_subscription", "var.receivers").items()
    (fn_name,) = _for_each_over(config, "google_cloudfunctions2_function", "var.receivers")

    # Keyed on var.receivers, so one subscription per receiver; named and routed by it.
    assert set(tfvars["receivers"]) == set(registry.receivers)
    assert _squash(body.get("topic")) == "${google_pubsub_topic.topics[each.value.topic].id}"
    assert body.get("ack_deadline_seconds") in (60, "${local.timeout_seconds}")

    push = _block(body, "push_config")
    assert _squash(push.get("push_endpoint")) == (
        f"${{google_cloudfunctions2_function.{fn_name}[each.key].service_config[0].uri}}"
    )
    oidc = _block(push, "oidc_token")
    assert "google_service_account." in str(oidc.get("service_account_email"))

    dead = _block(body, "dead_letter_policy")
    assert _squash(dead.get("max_delivery_attempts")) == "${var.max_delivery_attempts}"
    dead_topic = re.fullmatch(r"\$\{google_pubsub_topic\.(\w+)\.id\}", _squash(dead.get("dead_letter_topic")))
    assert dead_topic, dead.get("dead_letter_topic")
    assert "for_each" not in _of_type(config, "google_pubsub_topic")[dead_topic.group(1)]

    retry = _block(body, "retry_policy")
    assert retry.get("minimum_backoff") and retry.get("maximum_backoff")

    # The dead-letter topic keeps what it receives, and the Pub/Sub agent may use it all.
    keepers = [
        b for b in _of_type(config, "google_pubsub_subscription").values()
        if _squash(b.get("topic")) == f"${{google_pubsub_topic.{dead_topic.group(1)}.id}}"
    ]
    assert keepers and keepers[0].get("message_retention_duration") == "604800s"
    agent = _locals(config).get("pubsub_service_agent", "")
    assert re.fullmatch(
        r"serviceAccount:service-\$\{data\.google_project\.\w+\.number\}@gcp-sa-pubsub\.iam\.gserviceaccount\.com", agent
    ), agent
    publishers = [
        b for b in _of_type(config, "google_pubsub_topic_iam_member").values()
        if _expr(b.get("topic")) == f"google_pubsub_topic.{dead_topic.group(1)}.id"
        and b.get("role") == "roles/pubsub.publisher" and _expr(b.get("member")) == "local.pubsub_service_agent"
    ]
    assert len(publishers) == 1, "the Pub/Sub service agent must publish to the dead-letter topic"
    subscribers = [
        b for b in _for_each_over(config, "google_pubsub_subscription_iam_member", "var.receivers").values()
        if b.get("role") == "roles/pubsub.subscriber" and _expr(b.get("member")) == "local.pubsub_service_agent"
        and _expr(b.get("subscription")) == f"google_pubsub_subscription.{sub_name}[each.key].name"
    ]
    assert len(subscribers) == 1, "the Pub/Sub service agent must subscribe to every receiver subscription"


def test_push_account_may_invoke_every_receiver(config):
    (fn_name,) = _for_each_over(config, "google_cloudfunctions2_function", "var.receivers")
    invokers = [
        b for b in _for_each_over(config, "google_cloud_run_service_iam_member", "var.receivers").values()
        if b.get("role") == "roles/run.invoker" and f"google_cloudfunctions2_function.{fn_name}[each.key]" in str(b.get("service"))
    ]
    assert len(invokers) == 1, invokers
    (sub,) = _for_each_over(config, "google_pubsub_subscription", "var.receivers").values()
    push_account = _squash(_block(_block(sub, "push_config"), "oidc_token")["service_account_email"])
    assert _squash(invokers[0]["member"]) == f"serviceAccount:{push_account}"


# --- tasks and routes ------------------------------------------------------------------------


def test_every_task_maps_to_a_declared_queue(registry, tfvars):
    assert registry.tasks, "the registry declares no task: nothing checked"
    for name, task in registry.tasks.items():
        assert task.queue in tfvars["queues"], f"task {name} uses undeclared queue {task.queue}"
        assert name in tfvars["queues"][task.queue], f"task {name} is not listed under queue {task.queue}"


def test_task_handler_routes_cover_every_task(registry, tfvars, config):
    handler = tfvars["http_functions"].get(TASK_HANDLER)
    assert handler is not None
    assert handler["public"] is False
    assert handler["entry_point"] == "task_handler" and handler["source"] == "functions/tasks.py"
    missing = {f"POST /{name}" for name in registry.tasks} - set(handler["routes"])
    assert not missing, f"task handler does not route {sorted(missing)}"
    extra = set(handler["routes"]) - {f"POST /{name}" for name in registry.tasks}
    assert not extra, f"task handler routes unknown tasks {sorted(extra)}"
    # The module names the same function as its task handler.
    assert _locals(config).get("task_handler") == TASK_HANDLER


def test_every_registry_route_is_served(registry, tfvars):
    assert registry.routes, "the registry declares no route: nothing checked"
    served = {
        route: name
        for name, fn in tfvars["http_functions"].items()
        if name != TASK_HANDLER
        for route in fn["routes"]
    }
    for route in registry.routes:
        key = f"{route.method} {route.path}"
        assert key in served, f"{key} is served by no HTTP function"
        assert served[key] == f"{kebab(route.surface)}-api"
    declared = {f"{r.method} {r.path}" for r in registry.routes}
    assert not set(served) - declared, f"HTTP functions serve routes the registry lacks: {sorted(set(served) - declared)}"


def test_http_invokers_follow_public_flag(config):
    invokers = _of_type(config, "google_cloud_run_service_iam_member")
    public = [b for b in invokers.values() if b.get("member") == "allUsers"]
    assert len(public) == 1
    assert re.search(r"var\.http_functions:.*if(\w+)\.public\}", _squash(public[0].get("for_each")))
    private = [
        b for b in invokers.values()
        if "google_service_account.tasks.email" in str(b.get("member")) and b.get("role") == "roles/run.invoker"
    ]
    assert len(private) == 1
    assert re.search(r"var\.http_functions:.*if!(\w+)\.public\}", _squash(private[0].get("for_each")))


def test_functions_get_the_environment_the_code_reads(config):
    env = _locals(config).get("function_env")
    assert isinstance(env, dict), "local.function_env must be the map of the functions' environment"
    source = (ROOT / "shared" / "core" / "config.py").read_text()
    read = set(re.findall(r"""(?:_env|os\.environ\.get)\(\s*["'](\w+)["']""", source))
    platform = {"K_SERVICE"}  # set by Cloud Run itself
    read = {name for name in read if not name.endswith("_EMULATOR_HOST")} - platform
    assert read, "found no environment variable read in shared/core/config.py"
    missing = read - set(env)
    assert not missing, f"functions lack {sorted(missing)}"
    assert _squash(env["TASKS_TARGET_URL"]) == "${local.task_handler_url}"
    assert "local.task_handler" in str(_locals(config).get("task_handler_url"))
    for fn in _of_type(config, "google_cloudfunctions2_function").values():
        assert _squash(_block(fn, "service_config").get("environment_variables")) == "${local.function_env}"


# --- source, storage, backend ----------------------------------------------------------------


def _excluded(relpath: str, patterns: list[str]) -> bool:
    parts = relpath.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.rsplit("/", 1)[-1], pattern[3:]):
                return True
    return False


def test_source_archive_is_named_by_its_hash_and_keeps_the_code(config, tfvars):
    archive = _resources(config, "data").get(("archive_file", "source"))
    assert archive is not None
    assert archive.get("source_dir") == "${path.module}/../.."
    excludes = archive.get("excludes") or []
    for noise in (".git", ".venv", "node_modules", "tests", "infra", ".stack"):
        assert _excluded(noise, excludes), f"{noise} goes into the source archive"
    assert _excluded("shared/core/__pycache__/x.pyc", excludes)
    sources = {fn["source"] for group in ("http_functions", "receivers") for fn in tfvars[group].values()}
    for path in sorted(sources | {"functions/_bootstrap.py", "shared/app.py", "requirements.txt"}):
        assert (ROOT / path).is_file(), f"{path} is missing"
        assert not _excluded(path, excludes), f"{path} is excluded from the source archive"

    obj = _of_type(config, "google_storage_bucket_object").get("source")
    assert obj is not None
    assert obj.get("name") == "source-${data.archive_file.source.output_md5}.zip"


def test_bucket_notifications_target_registry_buckets_and_topics(config, tfvars):
    notifications = _locals(config).get("storage_notifications")
    assert notifications, "local.storage_notifications is empty"
    for bucket, topic in notifications.items():
        assert bucket in tfvars["buckets"], f"notification on undeclared bucket {bucket}"
        assert topic in tfvars["topics"], f"notification to undeclared topic {topic}"
    (body,) = _of_type(config, "google_storage_notification").values()
    assert _squash(body.get("for_each")) == "${local.storage_notifications}"
    assert body.get("payload_format") == "JSON_API_V1"
    assert body.get("event_types") == ["OBJECT_FINALIZE"]


def test_the_scheduler_ticks_a_received_signal_the_way_the_code_publishes(config, registry):
    (job,) = _of_type(config, "google_cloud_scheduler_job").values()
    target = _block(job, "pubsub_target")
    attributes = target["attributes"]
    signal = registry.signals[attributes["sender"]]
    assert registry.receivers_of(signal.sender), f"nothing receives {signal.sender}"
    assert _expr(target["topic_name"]) == f'google_pubsub_topic.topics["{signal.topic}"].id'
    assert attributes["event_id"].startswith(f"{signal.sender}:")
    signal.payload.model_validate({})  # the fixed body "{}" validates


def test_step_markers_expire_by_the_field_the_code_writes(config):
    from shared.core import steps

    (ttl,) = _of_type(config, "google_firestore_field").values()
    assert (ttl["collection"], ttl["field"]) == (steps.STEPS, "expire_at")
    _block(ttl, "ttl_config")
    assert '"expire_at": datetime.fromtimestamp(' in (ROOT / "shared" / "core" / "steps.py").read_text()


def test_backend_is_an_empty_gcs_block(config):
    terraform_blocks = config.get("terraform", [])
    assert len(terraform_blocks) == 1
    block = terraform_blocks[0]
    (backend,) = block.get("backend", [None])
    assert backend is not None and set(backend) == {"gcs"}, backend
    assert {k: v for k, v in backend["gcs"].items() if k != BLOCK} == {}, "backend settings come from -backend-config"
    assert backend["gcs"].get(BLOCK)
    assert block.get("required_version") == ">= 1.5"
    (providers,) = block["required_providers"]
    assert providers["google"] == {"source": "hashicorp/google", "version": "~> 6.0"}


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform binary not installed")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", str(TF_DIR.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"terraform fmt would rewrite:\n{result.stdout}{result.stderr}"
