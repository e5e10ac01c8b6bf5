"""Runtime options of deployed functions and queues, declared beside the code they run
(the way firebase-functions' decorator options are) and generated into terraform variables."""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from shared.core.config import SECRETS as SECRET_NAMES

# The options of the function running now. The local host runs every function in one process
# with every secret, so a function that forgot to declare one would pass locally and fail in the
# cloud: effects check the declaration instead (`requires`), the same here as there.
_running: contextvars.ContextVar[FunctionOptions | None] = contextvars.ContextVar("function_options", default=None)


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed delivery is retried: exponential backoff between the bounds, then dead-lettered."""

    min_backoff: int = 10  # seconds
    max_backoff: int = 600
    max_attempts: int = 10  # Pub/Sub: 5-100 deliveries before the dead-letter topic

    def __post_init__(self):
        if not (0 < self.min_backoff <= self.max_backoff <= 600):  # Pub/Sub's bounds
            raise ValueError("backoff bounds must satisfy 0 < min <= max <= 600 s")
        if not (5 <= self.max_attempts <= 100):
            raise ValueError("max_attempts must be between 5 and 100")


@dataclass(frozen=True)
class FunctionOptions:
    """One deployed function (a Cloud Run service): its size, limits and the secrets it reads.

    `secrets` lists the secret settings the function reads; it gets those and no others, and
    refuses to start on Cloud Run without them. `retry` applies to receivers (their push
    subscription); HTTP functions are retried by their callers.
    """

    memory: str = "256Mi"
    cpu: str = "0.167"
    timeout: int = 60  # seconds; a receiver's subscription ack deadline too (at most 600)
    concurrency: int = 1  # requests one instance serves at once (more needs at least 1 CPU)
    min_instances: int = 0
    max_instances: int = 20
    secrets: tuple[str, ...] = ()
    retry: RetryPolicy = RetryPolicy()

    def __post_init__(self):
        unknown = set(self.secrets) - set(SECRET_NAMES)
        if unknown:
            raise ValueError(f"unknown secrets {sorted(unknown)}; known: {SECRET_NAMES}")
        if self.concurrency > 1 and float(self.cpu) < 1:
            raise ValueError("concurrency above 1 needs at least 1 CPU")
        if not (1 <= self.timeout <= 1800):  # Cloud Tasks waits at most 30 minutes for an answer
            raise ValueError("timeout must be 1-1800 s")

    def variables(self) -> dict:
        return {**asdict(self), "secrets": sorted(self.secrets)}


@contextlib.contextmanager
def declared(options: FunctionOptions) -> Iterator[None]:
    """Run the block as the function these options describe."""
    token = _running.set(options)
    try:
        yield
    finally:
        _running.reset(token)


def requires(secret: str, why: str) -> None:
    """Refuse `why` (e.g. scheduling a task) in a function whose options do not list `secret`."""
    running = _running.get()
    if running is not None and secret not in running.secrets:
        raise RuntimeError(f"{why} needs {secret}: add it to this function's FunctionOptions.secrets")


@dataclass(frozen=True)
class QueueOptions:
    """A Cloud Tasks queue: dispatch rate and retry policy of the tasks it carries."""

    max_dispatches_per_second: float = 10
    max_concurrent_dispatches: int = 20
    max_attempts: int = 20
    min_backoff: int = 10
    max_backoff: int = 3600
    max_doublings: int = 6

    def variables(self) -> dict:
        return asdict(self)
