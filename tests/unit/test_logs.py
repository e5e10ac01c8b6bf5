"""Structured logs: Cloud Logging's JSON fields, context binding, the trace header."""
from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from shared.core import logs


@pytest.fixture
def lines(monkeypatch):
    """What a logger writes through the JSON formatter, one parsed object per record."""
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "demo-test")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    logger.removeHandler(handler)


def test_records_are_cloud_logging_json(lines):
    logger, read = lines
    logger.debug("d")
    logger.info("hello %s", "world")
    logger.warning("w")
    logger.error("e")
    logger.critical("c")
    entries = read()
    assert [e["severity"] for e in entries] == ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
    assert entries[1]["message"] == "hello world" and entries[1]["logger"] == "tests.logs"
    assert entries[1]["time"].endswith("Z") and "logging.googleapis.com/trace" not in entries[1]


def test_exceptions_are_appended_to_the_message(lines):
    logger, read = lines
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("failed")
    (entry,) = read()
    assert entry["severity"] == "ERROR" and entry["message"].startswith("failed\nTraceback")
    assert "RuntimeError: boom" in entry["message"]


def test_bound_fields_nest_merge_and_end_with_their_block(lines):
    logger, read = lines
    with logs.bound(trace="105445aa7843bc8bf206b12000100000", method="POST"):
        with logs.bound(step="create_goal:1", event_id="goal.created:1") as current:
            assert current == logs.fields()
            logger.info("inner")
        logger.info("outer")
    logger.info("after")
    inner, outer, after = read()
    assert inner["logging.googleapis.com/trace"] == "projects/demo-test/traces/105445aa7843bc8bf206b12000100000"
    assert (inner["step"], inner["event_id"], inner["method"]) == ("create_goal:1", "goal.created:1", "POST")
    assert "step" not in outer and outer["method"] == "POST"
    assert "method" not in after and "logging.googleapis.com/trace" not in after
    assert logs.fields() == {}


def test_bound_fields_stay_in_their_thread():
    seen = []
    with logs.bound(task="deactivate_goal"):
        thread = threading.Thread(target=lambda: seen.append(logs.fields()))
        thread.start()
        thread.join()
    assert seen == [{}]


@pytest.mark.parametrize("header, trace", [
    ("105445aa7843bc8bf206b12000100000/1;o=1", "105445aa7843bc8bf206b12000100000"),
    ("105445AA7843BC8BF206B12000100000", "105445aa7843bc8bf206b12000100000"),
    ("105445aa7843bc8bf206b12000100000;o=1", "105445aa7843bc8bf206b12000100000"),
    ("105445aa7843bc8bf206b1200010000/1", None),  # 31 digits
    ("not-a-trace/1;o=1", None), ("", None), (None, None), ("105445aa7843bc8bf206b12000100000\n/1", None),
])
def test_trace_ids_come_from_the_cloud_trace_header(header, trace):
    assert logs.trace_from_header(header) == trace


def test_setup_installs_one_json_handler():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        root.handlers = [h for h in handlers if not isinstance(h.formatter, logs.JsonFormatter)]
        logs.setup()
        logs.setup()
        installed = [h for h in root.handlers if isinstance(h.formatter, logs.JsonFormatter)]
        assert len(installed) == 1 and root.level == logging.INFO
    finally:
        root.handlers = handlers
        root.setLevel(level)
