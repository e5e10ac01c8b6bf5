"""Provision diamonds (or another currency) to a user on the local stack (what
POST /admin/users/{id}/diamonds does).

    eval "$(./emulators.sh env)"
    .venv/bin/python -m shared.tools.diamonds --user USER_ID --amount 500 [--currency point]
"""
from __future__ import annotations

import argparse

from shared import app
from shared.core import ids
from shared.ledger import service
from shared.ledger.models import CURRENCIES, DIAMOND


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--user", required=True, help="the user's 24-hex id")
    parser.add_argument("--amount", type=int, required=True, help="whole units, at least 1")
    parser.add_argument("--currency", choices=CURRENCIES, default=DIAMOND)
    args = parser.parse_args()
    app.load()
    if not ids.is_object_id(args.user) or args.amount <= 0:
        parser.error("--user must be a 24-hex id and --amount a positive whole number")
    transfer = service.provision(args.user, args.amount, currency=args.currency)
    print(f"provisioned {transfer.amount} {args.currency} to {args.user} (transfer {transfer.id}); "
          f"balance {service.balance(service.wallet(args.user, args.currency))}")


if __name__ == "__main__":
    main()
