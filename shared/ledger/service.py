"""What the ledger's API and other features ask of it: provisioning, a user's wallet, the totals."""
from __future__ import annotations

from shared.core import firestore, ids, steps
from shared.core.firestore import db, run_transaction
from shared.ledger import book
from shared.ledger.models import (
    ISSUANCE,
    KINDS,
    Account,
    HoldView,
    Totals,
    Transfer,
    TransferView,
    Wallet,
    earnings,
    wallet,
)

RECENT = 20  # transfers a wallet shows


def provision(user_id: str, amount: int, client_key: steps.ClientKey | None = None) -> Transfer:
    """Diamonds from issuance into a user's wallet (the seeds' provisioned diamonds to try features with)."""
    transfer_id = f"provision:{ids.new_id()}"

    def body(txn, fx: steps.Effects) -> Transfer:
        (transfer,) = book.execute(txn, [book.Move(transfer_id, ISSUANCE, wallet(user_id), amount,
                                                   metadata={"reason": "provisioned"})])
        return transfer

    return steps.run(transfer_id, body, redelivered=False, client_key=client_key)


def open_accounts(user_id: str) -> int:
    """The user's wallet and earnings exist (at 0) before any payment lands (the seeds'
    `provision_wallet_and_bank_account`); idempotent. The number of balance documents created."""
    refs = {book.balance_ref(account, shard).path: (account, book.balance_ref(account, shard))
            for account in (wallet(user_id), earnings(user_id)) for shard in range(book.SHARDS[account.kind])}

    def body(txn) -> int:
        missing = [refs[snap.reference.path] for snap in txn.get_all([ref for _, ref in refs.values()])
                   if not snap.exists]
        for account, ref in missing:
            txn.create(ref, {"account": account.id, "kind": account.kind, "owner": account.owner,
                             "currency": account.currency, "balance": 0})
        return len(missing)

    return run_transaction(body)


def balance(account: Account, txn=None) -> int:
    """The sum of an account's shards."""
    refs = [book.balance_ref(account, shard) for shard in range(book.SHARDS[account.kind])]
    snaps = txn.get_all(refs) if txn is not None else db().get_all(refs)
    return sum((snap.get("balance") or 0) for snap in snaps if snap.exists)


def _hold_view(hold: Transfer) -> HoldView:
    state = {"pending": "held", "voided": "refunded", "posted": "paid_out"}[hold.state]
    refund_after = hold.metadata.get("refund_after")
    return HoldView(id=hold.id, escrow=Account.parse(hold.credit).owner, amount=hold.amount, state=state,
                    created_at=hold.created_at, metadata=hold.metadata,
                    refund_after=float(refund_after) if refund_after is not None and hold.state == "pending" else None)


def _transfer_view(transfer: Transfer, mine: Account) -> TransferView:
    outgoing = transfer.debit in (mine.id,)
    other = Account.parse(transfer.credit if outgoing else transfer.debit)
    return TransferView(id=transfer.id, direction="out" if outgoing else "in", amount=transfer.amount,
                        counterparty=other.kind if other.kind != "escrow" else f"escrow:{other.owner}",
                        created_at=transfer.created_at, metadata=transfer.metadata)


def wallet_of(user_id: str) -> Wallet:
    mine = wallet(user_id)
    holds = firestore.where(book.TRANSFERS, debit=mine.id, hold=True).order_by("created_at", direction="DESCENDING")
    recent = firestore.where(book.TRANSFERS, ("parties", "array_contains", user_id)).order_by(
        "created_at", direction="DESCENDING").limit(RECENT)
    return Wallet(
        user_id=user_id, currency=mine.currency, balance=balance(mine), earnings=balance(earnings(user_id)),
        holds=[_hold_view(h) for h in firestore.each(holds, Transfer)],
        transfers=[_transfer_view(Transfer.model_validate(s.to_dict()), mine) for s in recent.stream()],
    )


def totals() -> Totals:
    """Every account's balance summed per kind; balanced when everything sums to zero."""
    per_kind = dict.fromkeys(KINDS, 0)
    accounts, negative_wallets = set(), {}
    for snap in db().collection(book.BALANCES).stream():
        shard = snap.to_dict()
        per_kind[shard["kind"]] += shard.get("balance") or 0
        accounts.add(shard["account"])
        if shard["kind"] == "wallet":
            negative_wallets[shard["account"]] = shard.get("balance") or 0
    return Totals(totals=per_kind, accounts=len(accounts), balanced=sum(per_kind.values()) == 0,
                  negative_wallets=sum(1 for b in negative_wallets.values() if b < 0))
