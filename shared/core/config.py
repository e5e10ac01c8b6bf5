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
    secrets: dict[str, str | None]  # None: this function was not given it (FunctionOptions.secrets)
    tasks_target_url: str
    # where a worker's tasks go: "{function}" is replaced by the worker's name; locally the host
    # routes every task by its name, so the task handler's URL serves them too
    tasks_worker_url: str
    tasks_emulator_host: str | None
    tasks_service_account: str | None
    pusher_app_id: str
    pusher_key: str
    pusher_host: str
    pusher_port: int
    pusher_ssl: bool
    sweep_after: float  # seconds the normal path gets before the maintenance tick makes good
    tick_seconds: float  # the maintenance tick's period (Cloud Scheduler: every minute)
    platform_share_percent: int  # the platform's share of gifts and of a show's ticket sales
    exclusive_answer_seconds: int  # how long a streamer has to answer a 1-on-1 invitation
    exclusive_start_grace: int  # seconds after an agreed invitation before its prepaid is refunded unused
    rtc_api_url: str  # BytePlus RTC OpenAPI (https://open.byteplusapi.com); locally shared.localstack.rtc
    rtc_app_id: str
    rtc_business_id: str  # empty: the app's default business
    rtc_access_key_id: str
    rtc_region: str  # the signature's credential scope, e.g. ap-singapore-1
    shop_url: str  # the shop's public base URL: the payment chain's redirects and the gateway's returnUrl
    sonet_url: str  # So-net mpay (https://mpay.so-net.net.tw); locally shared.localstack.sonet
    sonet_icp_id: str  # our merchant id at So-net
    sonet_openssl_seclevel: int  # So-net's TLS wants OpenSSL's security level lowered (1)
    order_ttl_seconds: int  # an order not paid by then expires

    @property
    def queue_parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def secret(self, name: str) -> str:
        value = self.secrets.get(name)
        if value is None:
            raise RuntimeError(f"{name} is not among this function's secrets (FunctionOptions.secrets)")
        return value

    @property
    def jwt_secret(self) -> str:
        return self.secret("JWT_SECRET")

    @property
    def task_secret(self) -> str:
        return self.secret("TASK_SECRET")

    @property
    def pusher_secret(self) -> str:
        return self.secret("PUSHER_SECRET")

    @property
    def rtc_secret_key(self) -> str:
        return self.secret("RTC_SECRET_KEY")

    @property
    def rtc_app_key(self) -> str:  # signs the AccessTokens viewers join rooms with
        return self.secret("RTC_APP_KEY")

    @property
    def shop_secret(self) -> str:  # signs the payment chain's metadata, links and cookies
        return self.secret("SHOP_SECRET")


# what FunctionOptions.secrets may name
SECRETS = ("JWT_SECRET", "TASK_SECRET", "PUSHER_SECRET", "RTC_SECRET_KEY", "RTC_APP_KEY", "SHOP_SECRET")
LOCAL_SECRETS = {
    "JWT_SECRET": "local-jwt-secret-change-me-0123456789abcdef",
    "TASK_SECRET": "local-task-secret-change-me-0123456789abcdef",
    "PUSHER_SECRET": "local-secret",
    "RTC_SECRET_KEY": "local-rtc-secret-key",
    "RTC_APP_KEY": "local-rtc-app-key",
    "SHOP_SECRET": "local-shop-secret-change-me-0123456789abcdef",
}


def _secrets() -> dict[str, str | None]:
    """Locally every secret has a public default. On Cloud Run (K_SERVICE is set) those defaults
    would let anyone mint tokens or sign tasks: a function gets only the secrets its options
    declare (FUNCTION_SECRETS, from terraform), and refuses to start when one of them is missing."""
    if not os.environ.get("K_SERVICE"):
        return {name: _env(name, default) for name, default in LOCAL_SECRETS.items()}
    declared = os.environ.get("FUNCTION_SECRETS")
    wanted = declared.split() if declared is not None else list(SECRETS)
    missing = [name for name in wanted if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"set {', '.join(missing)}: the local defaults are public")
    return {name: os.environ[name] if name in wanted else None for name in SECRETS}


def _local(default: str) -> str:
    """A default for the local stack only: on Cloud Run the setting stays empty unless it is set."""
    return "" if os.environ.get("K_SERVICE") else default


def _percent(name: str, default: str) -> int:
    value = int(_env(name, default))
    if not 0 <= value < 100:  # at 100 a payout would leave nothing to post, and gifts would move 0
        raise RuntimeError(f"{name} must be 0-99, not {value}")
    return value


@functools.cache
def settings() -> Settings:
    return Settings(
        project=_env("GOOGLE_CLOUD_PROJECT", "demo-local"),
        region=_env("FUNCTION_REGION", "us-central1"),
        secrets=_secrets(),
        tasks_target_url=_env("TASKS_TARGET_URL", "http://127.0.0.1:8080/tasks").rstrip("/"),
        tasks_worker_url=_env("TASKS_WORKER_URL", _env("TASKS_TARGET_URL", "http://127.0.0.1:8080/tasks")).rstrip("/"),
        tasks_emulator_host=os.environ.get("CLOUD_TASKS_EMULATOR_HOST") or None,
        tasks_service_account=os.environ.get("TASKS_SERVICE_ACCOUNT") or None,
        pusher_app_id=_env("PUSHER_APP_ID", "100001"),
        pusher_key=_env("PUSHER_KEY", "local-key"),
        pusher_host=_env("PUSHER_HOST", "127.0.0.1"),
        pusher_port=int(_env("PUSHER_PORT", "6001")),
        pusher_ssl=_env("PUSHER_SSL", "false").lower() == "true",
        sweep_after=float(_env("STEPS_SWEEP_AFTER", "60")),
        tick_seconds=float(_env("TICK_SECONDS", "60")),
        platform_share_percent=_percent("PLATFORM_SHARE_PERCENT", "30"),
        exclusive_answer_seconds=int(_env("EXCLUSIVE_ANSWER_SECONDS", "120")),
        exclusive_start_grace=int(_env("EXCLUSIVE_START_GRACE", "65")),
        rtc_api_url=_env("RTC_API_URL", "http://127.0.0.1:8129").rstrip("/"),
        rtc_app_id=_env("RTC_APP_ID", _local("local0rtc0app00000000000")),  # BytePlus app ids are 24 characters
        rtc_business_id=_env("RTC_BUSINESS_ID", ""),
        rtc_access_key_id=_env("RTC_ACCESS_KEY_ID", _local("local-rtc-access-key")),
        rtc_region=_env("RTC_REGION", "ap-singapore-1"),
        shop_url=_env("SHOP_URL", "http://127.0.0.1:8080").rstrip("/"),
        sonet_url=_env("SONET_URL", _local("http://127.0.0.1:8131")).rstrip("/"),
        sonet_icp_id=_env("SONET_ICP_ID", _local("localicp")),
        sonet_openssl_seclevel=int(_env("SONET_OPENSSL_SECLEVEL", "1")),
        order_ttl_seconds=int(_env("SHOP_ORDER_TTL_SECONDS", "1800")),
    )
