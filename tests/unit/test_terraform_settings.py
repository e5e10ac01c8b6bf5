"""The terraform root module in infra/terraform: the environment and secrets each function gets,
the source archive, storage notifications, the scheduler, step expiry, the backend, and what
terraform itself checks (variable validations through `plan`, `fmt`)."""
from __future__ import annotations

import fnmatch
import json
import pathlib
import re
import shutil
import subprocess

import pytest

from shared import app
from shared.core import config as core_config
from shared.core.options import SECRET_NAMES
from tests.unit.terraform_config import (
    BLOCK,
    ROOT,
    TASK_HANDLER,
    TF_DIR,
    _block,
    _expr,
    _labelled,
    _locals,
    _of_type,
    _options,
    _resources,
    _squash,
)

ENVIRONMENT = re.compile(
    r"\$\{merge\(local\.function_env, \{FUNCTION_SECRETS = join\(\" \", each\.value\.secrets\)\}, "
    r"\{for (\w+) in each\.value\.secrets : \1 => local\.secrets\[\1\]\}, "
    r"\{DEPLOYED_ENTRY_POINT = each\.value\.entry_point\}\)\}"
)


def _environment(config: dict, entry: dict) -> dict[str, str]:
    """A function's environment as functions.tf builds it for one tfvars entry: the common
    settings, FUNCTION_SECRETS, the secrets the entry lists (values as their expressions) and
    DEPLOYED_ENTRY_POINT, which names the modules it loads (shared/app.py)."""
    locals_ = _locals(config)
    return {**locals_["function_env"], "FUNCTION_SECRETS": " ".join(entry["secrets"]),
            **{name: locals_["secrets"][name] for name in entry["secrets"]},
            app.ENTRY_POINT_VARIABLE: entry["entry_point"]}


def test_functions_get_the_environment_the_code_reads(config):
    locals_ = _locals(config)
    env, secrets = locals_.get("function_env"), locals_.get("secrets")
    assert isinstance(env, dict), "local.function_env must be the map of the functions' common environment"
    assert isinstance(secrets, dict), "local.secrets must map each secret's name to its variable"
    for fn in _of_type(config, "google_cloudfunctions2_function").values():
        expression = re.sub(r"\s+", " ", _block(fn, "service_config").get("environment_variables"))
        assert ENVIRONMENT.fullmatch(expression), f"unexpected environment: {expression}"

    source = (ROOT / "shared" / "core" / "config.py").read_text()
    read = set(re.findall(r"""(?:_env|os\.environ\.get)\(\s*["'](\w+)["']""", source))
    platform = {"K_SERVICE"}  # set by Cloud Run itself
    read = {name for name in read if not name.endswith("_EMULATOR_HOST")} - platform
    assert {"FUNCTION_SECRETS", "TICK_SECONDS"} <= read, "config.py reads its environment differently: update this test"
    missing = read - set(env) - {"FUNCTION_SECRETS"}
    assert not missing, f"functions lack {sorted(missing)}"
    assert _squash(env["TASKS_TARGET_URL"]) == "${local.task_handler_url}"
    assert "local.task_handler" in str(locals_.get("task_handler_url"))

    # The secrets the code knows are exactly those terraform can hand out, none of them common.
    assert set(core_config.SECRETS) == set(SECRET_NAMES) == set(secrets)
    assert not set(env) & set(SECRET_NAMES), "a secret in local.function_env reaches every function"
    variables = _labelled(config, "variable")
    for name, value in secrets.items():
        var = re.fullmatch(r"\$\{var\.(\w+)\}", _squash(value))
        assert var and variables[var.group(1)].get("sensitive") is True, f"{name} must come from a sensitive variable"


def test_each_function_gets_only_the_secrets_it_lists(config, tfvars, registry):
    functions = tfvars["functions"]
    for name, entry in functions.items():
        declared = set(_options(registry, name).secrets)
        env = _environment(config, entry)
        assert set(env) & set(SECRET_NAMES) == declared, f"{name} gets {sorted(set(env) & set(SECRET_NAMES))}"
        assert set(env["FUNCTION_SECRETS"].split()) == declared, name  # what config.py insists on
    # The ones that sign or check something have theirs; the meta surface has none.
    assert _environment(config, functions["meta-api"])["FUNCTION_SECRETS"] == ""
    assert "JWT_SECRET" in _environment(config, functions["goals-api"])
    assert "TASK_SECRET" in _environment(config, functions[TASK_HANDLER])
    assert "JWT_SECRET" not in _environment(config, functions[TASK_HANDLER])


