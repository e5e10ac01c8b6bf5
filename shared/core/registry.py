"""The one registry: every signal, receiver, task, HTTP route, topic and bucket is declared here once.

Feature modules fill it with decorators; `shared.app.load()` imports them all. Local wiring
(emulators.sh provisioning, the local host), the terraform variables and the OpenAPI document
are all derived from it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel

OBJECT_ID = r"[0-9a-f]{24}"  # the default format of a path parameter named *_id

def kebab(name: str) -> str:
    return re.sub(r"[._]+", "-", name).lower()


@dataclass(frozen=True)
class Signal:
    """A blinker sender of the seeds, now a Pub/Sub topic; `key` names the business id of one event."""

    sender: str
    payload: type[BaseModel]
    key: Callable[[Any], str]
    topic: str

    def event_id(self, payload: BaseModel) -> str:
        return f"{self.sender}:{self.key(payload)}"


@dataclass(frozen=True)
class Receiver:
    """One receiver of one signal: its own subscription and its own deployed function."""

    name: str
    signal: str
    handler: Callable
    applies: Callable[[Any], bool]
    step: bool = True  # run as an idempotent step `handler(txn, fx, event)`; else `handler(event)`

    @property
    def function(self) -> str:  # deployed name and subscription id
        return f"{kebab(self.signal)}--{kebab(self.name)}"

    @property
    def entry_point(self) -> str:  # attribute of functions/receivers.py
        return f"{self.signal.replace('.', '_')}__{self.name}"


class TaskArgs(BaseModel):
    """Arguments of a task; `task_key` is the business id that makes its Cloud Tasks name."""

    def task_key(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Task:
    name: str
    queue: str
    args: type[TaskArgs]
    handler: Callable


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    surface: str  # the HTTP function serving it
    handler: Callable
    scope: str | None  # None: any authenticated caller
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    summary: str = ""
    public: bool = False  # no bearer token needed
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
            formats[name] = self.params.get(name) or (OBJECT_ID if name.endswith("_id") else None)
            if formats[name] is None:
                raise ValueError(f"{where}: {{{name}}} needs a format: params={{{name!r}: <regex>}}")
            try:
                re.compile(formats[name])
            except re.error as exc:
                raise ValueError(f"{where}: the format of {{{name}}} is not a valid regex: {exc}") from None
        object.__setattr__(self, "params", formats)  # frozen: complete the defaults once, here

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


@dataclass
class Registry:
    signals: dict[str, Signal] = field(default_factory=dict)
    receivers: dict[str, Receiver] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    buckets: dict[str, str] = field(default_factory=dict)  # name -> purpose

    def signal(self, sender: str, payload: type[BaseModel], key: Callable[[Any], str], topic: str | None = None) -> Signal:
        if sender in self.signals:
            raise ValueError(f"signal {sender} declared twice")
        sig = Signal(sender, payload, key, topic or kebab(sender))
        self.signals[sender] = sig
        return sig

    def receiver(self, signal: str, *, applies: Callable[[Any], bool] = lambda event: True, step: bool = True):
        def register(fn):
            if signal not in self.signals:
                raise ValueError(f"receiver {fn.__name__} listens to undeclared signal {signal}")
            rcv = Receiver(fn.__name__, signal, fn, applies, step)
            if rcv.function in self.receivers:
                raise ValueError(f"receiver {rcv.function} declared twice")
            self.receivers[rcv.function] = rcv
            return fn

        return register

    def task(self, name: str, *, queue: str, args: type[TaskArgs]):
        def register(fn):
            if name in self.tasks:
                raise ValueError(f"task {name} declared twice")
            self.tasks[name] = Task(name, queue, args, fn)
            return fn

        return register

    def route(self, method: str, path: str, *, surface: str, scope: str | None = None, **options):
        def register(fn):
            if any(r.method == method and r.path == path for r in self.routes):
                raise ValueError(f"route {method} {path} declared twice")
            self.routes.append(Route(method, path, surface, fn, scope, **options))
            return fn

        return register

    def bucket(self, name: str, purpose: str) -> None:
        self.buckets[name] = purpose

    def receivers_of(self, sender: str) -> list[Receiver]:
        return [r for r in self.receivers.values() if r.signal == sender]

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
