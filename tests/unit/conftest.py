"""Fixtures of the terraform tests (test_terraform*.py), one of each per test module: the root
module's blocks, the registry and the generated tfvars (loaded by tests/unit/terraform_config.py)."""
from __future__ import annotations

import json

import pytest

from shared import app
from tests.unit.terraform_config import TFVARS, load_blocks


@pytest.fixture(scope="module")
def config() -> dict[str, list]:
    """Every top-level block of every .tf file: block type -> list of parsed blocks."""
    return load_blocks()


@pytest.fixture(scope="module")
def registry():
    return app.load()


@pytest.fixture(scope="module")
def tfvars() -> dict:
    return json.loads(TFVARS.read_text())