def test_each_function_names_the_entry_point_whose_modules_it_loads(config, tfvars):
    targets = app.targets()
    for name, entry in tfvars["functions"].items():
        deployed = _environment(config, entry)[app.ENTRY_POINT_VARIABLE]
        assert deployed == entry["entry_point"] and deployed in targets, name
        assert (targets[deployed]["function"], targets[deployed]["source"]) == (name, entry["source"])
    assert set(targets) == {entry["entry_point"] for entry in tfvars["functions"].values()}
    # read at start (shared.app.load) and served by the deployed meta surface: both go into the archive
    excludes = _resources(config, "data")[("archive_file", "source")].get("excludes") or []
    assert not [p for p in ("functions/targets.json", "functions/openapi.json") if _excluded(p, excludes)]


def test_secret_validations_list_the_secrets_the_code_knows():
    # Validations cannot read local.secrets (before terraform 1.9), so they list the names again.
    listed = re.findall(r"contains\((\[[^\]]*\]), s\)", (TF_DIR / "variables.tf").read_text())
    assert len(listed) == 1, "var.functions validates every function's secrets, in one place"
    assert all(sorted(json.loads(names)) == sorted(SECRET_NAMES) for names in listed), listed


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
    sources = {fn["source"] for fn in tfvars["functions"].values()}
    for path in sorted(sources | {"functions/_bootstrap.py", "shared/app.py", "requirements.txt"}):
        assert (ROOT / path).is_file(), f"{path} is missing"
        assert not _excluded(path, excludes), f"{path} is excluded from the source archive"

    obj = _of_type(config, "google_storage_bucket_object").get("source")
    assert obj is not None
    assert obj.get("name") == "source-${data.archive_file.source.output_md5}.zip"


def test_bucket_notifications_come_from_var_buckets(config, tfvars, registry):
    notifications = _squash(_locals(config).get("storage_notifications"))
    assert re.fullmatch(
        r"\$\{\{for(\w+),(\w+)invar\.buckets:\1=>\2\.notification_topicif\2\.notification_topic!=null\}\}",
        notifications,
    ), f"local.storage_notifications must derive from var.buckets: {notifications}"
    # What that expression yields is what the registry's buckets notify.
    derived = {name: b["notification_topic"] for name, b in tfvars["buckets"].items()
               if b["notification_topic"] is not None}
    assert derived == {n: b.notify.topic for n, b in registry.buckets.items() if b.notify}
    assert derived.get("assets") == "storage-events"
    assert set(derived.values()) <= set(tfvars["topics"])

    (body,) = _of_type(config, "google_storage_notification").values()
    assert _squash(body.get("for_each")) == "${local.storage_notifications}"
    assert _squash(body.get("bucket")) == "${google_storage_bucket.buckets[each.key].name}"
    assert _squash(body.get("topic")) == "${google_pubsub_topic.topics[each.value].id}"
    assert body.get("payload_format") == "JSON_API_V1"
    assert body.get("event_types") == ["OBJECT_FINALIZE"]
    publishers = [b for b in _of_type(config, "google_pubsub_topic_iam_member").values()
                  if _squash(b.get("for_each")) == "${toset(values(local.storage_notifications))}"]
    assert len(publishers) == 1, "the Cloud Storage agent must publish to every notification topic"


def test_the_scheduler_ticks_a_received_signal_the_way_the_code_publishes(config, registry):
    (job,) = _of_type(config, "google_cloud_scheduler_job").values()
    target = _block(job, "pubsub_target")
    attributes = target["attributes"]
    signal = registry.signals[attributes["sender"]]
    assert registry.receivers_of(signal.sender), f"nothing receives {signal.sender}"
    assert _expr(target["topic_name"]) == f'google_pubsub_topic.topics["{signal.topic}"].id'
    # No fixed event_id: the code derives a tick's from its publish time, one per TICK_SECONDS.
    assert attributes == {"sender": signal.sender}
    assert signal.period is not None
    assert signal.event_id(signal.payload(), 0.0) != signal.event_id(signal.payload(), float(signal.period()))
    signal.payload.model_validate({})  # the fixed body "{}" validates
    # The period the functions are told is the schedule's: every minute.
    assert job.get("schedule") == "* * * * *"
    assert _locals(config)["function_env"].get("TICK_SECONDS") == "60"


