"""Every route of the registry, called by whoever its declaration refuses: no token, an expired one,
one signed with another secret, another user's token (routes of a resource's owner), a token
without the scope (routes that need one). Each is refused with 401 or 403, and not one document
changes. The routes run in process against the Firestore emulator, in a project of their own so
that nothing else writes there while the documents are compared."""
from __future__ import annotations

import hashlib
import json
import os
import uuid

import pytest

from shared.assets.models import Asset
from shared.assets.service import asset_ref
from shared.backpack.models import BackpackItem
from shared.backpack.service import item_ref
from shared.core import auth, clock, http, ids
from shared.core.config import settings
from shared.core.firestore import db, document
from shared.core.registry import REGISTRY
from shared.goals.models import OwnerMetadata
from shared.goals.service import goal_ref
from shared.livestream import sessions
from shared.shop.models import Gateway, Order
from shared.shop.orders import order_ref
from tests.stack import reset_clients
from tests.unit.test_goal_rules import pre_sale

pytestmark = pytest.mark.stack
PUBLIC = {("POST", "/auth/signup"), ("POST", "/auth/login"), ("POST", "/auth/refresh"), ("POST", "/auth/logout"),
          ("GET", "/openapi.json"), ("GET", "/healthz"),
          ("POST", "/pusher/webhooks"),  # signed by Pusher instead: tests/integration/test_pusher_webhooks.py
          # the payment chain's browser navigations, each signed its own way: tests/e2e/test_shop.py
          ("GET", "/shop/checkout/sonet/complete"), ("GET", "/redirect-out"), ("GET", "/tools/POST.html"),
          ("POST", "/notify/sonet"), ("GET", "/notify/sonet"), ("GET", "/redirect-in/shop-checkout-{order_id}")}


@pytest.fixture
def own_project(stack):
    saved = os.environ["GOOGLE_CLOUD_PROJECT"]
    os.environ["GOOGLE_CLOUD_PROJECT"] = f"demo-authz-{uuid.uuid4().hex[:8]}"
    reset_clients()
    try:
        yield
    finally:
        os.environ["GOOGLE_CLOUD_PROJECT"] = saved
        reset_clients()


def token(user_id: str, scopes: list[str], *, secret: str | None = None, age: int = 0) -> str:
    import jwt

    now = int(clock.now()) - age
    claims = {"sub": user_id, "scope": " ".join(scopes), "client_id": "matrix", "iss": auth.issuer(),
              "aud": auth.audience(), "iat": now, "exp": now + 600}
    return jwt.encode(claims, secret or settings().jwt_secret, algorithm=auth.ALGORITHM)


def scopes_of(route) -> dict[str | None, str | None]:
    """query `type` -> the scope it needs (one entry, None, for a route with one scope)."""
    return dict(route.scope) if isinstance(route.scope, dict) else {None: route.scope}


def everything() -> str:
    """A digest of every document in the project, subcollections included."""
    found = {}

    def walk(collections):
        for collection in collections:
            for snap in collection.stream():
                found[snap.reference.path] = snap.to_dict()
                walk(snap.reference.collections())

    walk(db().collections())
    return hashlib.sha256(json.dumps(found, sort_keys=True, default=str).encode()).hexdigest() + f":{len(found)}"


def resources(owner: str) -> dict[str, str]:
    """One resource of each owned kind, owned by `owner`: path parameter -> id."""
    session = sessions.start(owner, "matrix")
    goal = pre_sale().model_copy(update={"metadata": OwnerMetadata(user_id=owner)})
    goal_ref(goal.id).create(document(goal))
    item = BackpackItem(id=ids.new_id(), user_id=owner, type="livestream_pass", tag="livestream_pass", seconds=60,
                        source="matrix", granted_at=clock.now())
    item_ref(item.id).create(document(item))
    order = Order(id=ids.new_id(), user_id=owner, product_id="diamond_150", product_class="DiamondPackProduct",
                  product={"id": "diamond_150", "diamonds": 500}, amount=150, gateway=Gateway(mp_id="GASH_GPAY"))
    order_ref(order.id).create(document(order))
    asset = Asset(id=ids.new_id(), user_id=owner, kind="image", content_type="image/png", size=10,
                  created_at=clock.now())
    asset_ref(asset.id).create(document(asset))
    return {"session_id": session.id, "goal_id": goal.id, "item_id": item.id, "order_id": order.id,
            "asset_id": asset.id}


def call(route, params: dict[str, str], bearer: str | None, kind: str | None):
    path = route.path.format(**{p: params.get(p)
                                or (ids.new_id() if p.endswith("_id") else route.params[p].split("|")[0])
                                for p in route.path_params})
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return http.respond(route.method, path, headers, {"type": kind} if kind else {}, b"")


def test_every_route_refuses_whom_its_declaration_refuses(own_project):
    assert {(r.method, r.path) for r in REGISTRY.routes if r.public} == PUBLIC
    owner, other = ids.new_id(), ids.new_id()
    owned = resources(owner)
    before = everything()
    checked = []
    for route in REGISTRY.routes:
        if route.public:
            continue
        for kind, scope in scopes_of(route).items():
            needed = [scope] if scope else []
            cases = [("no token", None, 401), ("expired", token(owner, needed, age=3600), 401),
                     ("another secret", token(owner, needed, secret="not-the-secret-" + "x" * 32), 401)]
            if route.owner:
                cases.append(("another user", token(other, needed), 403))
            if scope:
                cases.append(("no scope", token(owner, []), 403))
            for case, bearer, status in cases:
                response = call(route, owned, bearer, kind)
                where = f"{route.method} {route.path} type={kind} {case}"
                assert response.status == status, f"{where}: {response.status} {response.body!r}"
                assert response.json()["error"]["code"], where
                checked.append(where)
    assert everything() == before, "a refused call changed a document"
    print(f"\nauthorization matrix: {len(checked)} refused calls on {len(REGISTRY.routes) - len(PUBLIC)} routes")
    assert len(checked) >= 3 * (len(REGISTRY.routes) - len(PUBLIC))


def test_the_right_caller_passes_every_gate(own_project):
    """The counterpart: the owner with the scope is not refused by the gate (its handler may still
    refuse the empty request). DELETEs are left out: with nothing to validate they would act."""
    owner = ids.new_id()
    owned = resources(owner)
    for route in REGISTRY.routes:
        if route.public or route.method == "DELETE":
            continue
        for kind, scope in scopes_of(route).items():
            response = call(route, owned, token(owner, [scope] if scope else []), kind)
            assert response.status not in (401, 403), f"{route.method} {route.path} type={kind}: {response.body!r}"
