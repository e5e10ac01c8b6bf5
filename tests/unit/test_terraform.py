"""The terraform root module in infra/terraform against the registry.

The registry is the one declaration of functions, topics, queues and buckets; the terraform
module only iterates over the variables generated from it. These tests check both ends: the
generated tfvars file matches the registry, and the module consumes every generated variable
with `for_each` instead of a hand-kept list, each function's, queue's and bucket's options included.
"""
from __future__ import annotations

import json
import re

import pytest

from shared.tools import generate
from tests.unit.terraform_config import (
    HCL_TYPES,
    KINDS,
    REGISTRY_VARIABLES,
    SIZING,
    TASK_HANDLER,
    TFVARS,
    _block,
    _expr,
    _for_each_over,
    _kind,
    _labelled,
    _locals,
    _of_type,
    _options,
    _render,
    _squash,
    _tf_files,
    kebab,
)

# --- the generated variables and the registry --------------------------------------------------


def test_tfvars_file_is_what_the_registry_generates(registry, tfvars):
    assert generate.TFVARS == TFVARS
    expected = json.loads(json.dumps(generate.terraform_variables(registry)))
    assert tfvars == expected, "registry.auto.tfvars.json is stale: run .venv/bin/python -m shared.tools.generate"


def test_tfvars_hold_exactly_the_registry(registry, tfvars):
    # Both directions, per variable: nothing missing, nothing the registry lacks.
    assert set(tfvars) == REGISTRY_VARIABLES

    # Every function is of one kind, each deployed function listed once (no http function and
    # receiver share a name, which would drop one of them).
    assert {fn["kind"] for fn in tfvars["functions"].values()} <= set(KINDS)
    expected_http = {f"{kebab(s)}-api" for s in registry.surfaces} | {TASK_HANDLER, *registry.worker_options}
    assert set(_kind(tfvars, "http")) == expected_http
    assert set(_kind(tfvars, "receiver")) == set(registry.receivers)
    assert len(tfvars["functions"]) == len(expected_http) + len(registry.receivers)
    assert tfvars["topics"] == registry.topics
    assert set(tfvars["queues"]) == set(registry.queues) == set(registry.queue_options)
    assert set(tfvars["buckets"]) == set(registry.buckets)

    for name, receiver in _kind(tfvars, "receiver").items():
        declared = registry.receivers[name]
        assert receiver["entry_point"] == declared.entry_point
        assert receiver["signal"] == declared.signal == declared.source.sender
        assert receiver["topic"] == declared.source.topic
        assert receiver["topic"] in tfvars["topics"], f"receiver {name} listens on an undeclared topic"

    queued = {task for queue in tfvars["queues"].values() for task in queue["tasks"]}
    assert queued == set(registry.tasks), "queues list tasks the registry lacks, or miss some"

    for name, bucket in tfvars["buckets"].items():
        declared = registry.buckets[name]
        assert bucket["purpose"] == declared.purpose
        assert bucket["notification_topic"] == (declared.notify.topic if declared.notify else None)
        assert bucket["notification_topic"] in tfvars["topics"] + [None], f"bucket {name} notifies an undeclared topic"


def test_tfvars_carry_each_functions_and_queues_options(registry, tfvars):
    # Every deployed function has its own declared options, not one size for all.
    retry = {"min_backoff", "max_backoff", "max_attempts"}
    for name, fn in tfvars["functions"].items():
        options = _options(registry, name)
        for field in ("memory", "cpu", "timeout", "concurrency", "min_instances", "max_instances"):
            assert fn[field] == getattr(options, field), f"{name}.{field}"
        assert fn["secrets"] == sorted(options.secrets), f"{name} secrets"
        # Each kind carries only its own fields (the other kind's are left out, null in terraform).
        if fn["kind"] == "receiver":  # only Pub/Sub retries: HTTP functions are retried by their callers
            assert {k: fn[k] for k in retry} == {k: getattr(options.retry, k) for k in retry}, name
            assert not {"public", "routes"} & set(fn), f"receiver {name} carries HTTP fields"
        else:
            assert not (retry | {"topic", "signal"}) & set(fn), f"HTTP function {name} carries a receiver's fields"
    for name, queue in tfvars["queues"].items():
        assert {k: v for k, v in queue.items() if k != "tasks"} == registry.queue_options[name].variables(), name
    # The declarations differ (so the checks below would catch one literal size for all).
    sizes = {(fn["memory"], fn["timeout"], tuple(fn["secrets"])) for fn in _kind(tfvars, "receiver").values()}
    assert len(sizes) > 1, "every receiver is declared alike: nothing tells per-function options apart"