def test_step_markers_expire_by_the_field_the_code_writes(config):
    from shared.accounts import credentials, throttle
    from shared.core import claims, steps
    from shared.realtime import headcount

    ttls = {name: f for name, f in _of_type(config, "google_firestore_field").items() if "ttl_config" in f}
    assert list(ttls) == ["ttl"], "every TTL policy is one entry of local.ttl_collections"
    assert _expr(ttls["ttl"]["for_each"]) == "toset(local.ttl_collections)"
    assert (_expr(ttls["ttl"]["collection"]), ttls["ttl"]["field"]) == ("each.key", "expire_at")
    assert set(_locals(config)["ttl_collections"]) == {
        steps.STEPS, claims.CLAIMS, credentials.TOKENS, throttle.COLLECTION, headcount.STREAM_VIEWERS}
    assert '"expire_at": datetime.fromtimestamp(' in (ROOT / "shared" / "core" / "steps.py").read_text()
    assert '"expire_at": datetime.fromtimestamp(' in (ROOT / "shared" / "core" / "claims.py").read_text()
    assert '"expire_at": _expiry(' in (ROOT / "shared" / "accounts" / "credentials.py").read_text()
    assert '"expire_at": expire}' in (ROOT / "shared" / "accounts" / "throttle.py").read_text()
    assert '"expire_at": None if present else datetime.fromtimestamp(' in (
        ROOT / "shared" / "realtime" / "headcount.py").read_text()


def test_the_queries_have_their_composite_indexes(config):
    import inspect

    from shared.goals import exclusive
    from shared.goals import service as goals
    from shared.ledger import book
    from shared.ledger import service as ledger

    (index,) = _of_type(config, "google_firestore_index").values()
    assert _squash(index["for_each"]) == "${local.indexes}" and index["collection"] == "${each.value.collection}"
    (dynamic,) = index["dynamic"]
    content = _block(dynamic["fields"], "content")
    assert (content["field_path"], _squash(content["order"]), _squash(content["array_config"])) == (
        "${fields.value.path}", '${lookup(fields.value,"order",null)}', '${lookup(fields.value,"array",null)}')
    declared = {(i["collection"], tuple((f["path"], f.get("order") or f.get("array")) for f in i["fields"]))
                for i in _locals(config)["indexes"].values()}
    assert declared == {
        ("goals", (("active", "ASCENDING"), ("exp", "ASCENDING"))),
        ("goals", (("refund", "ASCENDING"), ("refund_due_at", "ASCENDING"))),
        ("goals", (("_cls", "ASCENDING"), ("settlement", "ASCENDING"), ("refund_due_at", "ASCENDING"))),
        ("ledger_transfers", (("debit", "ASCENDING"), ("hold", "ASCENDING"), ("created_at", "DESCENDING"))),
        ("ledger_transfers", (("parties", "CONTAINS"), ("created_at", "DESCENDING"))),
        ("ledger_transfers", (("credit", "ASCENDING"), ("hold", "ASCENDING"), ("state", "ASCENDING"),
                              ("id", "ASCENDING"))),
        ("posts", (("user_id", "ASCENDING"), ("status", "ASCENDING"), ("nbf", "DESCENDING"))),
        ("assets", (("encoding.status", "ASCENDING"), ("encoding.queued_at", "ASCENDING"))),
        ("posts", (("status", "ASCENDING"), ("nbf", "DESCENDING"))),
        ("items", (("user_id", "ASCENDING"), ("rank", "ASCENDING"))),
        ("chats", (("participants", "CONTAINS"), ("updated_at", "DESCENDING"))),
    }
    # the queries they serve
    assert '("exp", "<", before), active=True' in inspect.getsource(goals.overdue_active_goals)
    assert '("refund_due_at", "<", before), refund=None' in inspect.getsource(goals.overdue_refund_checks)
    assert '("refund_due_at", "<", before), _cls=TRIGGER_EXCLUSIVE, settlement=None' in inspect.getsource(
        exclusive.overdue_unused_checks)
    assert 'credit=account.id, hold=True, state="pending").order_by("id")' in inspect.getsource(book.pending_holds)
    from shared.assets import encoder
    from shared.posts import service as posts

    stalled = inspect.getsource(encoder.stalled)
    assert '("encoding.status", "in", ["queued", "encoding"])' in stalled and '("encoding.queued_at", "<"' in stalled

    listing = inspect.getsource(posts.of_user)
    assert all(f in listing for f in (
        '"user_id", "=="', '"status", "=="', '"nbf", "<="', 'order_by("nbf", direction="DESCENDING")'))
    from shared.feeds import service as feeds
    from shared.feeds import sources as feed_sources

    published = inspect.getsource(feed_sources.published_posts)
    assert all(f in published for f in ('"status", "=="', '"nbf", "<="', 'order_by("nbf", direction="DESCENDING")'))
    assert 'field_filter("user_id", "in", names[start:start + IN_LIMIT])).order_by("rank")' in inspect.getsource(
        feeds._ordered)
    wallet = inspect.getsource(ledger.wallet_of)
    assert 'debit=mine.id, hold=True).order_by("created_at", direction="DESCENDING")' in wallet
    assert '("parties", "array_contains", user_id)).order_by(\n        "created_at", direction="DESCENDING")' in wallet
    from shared.chats import service as chats

    listed = inspect.getsource(chats.chats_of)
    assert ('"participants", "array_contains", user_id))\n'
            '             .order_by("updated_at", direction="DESCENDING")') in listed


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


