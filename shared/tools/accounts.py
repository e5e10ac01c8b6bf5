"""Local administration against the configured Firestore (the stack's, after `eval "$(./emulators.sh env)"`).

    .venv/bin/python -m shared.tools.accounts create-admin --email a@example.com --password '...'
    .venv/bin/python -m shared.tools.accounts grant-role --email s@example.com --role creator
    .venv/bin/python -m shared.tools.accounts grant-pass --email v@example.com --seconds 3600 [--streamer-id ID]

create-admin signs the account up when the email is new (the first admin has no admin to grant
it), then grants it `admin`. Each prints the result as JSON.
"""
from __future__ import annotations

import argparse
import json

from shared.accounts import service
from shared.accounts.models import Signup, email_key
from shared.backpack import service as backpack
from shared.core.errors import NotFound
from shared.core.firestore import db


def user_id_of(email: str) -> str:
    snap = db().collection(service.EMAILS).document(email_key(email)).get()
    if not snap.exists:
        raise SystemExit(f"no account with the email {email}")
    return snap.get("user_id")


def create_admin(args) -> dict:
    try:
        user_id = user_id_of(args.email)
    except SystemExit:
        user_id = service.signup(Signup(email=args.email, password=args.password, display_name=args.display_name,
                                        country=args.country)).user.id
    return service.set_role(user_id, "admin", granted=True).model_dump()


def grant_role(args) -> dict:
    return service.set_role(user_id_of(args.email), args.role, granted=True).model_dump()


def grant_pass(args) -> dict:
    try:
        item = backpack.grant_pass(user_id_of(args.email), args.streamer_id, args.seconds, "admin:local-command")
    except NotFound as exc:
        raise SystemExit(exc.message) from None
    return item.model_dump()


def main() -> None:
    parser = argparse.ArgumentParser(description="Local account administration")
    commands = parser.add_subparsers(dest="command", required=True)
    admin = commands.add_parser("create-admin", help="sign up (if new) and grant the admin role")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True, help="at least 10 characters")
    admin.add_argument("--display-name", default="Admin")
    admin.add_argument("--country", default="us")
    admin.set_defaults(run=create_admin)
    role = commands.add_parser("grant-role", help="grant a role to an existing account")
    role.add_argument("--email", required=True)
    role.add_argument("--role", required=True, choices=["creator", "admin"])
    role.set_defaults(run=grant_role)
    pass_ = commands.add_parser("grant-pass", help="put a livestream pass into an account's backpack")
    pass_.add_argument("--email", required=True)
    pass_.add_argument("--seconds", type=int, required=True)
    pass_.add_argument("--streamer-id", default=None, help="a pass for one streamer; omitted: every streamer")
    pass_.set_defaults(run=grant_pass)
    args = parser.parse_args()
    print(json.dumps(args.run(args), indent=2))


if __name__ == "__main__":
    main()