def test_every_tfvars_key_is_a_declared_variable(config, tfvars):
    variables = _labelled(config, "variable")
    missing = set(tfvars) - set(variables)
    assert not missing, f"tfvars keys without a variable block: {sorted(missing)}"

    for name, value in tfvars.items():
        declared_type = _squash(variables[name].get("type"))
        if isinstance(value, list):
            assert declared_type == "${list(string)}", f"var.{name}: {declared_type}"
            continue
        # map(object({...})): the object's attributes are exactly the generated keys, each of the
        # type its generated values have (null fits any type: a bucket without notifications).
        # An attribute some entries leave out (one kind's fields) is optional(), the others required.
        assert declared_type.startswith("${map(object({"), f"var.{name}: {declared_type}"
        declared = re.findall(r"(\w+)=(optional\()?(string|number|bool|list\(string\))", declared_type)
        attributes = {attribute: hcl_type for attribute, _, hcl_type in declared}
        optional = {attribute for attribute, wrapped, _ in declared if wrapped}
        generated = {key for entry in value.values() for key in entry}
        assert set(attributes) == generated, (
            f"var.{name} declares {sorted(attributes)}, tfvars hold {sorted(generated)}")
        everywhere = {key for key in generated if all(key in entry for entry in value.values())}
        assert optional == generated - everywhere, (
            f"var.{name}: optional {sorted(optional)}, left out {sorted(generated - everywhere)}")
        for key, entry in value.items():
            for attribute, v in entry.items():
                if v is not None:
                    assert HCL_TYPES[type(v)] == attributes[attribute], f"var.{name}[{key}].{attribute} = {v!r}"


def test_secrets_and_settings_are_variables(config):
    variables = _labelled(config, "variable")
    for name in ("project", "region"):
        assert name in variables
    assert variables["region"].get("default") == "us-central1"
    for name in ("jwt_secret", "task_secret", "pusher_app_id", "pusher_key", "pusher_secret", "pusher_host"):
        assert name in variables, f"missing variable {name}"
        assert variables[name].get("sensitive") is True, f"var.{name} must be sensitive"
        assert "default" not in variables[name], f"var.{name} must not have a default"
    # Every variable is used (a global left behind by per-function options would be dead weight).
    text = "".join(path.read_text() for path in _tf_files())
    unused = [name for name in variables if f"var.{name}" not in text]
    assert not unused, f"declared but never used: {unused}"


# --- the module iterates over the generated variables ---------------------------------------


def test_functions_come_only_from_the_registry_map(config):
    functions = _of_type(config, "google_cloudfunctions2_function")
    iterated = sorted(_squash(body.get("for_each")) for body in functions.values())
    # Exactly one resource, over every deployed function; a function without for_each would be hand-kept.
    assert iterated == ["${var.functions}"], iterated
    (body,) = functions.values()
    assert _squash(body.get("name")) == "${each.key}"
    build = _block(body, "build_config")
    runtime = build.get("runtime")
    if _expr(runtime) == "local.runtime":
        runtime = _locals(config).get("runtime")
    assert runtime == "python311"
    assert _squash(build.get("entry_point")) == "${each.value.entry_point}"
    storage = _block(_block(build, "source"), "storage_source")
    assert _squash(storage.get("object")) == "${google_storage_bucket_object.source.name}"


def test_each_function_is_sized_by_its_own_options(config, tfvars, registry):
    (body,) = _for_each_over(config, "google_cloudfunctions2_function", "var.functions").values()
    service = _block(body, "service_config")
    for name, entry in tfvars["functions"].items():
        options = _options(registry, name)
        rendered = {attribute: _render(service.get(attribute), entry) for attribute in SIZING}
        assert rendered == {attribute: getattr(options, field) for attribute, field in SIZING.items()}, name


