"""What the end-to-end tests share: accounts, diamonds and tickets, goals, channel authorization,
uploads and posts, media made with ffmpeg, and goals as a lost delivery leaves them."""
from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
import tempfile
import time
import uuid

import requests

from shared.core import firestore, ids
from shared.goals import service as goals
from shared.goals.models import REFUND_GRACE, Level, ShowFundingGoal
from tests.stack import ROOT
from tests.support import PusherSocket, User, wait_until

# --- accounts ------------------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def email() -> str:
    return f"u{uuid.uuid4().hex[:12]}@example.com"


def signup(api, mail: str | None = None, country: str = "us", **extra):
    body = {"email": mail or email(), "password": PASSWORD, "display_name": "Mei", "country": country, **extra}
    return api.call("POST", "/auth/signup", json=body)


def as_user(tokens: dict) -> User:
    return User(tokens["user"]["id"], tokens["access_token"], "app")


def login(api, mail: str, password: str = PASSWORD, headers: dict | None = None, **extra):
    return api.call("POST", "/auth/login", json={"email": mail, "password": password, **extra}, headers=headers or {})


def member(api) -> User:
    """A viewer with an account (vouchers are granted to accounts)."""
    answer = signup(api)
    assert answer.status_code == 201, answer.text
    return as_user(answer.json())


def admin_command(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "shared.tools.accounts", *args], cwd=ROOT, env=os.environ,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --- diamonds, tickets and gifts -------------------------------------------------------------------

TICKET = "livestream-show-ticket_134"  # 134 diamonds; the pre-sale's early-bird discount is 33%: 89 each
ROSE = "livestream-gift-rose_10"


def provision(api, user: User, amount: int) -> None:
    admin = User.new("role:admin")
    response = api.call("POST", f"/admin/users/{user.id}/diamonds", admin, json={"amount": amount})
    assert response.status_code == 201, response.text


def provision_in(api, user: User, amount: int, currency: str) -> None:
    """`provision` in any of the ledger's currencies (diamond, messaging_diamond, point, rainbow_diamond)."""
    admin = User.new("role:admin")
    response = api.call("POST", f"/admin/users/{user.id}/diamonds", admin,
                        json={"amount": amount, "currency": currency})
    assert response.status_code == 201, response.text
    assert response.json()["credit"] == f"wallet:{user.id}:{currency}", response.text


def buy(api, viewer: User, session_id: str, goal_id: str, quantity: int = 1, product: str = TICKET, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return api.call("POST", f"/sessions/{session_id}/gifts", viewer, headers=headers,
                    json={"product_id": product, "quantity": quantity, "goal_id": goal_id})


def gift(api, viewer: User, session_id: str, product: str = ROSE, quantity: int = 1):
    response = api.call("POST", f"/sessions/{session_id}/gifts", viewer,
                        json={"product_id": product, "quantity": quantity})
    assert response.status_code == 201, response.text
    return response.json()


def balance(api, user: User) -> int:
    return api.call("GET", "/wallet", user).json()["balance"]


def purse(api, user: User, currency: str) -> tuple[int, int]:
    """(wallet balance, earnings) in `currency`."""
    answer = api.call("GET", f"/wallet?currency={currency}", user)
    assert answer.status_code == 200 and answer.json()["currency"] == currency, answer.text
    return answer.json()["balance"], answer.json()["earnings"]


# --- goals -----------------------------------------------------------------------------------------


def for_goal(goal_id):
    return lambda data: isinstance(data, dict) and data.get("goal_id") == goal_id


def settlement(goal_id: str, timeout: float = 30):
    return wait_until(lambda: goals.load(goal_id).settlement, timeout=timeout, what=f"the settlement of {goal_id}")


def stranded_goal(session_id: str, streamer_id: str, *, active: bool, progress: int = 0) -> ShowFundingGoal:
    """A goal as a dead-lettered task or receiver leaves it: past exp, nothing scheduled for it."""
    now = time.time()
    goal = ShowFundingGoal(
        id=ids.new_id(), active=active, conditions={"session_id": session_id},
        levels=[Level(title="Test", target=10)], exp=int(now) - 60, progress=progress,
        context={"type": "show-funding", "session_id": session_id, "hesitation_countdown": 0, "perform_duration": 60,
                 "ticket_product_id": "livestream-show-ticket_134", "ticket_product_type": "earlybird"},
        metadata={"user_id": streamer_id}, created_at=now - 120, ended_at=None if active else now - 60,
        refund_due_at=None if active else int(now) - 60 + REFUND_GRACE,
    )
    goals.goal_ref(goal.id).set(firestore.document(goal))
    if progress:  # tickets are counted in the goal's counter shards
        goals.goal_ref(goal.id).collection(goals.PROGRESS).document("0").set({"tickets": progress})
    return goal


# --- Pusher channel authorization ------------------------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def socket() -> PusherSocket:
    return PusherSocket("127.0.0.1", int(os.environ["PUSHER_PORT"]), os.environ["PUSHER_KEY"])


def auth(api, user, sock, channel, **kw):
    return api.call("POST", "/pusher/auth", user, data={"socket_id": sock.socket_id, "channel_name": channel},
                    headers=dict(FORM), **kw)


# --- media made at test time, uploads and posts ----------------------------------------------------

CLIP_SECONDS = 200


def generated(args: list[str], suffix: str) -> bytes:
    """Media made with ffmpeg (the imageio-ffmpeg wheel's) at test time: nothing binary is committed."""
    import imageio_ffmpeg

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"out{suffix}")
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *args, "-y", path], check=True, timeout=120)
        with open(path, "rb") as f:
            return f.read()


