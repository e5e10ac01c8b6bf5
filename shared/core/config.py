"""Settings from the environment, with local defaults that match emulators.sh."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class Settings:
    project: str
    region: str
    jwt_secret: str
    task_secret: str
    tasks_target_url: str
    tasks_emulator_host: str | None
    tasks_service_account: str | None
    pusher_app_id: str
    pusher_key: str
    pusher_secret: str
    pusher_host: str
    pusher_port: int
    pusher_ssl: bool
    sweep_after: float  # seconds the normal path gets before the maintenance tick makes good

    @property
    def queue_parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"


SECRETS = ("JWT_SECRET", "TASK_SECRET", "PUSHER_SECRET")


@functools.cache
def settings() -> Settings:
    # On Cloud Run (K_SERVICE is set) the local defaults would let anyone mint tokens or sign tasks.
    missing = [name for name in SECRETS if os.environ.get("K_SERVICE") and not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"set {', '.join(missing)}: the local defaults are public")
    return Settings(
        project=_env("GOOGLE_CLOUD_PROJECT", "demo-local"),
        region=_env("FUNCTION_REGION", "us-central1"),
        jwt_secret=_env("JWT_SECRET", "local-jwt-secret-change-me-0123456789abcdef"),
        task_secret=_env("TASK_SECRET", "local-task-secret-change-me-0123456789abcdef"),
        tasks_target_url=_env("TASKS_TARGET_URL", "http://127.0.0.1:8080/tasks").rstrip("/"),
        tasks_emulator_host=os.environ.get("CLOUD_TASKS_EMULATOR_HOST") or None,
        tasks_service_account=os.environ.get("TASKS_SERVICE_ACCOUNT") or None,
        pusher_app_id=_env("PUSHER_APP_ID", "100001"),
        pusher_key=_env("PUSHER_KEY", "local-key"),
        pusher_secret=_env("PUSHER_SECRET", "local-secret"),
        pusher_host=_env("PUSHER_HOST", "127.0.0.1"),
        pusher_port=int(_env("PUSHER_PORT", "6001")),
        pusher_ssl=_env("PUSHER_SSL", "false").lower() == "true",
        sweep_after=float(_env("STEPS_SWEEP_AFTER", "60")),
    )