def test_only_receivers_are_cloudevent_functions(config):
    (body,) = _for_each_over(config, "google_cloudfunctions2_function", "var.functions").values()
    # Every function's source file; the CloudEvent signature for receivers only (the others take requests).
    environment = _squash(_block(body, "build_config").get("environment_variables"))
    assert re.fullmatch(
        r'\$\{merge\(\{GOOGLE_FUNCTION_SOURCE=each\.value\.source\},'
        r'each\.value\.kind=="receiver"\?\{GOOGLE_FUNCTION_SIGNATURE_TYPE="cloudevent"\}:\{\}\)\}', environment
    ), f"unexpected build environment: {environment}"
    assert "event_trigger" not in body, "receivers are pushed to by their own subscription, not an Eventarc trigger"


def test_locals_and_outputs_split_the_functions_by_kind(config):
    (fn_name,) = _of_type(config, "google_cloudfunctions2_function")
    locals_, outputs = _locals(config), _labelled(config, "output")
    for local, kind, output in (("http_functions", "http", "http_function_uris"),
                                ("receivers", "receiver", "receiver_function_uris")):
        assert re.fullmatch(rf'\$\{{\{{for(\w+),(\w+)invar\.functions:\1=>\2if\2\.kind=="{kind}"\}}\}}',
                            _squash(locals_.get(local))), f"local.{local}: {locals_.get(local)}"
        assert re.fullmatch(
            rf"\$\{{\{{for(\w+),\w+inlocal\.{local}:\1=>google_cloudfunctions2_function\.{fn_name}\[\1\]"
            r"\.service_config\[0\]\.uri\}\}", _squash(outputs[output].get("value"))), f"output {output}"