@functools.cache
def png() -> bytes:
    return generated(["-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1"], ".png")


@functools.cache
def clip() -> bytes:
    """200 s of 720p H.264 and AAC: long enough for a cut trailer (3 minutes and more)."""
    return generated(["-f", "lavfi", "-i", f"testsrc2=duration={CLIP_SECONDS}:size=1280x720:rate=25",
                      "-f", "lavfi", "-i", f"sine=duration={CLIP_SECONDS}", "-c:v", "libx264", "-preset", "ultrafast",
                      "-crf", "30", "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest"],
                     ".mp4")


def probe(data: bytes) -> dict:
    from shared.assets.probe import probe as read

    return read(io.BytesIO(data))


def decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    clear = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    unpad = padding.PKCS7(128).unpadder()
    return unpad.update(clear.update(data) + clear.finalize()) + unpad.finalize()


def start(api, creator, content_type="image/png", size=None):
    size = len(png()) if size is None else size
    answer = api.call("POST", "/assets", creator, json={"content_type": content_type, "size": size})
    assert answer.status_code == 201, answer.text
    return answer.json()


def put(upload: dict, data: bytes) -> None:
    response = requests.put(upload["url"], data=data, headers=upload["headers"], timeout=30)
    assert response.status_code == 200, response.text


def asset_when(api, creator, asset_id, check):
    """The asset as its creator reads it, once `check` holds for it."""
    return wait_until(lambda: (a := api.call("GET", f"/assets/{asset_id}", creator).json()) and check(a) and a,
                      what=f"asset {asset_id}")


def uploaded_image(api, creator, thumbnail: bool = True) -> str:
    started = start(api, creator)
    put(started["upload"], png())
    asset_id = started["asset"]["id"]
    if thumbnail:
        made = api.call("POST", f"/assets/{asset_id}/artifacts", creator,
                        json={"label": "thumbnail", "content_type": "image/png", "size": len(png())}).json()
        put(made["upload"], png())
        asset_when(api, creator, asset_id, lambda a: a["artifacts"][made["artifact"]["id"]]["metadata"])
    asset_when(api, creator, asset_id, lambda a: a["metadata"])
    return asset_id


def post(api, creator, assets: list[str], price: int | None = 50, **extra) -> dict:
    body = {"assets": assets, "caption": {"text": "hello"},
            "pricing": {"kind": "paid" if price else "free"},
            "cost": [{"_cls": "Diamond", "amount": price}] if price else [], **extra}
    answer = api.call("POST", "/posts", creator, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def ready(api, creator, post_id: str) -> dict:
    return wait_until(lambda: (p := api.call("GET", f"/posts/{post_id}", creator).json())["status"] == "ready" and p,
                      timeout=20, what=f"post {post_id} to be ready")