def _plan_variables(directory: pathlib.Path, tfvars: dict) -> subprocess.CompletedProcess:
    """`terraform plan` of variables.tf alone with these registry variables: it needs no provider,
    so it runs offline and proves the generated values fit the declared types and validations."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform binary not installed")
    shutil.copy(TF_DIR / "variables.tf", directory / "variables.tf")
    (directory / "registry.auto.tfvars.json").write_text(json.dumps(tfvars))
    settings = [f"-var={name}=x" for name in ("project", "jwt_secret", "task_secret", "pusher_app_id",
                                             "pusher_key", "pusher_secret", "pusher_host")]
    run = dict(cwd=directory, capture_output=True, text=True, timeout=120)
    subprocess.run([terraform, "init", "-input=false", "-backend=false"], check=True, **run)
    return subprocess.run([terraform, "plan", "-input=false", "-lock=false", "-no-color", *settings], **run)


def test_generated_tfvars_pass_the_variable_validations(tmp_path, tfvars):
    result = _plan_variables(tmp_path, tfvars)
    assert result.returncode == 0, result.stdout + result.stderr
    # An HTTP function may run up to 3600 s; only a receiver's timeout (its ack deadline) stops at 600.
    longest = json.loads(json.dumps(tfvars))
    longest["functions"][TASK_HANDLER]["timeout"] = 3600
    result = _plan_variables(tmp_path, longest)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_variable_validations_reject_what_the_platform_would(tmp_path, tfvars):
    bad = json.loads(json.dumps(tfvars))
    receiver = next(fn for fn in bad["functions"].values() if fn["kind"] == "receiver")
    receiver.update(max_attempts=3, memory="512", secrets=["SOME_SECRET"], timeout=700)
    del bad["functions"]["meta-api"]["public"]  # an http function must say who may invoke it
    bad["queues"][next(iter(bad["queues"]))]["max_dispatches_per_second"] = 1000
    result = _plan_variables(tmp_path, bad)
    assert result.returncode != 0
    for message in ("max_attempts must be between 5 and 100", "memory is a size", "secrets are among",
                    "1-600 s for a receiver", '"http" (with public)', "max_dispatches_per_second <= 500"):
        assert message in re.sub(r"\s+", " ", result.stderr), f"no validation said {message!r}:\n{result.stderr}"


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform binary not installed")
    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", str(TF_DIR.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, f"terraform fmt would rewrite:\n{result.stdout}{result.stderr}"
