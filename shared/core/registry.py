"""The one registry: every signal, receiver, task, HTTP route, topic, queue, bucket and each
deployed function's runtime options are declared here once.

Feature modules fill it: `REGISTRY.signal(...)` and `REGISTRY.task(...)` return handles that
effects take (`fx.publish(GOAL_ENDED, GoalEnded(...))`, `fx.schedule(DEACTIVATE_GOAL, args, at=...)`);
decorators attach receivers, task handlers and routes. `shared.app.load()` imports every feature
and runs `check()`, so a receiver of an undeclared signal or a task without a handler fails at
start, not in the outbox. Local wiring, the terraform variables and the OpenAPI document are all
derived from it. A deployed function loads only the modules of its own entry point
(`entry_points()`: a surface's routes, one receiver, the tasks of the task handler or a worker)
and checks what it serves (`check(entry_point)`).
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.core.options import FunctionOptions, QueueOptions

P = TypeVar("P", bound=BaseModel)  # a signal's payload model
OBJECT_ID = r"[0-9a-f]{24}"  # the default format of a path parameter named *_id
TASK_HANDLER = "task-handler"  # the deployed function running every task not given a worker


def kebab(name: str) -> str:
    return re.sub(r"[._]+", "-", name).lower()


@dataclass(frozen=True)
class Signal(Generic[P]):
    """A blinker sender of the seeds, now a Pub/Sub topic; `key` names the business id of one event.

    `period`: for a clock signal (Cloud Scheduler's tick) whose payload is always the same, the
    event id is the publish time divided into periods of that many seconds instead, so each
    tick is its own event while a redelivered tick is still a repeat.
    """

    sender: str
    payload: type[P]
    key: Callable[[P], str]
    topic: str
    period: Callable[[], float] | None = None

    def event_id(self, payload: P, published_at: float | None = None) -> str:
        if self.period is not None and published_at is not None:
            return f"{self.sender}:{int(published_at // self.period())}"
        return f"{self.sender}:{self.key(payload)}"

    def checked(self, payload: BaseModel) -> dict:
        """The payload as JSON, validated again (a model may have been changed after it was built)."""
        if not isinstance(payload, self.payload):
            raise TypeError(f"{self.sender} carries {self.payload.__name__}, not {type(payload).__name__}")
        data = payload.model_dump(mode="json", by_alias=True)
        self.payload.model_validate(data)
        return data


class TaskArgs(BaseModel):
    """Arguments of a task; `task_key` is the business id that makes its Cloud Tasks name."""

    def task_key(self) -> str:
        raise NotImplementedError


@dataclass(eq=False)
class Task:
    """A Cloud Tasks task: declared with its queue and arguments, then given one handler."""

    name: str
    queue: str
    args: type[TaskArgs]
    handler: Callable | None = None
    worker: str | None = None  # a function of its own (REGISTRY.worker); None: the task handler

    @property
    def function(self) -> str:  # the deployed function it runs in
        return self.worker or TASK_HANDLER

    def handles(self, fn: Callable) -> Callable:
        if self.handler is not None:
            raise ValueError(f"task {self.name} has two handlers")
        self.handler = fn
        return fn

    def checked(self, args: TaskArgs) -> dict:
        if not isinstance(args, self.args):
            raise TypeError(f"task {self.name} takes {self.args.__name__}, not {type(args).__name__}")
        data = args.model_dump(mode="json")
        self.args.model_validate(data)
        return data


@dataclass(frozen=True)
class Receiver:
    """One receiver of one signal: its own subscription and its own deployed function.

    `step`: run as an idempotent step `handler(txn, fx, event)`; else `handler(event)`, which must
    be idempotent by itself. `claim(event)` names the resource the step changes (see steps.run).
    """

    name: str
    source: Signal  # the signal it listens to
    handler: Callable
    applies: Callable[[Any], bool]
    step: bool = True
    claim: Callable[[Any], str] | None = None
    options: FunctionOptions = field(default_factory=FunctionOptions)
    deployed_as: str | None = None  # a shorter function name when the seeds' name is too long for one
    # its function loads every feature, not only this receiver's module: it needs declarations that
    # nothing it imports makes (the outbox sweep applies any step's effects, by signal and task name)
    full_registry: bool = False

    @property
    def signal(self) -> str:  # the sender's name
        return self.source.sender

    @property
    def function(self) -> str:  # deployed name and subscription id (Cloud Run: at most 49 characters)
        return f"{kebab(self.signal)}--{kebab(self.deployed_as or self.name)}"

    @property
    def entry_point(self) -> str:  # attribute of functions/receivers.py
        return f"{self.signal.replace('.', '_')}__{self.name}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    surface: str  # the HTTP function serving it
    handler: Callable
    scope: str | None | dict[str, str | None]  # None: any authenticated caller; a dict: one per query `type`
    body: type[BaseModel] | dict[str, type[BaseModel]] | None = None  # a dict: one per value of the query's `type`
    body_optional: bool = False  # no body at all reads as `{}` (a DELETE that may carry options)
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    summary: str = ""
    public: bool = False  # no bearer token needed
    owner: str | None = None  # a declared Owner: only the owners of the resource in the path may call
    errors: tuple[int, ...] = ()  # statuses beyond those every route of its kind may answer (documented)
    idempotent: bool = False  # honours the Idempotency-Key header (money-moving POSTs)
    form: type[BaseModel] | None = None  # a form-encoded body (Pusher auth, payment gateways)
    raw: bool = False  # the handler gets the body unparsed (bodies signed byte for byte)
    # path parameter -> regex it must fullmatch; parameters named *_id default to OBJECT_ID
    params: dict[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        where = f"route {self.method} {self.path}"
        if sum(map(bool, (self.body, self.form, self.raw))) > 1:
            raise ValueError(f"{where}: declare at most one of body=, form=, raw=True")
        unknown = set(self.params) - set(self.path_params)
        if unknown:
            raise ValueError(f"{where}: params= names {sorted(unknown)}, which are not in the path")
        formats = {}
        for name in self.path_params:
            found = self.params.get(name) or (OBJECT_ID if name.endswith("_id") else None)
            if found is None:
                raise ValueError(f"{where}: {{{name}}} needs a format: params={{{name!r}: <regex>}}")
            try:
                re.compile(found)
            except re.error as exc:
                raise ValueError(f"{where}: the format of {{{name}}} is not a valid regex: {exc}") from None
            formats[name] = found
        object.__setattr__(self, "params", formats)  # frozen: complete the defaults once, here

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def access(self) -> str:
        """Who may call, in one phrase: public, any user, a scope, the owner of a resource, or both."""
        if self.public:
            return "public"
        if isinstance(self.scope, dict):
            by_scope: dict[str | None, list[str]] = {}
            for kind, scope in sorted(self.scope.items()):
                by_scope.setdefault(scope, []).append(kind)
            return "; ".join(f"{f'scope {s}' if s else 'any user'} for type {', '.join(kinds)}"
                             for s, kinds in by_scope.items())
        parts = [f"scope {self.scope}"] * bool(self.scope) + [f"owner of the {self.owner}"] * bool(self.owner)
        return " and ".join(parts) or "any user"


@dataclass(frozen=True)
class Owner:
    """Who owns the resource named by a path parameter: `owners(id)` answers their user ids
    (raising NotFound when there is no such resource). Routes name it with `owner=`."""

    name: str
    param: str
    owners: Callable[[str], set[str]]
    module: str | None = None  # where it is declared: a function serving a route that names it loads that module


@dataclass(frozen=True)
class Served:
    """What one deployed function serves, by its entry point: a surface's routes, one receiver, or
    the tasks of the task handler or of a worker."""

    routes: tuple[Route, ...] = ()
    receivers: tuple[Receiver, ...] = ()
    tasks: tuple[Task, ...] = ()

    @property
    def names(self) -> list[str]:
        """Each route as `METHOD path`, the receiver by its function, each task as `POST /name` (its path)."""
        return sorted([*(f"{r.method} {r.path}" for r in self.routes), *(r.function for r in self.receivers),
                       *(f"POST /{t.name}" for t in self.tasks)])

    @property
    def handlers(self) -> list[Callable | None]:
        return [*(r.handler for r in self.routes), *(r.handler for r in self.receivers),
                *(t.handler for t in self.tasks)]


def task_entry_point(function: str) -> str:
    """The entry point (attribute of functions/tasks.py) of the task handler or a worker."""
    return function.replace("-", "_")


@dataclass(frozen=True)
class Bucket:
    name: str
    purpose: str
    notify: Signal | None = None  # the signal its object-finalize notifications arrive as


@dataclass
class Registry:
    signals: dict[str, Signal] = field(default_factory=dict)
    receivers: dict[str, Receiver] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    surface_options: dict[str, FunctionOptions] = field(default_factory=dict)
    queue_options: dict[str, QueueOptions] = field(default_factory=dict)
    task_handler_options: FunctionOptions = field(default_factory=FunctionOptions)
    # functions of their own for heavy tasks (memory, CPU, a long timeout): name -> options
    worker_options: dict[str, FunctionOptions] = field(default_factory=dict)
    owners: dict[str, Owner] = field(default_factory=dict)
    # the deployed function whose modules alone shared.app.load() imported; None: every feature
    entry_point: str | None = None

    def signal(self, sender: str, payload: type[P], key: Callable[[P], str], topic: str | None = None,
               period: Callable[[], float] | None = None) -> Signal[P]:
        if sender in self.signals:
            raise ValueError(f"signal {sender} declared twice")
        sig = Signal(sender, payload, key, topic or kebab(sender), period)
        self.signals[sender] = sig
        return sig

    def receiver(self, signal: Signal, *, applies: Callable[[Any], bool] = lambda event: True, step: bool = True,
                 claim: Callable[[Any], str] | None = None, options: FunctionOptions | None = None,
                 deployed_as: str | None = None, full_registry: bool = False):
        def register(fn):
            rcv = Receiver(fn.__name__, signal, fn, applies, step, claim, options or FunctionOptions(), deployed_as,
                           full_registry)
            if rcv.function in self.receivers:
                raise ValueError(f"receiver {rcv.function} declared twice")
            self.receivers[rcv.function] = rcv
            return fn

        return register

    def task(self, name: str, *, queue: str, args: type[TaskArgs], worker: str | None = None) -> Task:
        if name in self.tasks:
            raise ValueError(f"task {name} declared twice")
        self.tasks[name] = Task(name, queue, args, worker=worker)
        return self.tasks[name]

    def worker(self, name: str, options: FunctionOptions) -> str:
        """A deployed function of its own for the tasks that name it (Cloud Tasks targets its URL)."""
        if name in self.worker_options or name == TASK_HANDLER:
            raise ValueError(f"worker {name} declared twice")
        self.worker_options[name] = options
        return name

    def function_options(self, task: Task) -> FunctionOptions:
        return self.worker_options[task.worker] if task.worker else self.task_handler_options

    def queue(self, name: str, options: QueueOptions) -> None:
        self.queue_options[name] = options

    def surface(self, name: str, options: FunctionOptions) -> str:
        self.surface_options[name] = options
        return name

    def route(self, method: str, path: str, *, surface: str, scope: str | None | dict[str, str | None] = None,
              **options):
        def register(fn):
            if any(r.method == method and r.path == path for r in self.routes):
                raise ValueError(f"route {method} {path} declared twice")
            self.routes.append(Route(method, path, surface, fn, scope, **options))
            return fn

        return register

    def owner(self, name: str, param: str, owners: Callable[[str], set[str]]) -> str:
        if name in self.owners:
            raise ValueError(f"owner {name} declared twice")
        self.owners[name] = Owner(name, param, owners, sys._getframe(1).f_globals.get("__name__"))
        return name

    def bucket(self, name: str, purpose: str, notify: Signal | None = None) -> None:
        self.buckets[name] = Bucket(name, purpose, notify)

    def receivers_of(self, sender: str) -> list[Receiver]:
        return [r for r in self.receivers.values() if r.signal == sender]

    def entry_points(self) -> dict[str, Served]:
        """Every deployed function of what is loaded, by its entry point: `{surface}_api` (functions/api.py),
        `task_handler` and each worker's (functions/tasks.py), each receiver's (functions/receivers.py)."""
        found = {f"{s}_api": Served(routes=tuple(r for r in self.routes if r.surface == s)) for s in self.surfaces}
        for function in [TASK_HANDLER, *self.worker_options]:
            found[task_entry_point(function)] = Served(
                tasks=tuple(t for t in self.tasks.values() if t.function == function))
        for rcv in self.receivers.values():
            found[rcv.entry_point] = Served(receivers=(rcv,))
        return found

    def check(self, entry_point: str | None = None) -> None:
        """What the declarations promise each other, proved once every feature is loaded; given an
        entry point, what that function serves (its routes, its receiver or its tasks), proved once
        its own modules are loaded (the tasks it only schedules have their handlers elsewhere)."""
        problems = []
        if entry_point is None:
            served = Served(tuple(self.routes), tuple(self.receivers.values()), tuple(self.tasks.values()))
        elif entry_point in self.entry_points():
            served = self.entry_points()[entry_point]
        else:
            served = Served()
        if entry_point is not None and not served.names:
            problems.append(f"entry point {entry_point} serves nothing: no route, receiver or task of it is loaded")
        for rcv in served.receivers:
            if self.signals.get(rcv.signal) is not rcv.source:
                problems.append(f"receiver {rcv.function} listens to {rcv.signal}, which is not declared")
        for task in served.tasks:
            if task.handler is None:
                problems.append(f"task {task.name} has no handler")
            if task.queue not in self.queue_options:
                problems.append(f"task {task.name} runs on undeclared queue {task.queue}")
            if task.worker and task.worker not in self.worker_options:
                problems.append(f"task {task.name} runs in undeclared worker {task.worker}")
        for rcv in served.receivers:
            if rcv.options.timeout > 600:
                problems.append(f"receiver {rcv.function} has a timeout above Pub/Sub's 600 s ack deadline")
        for route in served.routes:
            if route.surface not in self.surface_options:
                problems.append(f"route {route.method} {route.path} is served by undeclared surface {route.surface}")
            if route.owner and (route.owner not in self.owners or route.public or
                                self.owners[route.owner].param not in route.path_params):
                problems.append(f"route {route.method} {route.path} names owner {route.owner!r}, which is not "
                                f"declared, has no parameter in its path, or sits on a public route")
            if route.public and route.scope:
                problems.append(f"route {route.method} {route.path} is public but asks for a scope")
            bodies = list(route.body.values()) if isinstance(route.body, dict) else [route.body]
            if isinstance(route.scope, dict) and isinstance(route.body, dict) and set(route.scope) != set(route.body):
                problems.append(f"route {route.method} {route.path} has a scope for types {sorted(route.scope)} "
                                f"and a body for types {sorted(route.body)}")
            if any(isinstance(x, dict) for x in (route.body, route.scope)) and \
                    "type" not in getattr(route.query, "model_fields", {}):
                problems.append(f"route {route.method} {route.path} picks its body by a query `type` it lacks")
            for model in (*bodies, route.query, route.response):
                if model is not None and not (isinstance(model, type) and issubclass(model, BaseModel)):
                    problems.append(f"route {route.method} {route.path} names {model!r}, not a pydantic model")
        for bucket in self.buckets.values():
            if bucket.notify is not None and self.signals.get(bucket.notify.sender) is not bucket.notify:
                problems.append(f"bucket {bucket.name} notifies undeclared signal {bucket.notify.sender}")
        topics = [s.topic for s in self.signals.values()]
        problems += [f"topic {t} serves two signals" for t in sorted({t for t in topics if topics.count(t) > 1})]
        if problems:
            raise ValueError("registry check failed:\n  " + "\n  ".join(problems))

    @property
    def topics(self) -> list[str]:
        return sorted({s.topic for s in self.signals.values()})

    @property
    def queues(self) -> list[str]:
        return sorted({t.queue for t in self.tasks.values()})

    @property
    def surfaces(self) -> list[str]:
        return sorted({r.surface for r in self.routes})


REGISTRY = Registry()