@pytest.mark.parametrize(
    "rtype, expr",
    [
        ("google_pubsub_topic", "${toset(var.topics)}"),
        ("google_pubsub_subscription", "${local.receivers}"),
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
        "google_pubsub_subscription": set(_kind(tfvars, "receiver")),
        "google_cloud_tasks_queue": set(tfvars["queues"]),
        "google_storage_bucket": set(tfvars["buckets"]),
    }[rtype]
    for name, other in _of_type(config, rtype).items():
        if other is body:
            continue
        assert "for_each" not in other or "var." not in str(other["for_each"]), (
            f"{rtype}.{name} iterates a variable too")
        literal = str(other.get("name", ""))
        assert literal not in registry_names and not any(literal.endswith(f"-{n}") for n in registry_names), (
            f"{rtype}.{name} hand-declares {literal!r}, which the registry already declares"
        )


def test_queues_are_all_from_var_queues(config, tfvars, registry):
    queues = _of_type(config, "google_cloud_tasks_queue")
    assert queues and all(_squash(b.get("for_each")) == "${var.queues}" for b in queues.values())
    (body,) = queues.values()
    retry, rates = _block(body, "retry_config"), _block(body, "rate_limits")
    # Each queue's rate and retries are its declared QueueOptions.
    for name, entry in tfvars["queues"].items():
        declared = registry.queue_options[name]
        assert {k: _render(rates.get(k), entry)
                for k in ("max_dispatches_per_second", "max_concurrent_dispatches")} == {
            "max_dispatches_per_second": declared.max_dispatches_per_second,
            "max_concurrent_dispatches": declared.max_concurrent_dispatches,
        }, name
        assert {k: _render(retry.get(k), entry)
                for k in ("max_attempts", "min_backoff", "max_backoff", "max_doublings")} == {
            "max_attempts": declared.max_attempts, "min_backoff": f"{declared.min_backoff}s",
            "max_backoff": f"{declared.max_backoff}s", "max_doublings": declared.max_doublings,
        }, name
        assert declared.max_attempts >= 10, f"queue {name} gives up on a task too soon"


def test_every_receiver_has_a_dead_lettered_push_subscription(config, tfvars, registry):
    ((sub_name, body),) = _for_each_over(config, "google_pubsub_subscription", "local.receivers").items()
    (fn_name,) = _for_each_over(config, "google_cloudfunctions2_function", "var.functions")

    # Keyed on local.receivers, so one subscription per receiver; named and routed by it.
    assert set(_kind(tfvars, "receiver")) == set(registry.receivers)
    assert _squash(body.get("topic")) == "${google_pubsub_topic.topics[each.value.topic].id}"

    push = _block(body, "push_config")
    assert _squash(push.get("push_endpoint")) == (
        f"${{google_cloudfunctions2_function.{fn_name}[each.key].service_config[0].uri}}"
    )
    oidc = _block(push, "oidc_token")
    assert "google_service_account." in str(oidc.get("service_account_email"))

    dead = _block(body, "dead_letter_policy")
    dead_topic = re.fullmatch(r"\$\{google_pubsub_topic\.(\w+)\.id\}", _squash(dead.get("dead_letter_topic")))
    assert dead_topic, dead.get("dead_letter_topic")
    assert "for_each" not in _of_type(config, "google_pubsub_topic")[dead_topic.group(1)]

    _block(body, "retry_policy")  # its values: test_receiver_options_reach_their_subscription

    # The dead-letter topic keeps what it receives, and the Pub/Sub agent may use it all.
    keepers = [
        b for b in _of_type(config, "google_pubsub_subscription").values()
        if _squash(b.get("topic")) == f"${{google_pubsub_topic.{dead_topic.group(1)}.id}}"
    ]
    assert keepers and keepers[0].get("message_retention_duration") == "604800s"
    agent = _locals(config).get("pubsub_service_agent", "")
    assert re.fullmatch(
        r"serviceAccount:service-\$\{data\.google_project\.\w+\.number\}"
        r"@gcp-sa-pubsub\.iam\.gserviceaccount\.com",
        agent,
    ), agent
    publishers = [
        b for b in _of_type(config, "google_pubsub_topic_iam_member").values()
        if _expr(b.get("topic")) == f"google_pubsub_topic.{dead_topic.group(1)}.id"
        and b.get("role") == "roles/pubsub.publisher" and _expr(b.get("member")) == "local.pubsub_service_agent"
    ]
    assert len(publishers) == 1, "the Pub/Sub service agent must publish to the dead-letter topic"
    subscribers = [
        b for b in _for_each_over(config, "google_pubsub_subscription_iam_member", "local.receivers").values()
        if b.get("role") == "roles/pubsub.subscriber" and _expr(b.get("member")) == "local.pubsub_service_agent"
        and _expr(b.get("subscription")) == f"google_pubsub_subscription.{sub_name}[each.key].name"
    ]
    assert len(subscribers) == 1, "the Pub/Sub service agent must subscribe to every receiver subscription"


def test_receiver_options_reach_their_subscription(config, tfvars, registry):
    (body,) = _for_each_over(config, "google_pubsub_subscription", "local.receivers").values()
    dead, retry = _block(body, "dead_letter_policy"), _block(body, "retry_policy")
    for name, entry in _kind(tfvars, "receiver").items():
        options = registry.receivers[name].options
        # Dead-lettered after the receiver's own max_attempts, with its own backoff.
        assert _render(dead.get("max_delivery_attempts"), entry) == options.retry.max_attempts, name
        assert _render(retry.get("minimum_backoff"), entry) == f"{options.retry.min_backoff}s", name
        assert _render(retry.get("maximum_backoff"), entry) == f"{options.retry.max_backoff}s", name
        # Pub/Sub waits for the push response as long as the function may run (10-600 s allowed).
        assert _render(body.get("ack_deadline_seconds"), entry) == max(10, options.timeout), name
        assert 5 <= options.retry.max_attempts <= 100 and options.retry.max_backoff <= 600, (
            f"{name}: beyond Pub/Sub's limits")
    # The sweeper runs longer than the default: its subscription must wait for it.
    sweeper = tfvars["functions"]["maintenance-tick--flush-pending-steps"]
    assert _render(body.get("ack_deadline_seconds"), sweeper) == registry.receivers[
        "maintenance-tick--flush-pending-steps"].options.timeout > 60


def test_push_account_may_invoke_every_receiver(config):
    (fn_name,) = _for_each_over(config, "google_cloudfunctions2_function", "var.functions")
    invokers = [
        b for b in _for_each_over(config, "google_cloud_run_service_iam_member", "local.receivers").values()
        if b.get("role") == "roles/run.invoker"
        and f"google_cloudfunctions2_function.{fn_name}[each.key]" in str(b.get("service"))
    ]
    assert len(invokers) == 1, invokers
    (sub,) = _for_each_over(config, "google_pubsub_subscription", "local.receivers").values()
    push_account = _squash(_block(_block(sub, "push_config"), "oidc_token")["service_account_email"])
    assert _squash(invokers[0]["member"]) == f"serviceAccount:{push_account}"


# --- tasks and routes ------------------------------------------------------------------------


def test_every_task_maps_to_a_declared_queue(registry, tfvars):
    assert registry.tasks, "the registry declares no task: nothing checked"
    for name, task in registry.tasks.items():
        assert task.queue in tfvars["queues"], f"task {name} uses undeclared queue {task.queue}"
        assert name in tfvars["queues"][task.queue]["tasks"], f"task {name} is not listed under queue {task.queue}"


def test_task_handler_routes_cover_every_task(registry, tfvars, config):
    assert registry.worker_options, "no task runs in a worker of its own: nothing checked there"
    routed = set()
    for function in (TASK_HANDLER, *registry.worker_options):
        handler = tfvars["functions"].get(function)
        assert handler is not None
        assert handler["kind"] == "http" and handler["public"] is False
        assert handler["entry_point"] == function.replace("-", "_") and handler["source"] == "functions/tasks.py"
        mine = {f"POST /{t.name}" for t in registry.tasks.values() if t.function == function}
        assert set(handler["routes"]) == mine, function
        routed |= mine
    assert routed == {f"POST /{name}" for name in registry.tasks}  # each task in exactly one function
    # The module names the same function as its task handler.
    assert _locals(config).get("task_handler") == TASK_HANDLER


def test_every_registry_route_is_served(registry, tfvars):
    assert registry.routes, "the registry declares no route: nothing checked"
    served = {
        route: name
        for name, fn in _kind(tfvars, "http").items()
        if name != TASK_HANDLER and name not in registry.worker_options
        for route in fn["routes"]
    }
    for route in registry.routes:
        key = f"{route.method} {route.path}"
        assert key in served, f"{key} is served by no HTTP function"
        assert served[key] == f"{kebab(route.surface)}-api"
    declared = {f"{r.method} {r.path}" for r in registry.routes}
    assert not set(served) - declared, (
        f"HTTP functions serve routes the registry lacks: {sorted(set(served) - declared)}")


def test_http_invokers_follow_public_flag(config):
    invokers = _of_type(config, "google_cloud_run_service_iam_member")
    public = [b for b in invokers.values() if b.get("member") == "allUsers"]
    assert len(public) == 1
    assert re.search(r"inlocal\.http_functions:.*if(\w+)\.public\}", _squash(public[0].get("for_each")))
    private = [
        b for b in invokers.values()
        if "google_service_account.tasks.email" in str(b.get("member")) and b.get("role") == "roles/run.invoker"
    ]
    assert len(private) == 1
    assert re.search(r"inlocal\.http_functions:.*if!(\w+)\.public\}", _squash(private[0].get("for_each")))


def test_the_pusher_webhook_url_is_the_webhook_routes_function(config, registry, tfvars):
    """What the Pusher app is told to call: the function serving POST /pusher/webhooks, that path."""
    value = _squash(_labelled(config, "output")["pusher_webhook_url"]["value"])
    found = re.fullmatch(r'\$\{google_cloudfunctions2_function\.functions\["([\w-]+)"\]\.service_config\[0\]\.uri\}'
                         r'(/[\w/]+)', value)
    assert found, value
    (route,) = [r for r in registry.routes if r.path == found[2]]
    assert route.method == "POST" and route.public
    assert f"{route.surface}-api" == found[1] and tfvars["functions"][found[1]]["kind"] == "http"
