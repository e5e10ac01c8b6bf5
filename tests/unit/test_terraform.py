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

from tests.unit.terraform_config import (  # noqa: F401  (fixtures: config, registry, tfvars)
    HCL_TYPES,
    REGISTRY_VARIABLES,
    SIZING,
    TASK_HANDLER,
    TFVARS,
    _block,
    _expr,
    _for_each_over,
    _labelled,
    _locals,
    _of_type,
    _options,
    _render,
    _squash,
    _tf_files,
    config,
    generate,
    kebab,
    registry,
    tfvars,
)

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
    assert set(tfvars["queues"]) == set(registry.queues) == set(registry.queue_options)
    assert set(tfvars["buckets"]) == set(registry.buckets)

    for name, receiver in tfvars["receivers"].items():
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
    for group in ("http_functions", "receivers"):
        for name, fn in tfvars[group].items():
            options = _options(registry, name)
            for field in ("memory", "cpu", "timeout", "concurrency", "min_instances", "max_instances"):
                assert fn[field] == getattr(options, field), f"{group}.{name}.{field}"
            assert fn["secrets"] == sorted(options.secrets), f"{group}.{name} secrets"
            retry = {"min_backoff", "max_backoff", "max_attempts"}
            if group == "receivers":  # only Pub/Sub retries: HTTP functions are retried by their callers
                assert {k: fn[k] for k in retry} == {k: getattr(options.retry, k) for k in retry}, name
            else:
                assert not retry & set(fn), f"HTTP function {name} carries a retry policy nobody applies"
    for name, queue in tfvars["queues"].items():
        assert {k: v for k, v in queue.items() if k != "tasks"} == registry.queue_options[name].variables(), name
    # The declarations differ (so the checks below would catch one literal size for all).
    sizes = {(fn["memory"], fn["timeout"], tuple(fn["secrets"])) for fn in tfvars["receivers"].values()}
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
        assert declared_type.startswith("${map(object({"), f"var.{name}: {declared_type}"
        attributes = dict(re.findall(r"(\w+)=(string|number|bool|list\(string\))", declared_type))
        generated = {key for entry in value.values() for key in entry}
        assert set(attributes) == generated, f"var.{name} declares {sorted(attributes)}, tfvars hold {sorted(generated)}"
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


def test_each_function_is_sized_by_its_own_options(config, tfvars, registry):
    for group in ("http_functions", "receivers"):
        (body,) = _for_each_over(config, "google_cloudfunctions2_function", f"var.{group}").values()
        service = _block(body, "service_config")
        for name, entry in tfvars[group].items():
            options = _options(registry, name)
            rendered = {attribute: _render(service.get(attribute), entry) for attribute in SIZING}
            assert rendered == {attribute: getattr(options, field) for attribute, field in SIZING.items()}, name


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


def test_queues_are_all_from_var_queues(config, tfvars, registry):
    queues = _of_type(config, "google_cloud_tasks_queue")
    assert queues and all(_squash(b.get("for_each")) == "${var.queues}" for b in queues.values())
    (body,) = queues.values()
    retry, rates = _block(body, "retry_config"), _block(body, "rate_limits")
    # Each queue's rate and retries are its declared QueueOptions.
    for name, entry in tfvars["queues"].items():
        declared = registry.queue_options[name]
        assert {k: _render(rates.get(k), entry) for k in ("max_dispatches_per_second", "max_concurrent_dispatches")} == {
            "max_dispatches_per_second": declared.max_dispatches_per_second,
            "max_concurrent_dispatches": declared.max_concurrent_dispatches,
        }, name
        assert {k: _render(retry.get(k), entry) for k in ("max_attempts", "min_backoff", "max_backoff", "max_doublings")} == {
            "max_attempts": declared.max_attempts, "min_backoff": f"{declared.min_backoff}s",
            "max_backoff": f"{declared.max_backoff}s", "max_doublings": declared.max_doublings,
        }, name
        assert declared.max_attempts >= 10, f"queue {name} gives up on a task too soon"


def test_every_receiver_has_a_dead_lettered_push_subscription(config, tfvars, registry):
    ((sub_name, body),) = _for_each_over(config, "google_pubsub_subscription", "var.receivers").items()
    (fn_name,) = _for_each_over(config, "google_cloudfunctions2_function", "var.receivers")

    # Keyed on var.receivers, so one subscription per receiver; named and routed by it.
    assert set(tfvars["receivers"]) == set(registry.receivers)
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


def test_receiver_options_reach_their_subscription(config, tfvars, registry):
    (body,) = _for_each_over(config, "google_pubsub_subscription", "var.receivers").values()
    dead, retry = _block(body, "dead_letter_policy"), _block(body, "retry_policy")
    for name, entry in tfvars["receivers"].items():
        options = registry.receivers[name].options
        # Dead-lettered after the receiver's own max_attempts, with its own backoff.
        assert _render(dead.get("max_delivery_attempts"), entry) == options.retry.max_attempts, name
        assert _render(retry.get("minimum_backoff"), entry) == f"{options.retry.min_backoff}s", name
        assert _render(retry.get("maximum_backoff"), entry) == f"{options.retry.max_backoff}s", name
        # Pub/Sub waits for the push response as long as the function may run (10-600 s allowed).
        assert _render(body.get("ack_deadline_seconds"), entry) == max(10, options.timeout), name
        assert 5 <= options.retry.max_attempts <= 100 and options.retry.max_backoff <= 600, f"{name}: beyond Pub/Sub's limits"
    # The sweeper runs longer than the default: its subscription must wait for it.
    sweeper = tfvars["receivers"]["maintenance-tick--flush-pending-steps"]
    assert _render(body.get("ack_deadline_seconds"), sweeper) == registry.receivers[
        "maintenance-tick--flush-pending-steps"].options.timeout > 60


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
        assert name in tfvars["queues"][task.queue]["tasks"], f"task {name} is not listed under queue {task.queue}"


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
