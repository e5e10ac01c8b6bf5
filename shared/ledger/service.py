"""What the ledger's API and other features ask of it: provisioning, a user's wallet, the totals."""
from __future__ import annotations

from shared.core import firestore, ids, steps
from shared.core.firestore import Txn, db, run_transaction
from shared.ledger import book
from shared.ledger.models import (
    CURRENCIES,
    DIAMOND,
    KINDS,
    Account,
    Currency,
    CurrencyTotals,
    HoldView,
    Totals,
    Transfer,
    TransferView,
    Wallet,
    earnings,
    issuance,
    wallet,
)

RECENT = 20  # transfers a wallet shows
SCANNED = 200  # the user's latest transfers (every currency) searched for those RECENT


def provision(user_id: str, amount: int, client_key: steps.ClientKey | None = None,
              currency: Currency = DIAMOND) -> Transfer:
    """Units of `currency` from its issuance into a user's wallet (the seeds' provisioned diamonds
    to try features with)."""
    transfer_id = f"provision:{ids.new_id()}"

    def body(txn: Txn, fx: steps.Effects) -> Transfer:
        (transfer,) = book.execute(txn, [book.Move(transfer_id, issuance(currency), wallet(user_id, currency), amount,
                                                   metadata={"reason": "provisioned"})])
        return transfer

    return steps.run(transfer_id, body, redelivered=False, client_key=client_key)


def open_accounts(user_id: str) -> int:
    """The user's wallet and earnings exist (at 0) before any payment lands (the seeds'
    `provision_wallet_and_bank_account`); idempotent. The number of balance documents created."""
    refs = {book.balance_ref(account, shard).path: (account, book.balance_ref(account, shard))
            for account in (wallet(user_id), earnings(user_id)) for shard in range(book.SHARDS[account.kind])}

    def body(txn: Txn) -> int:
        missing = [refs[snap.reference.path] for snap in txn.get_all([ref for _, ref in refs.values()])
                   if not snap.exists]
        for account, ref in missing:
            txn.create(ref, {"account": account.id, "kind": account.kind, "owner": account.owner,
                             "currency": account.currency, "balance": 0})
        return len(missing)

    return run_transaction(body)


def balance(account: Account, txn: Txn | None = None) -> int:
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


def wallet_of(user_id: str, currency: Currency = DIAMOND) -> Wallet:
    mine = wallet(user_id, currency)
    holds = firestore.where(book.TRANSFERS, debit=mine.id, hold=True).order_by("created_at", direction="DESCENDING")
    recent = firestore.where(book.TRANSFERS, ("parties", "array_contains", user_id)).order_by(
        "created_at", direction="DESCENDING")
    # the currency is filtered here: the index serving this query has no currency field
    transfers = [t for t in (Transfer.model_validate(s.to_dict()) for s in recent.limit(SCANNED).stream())
                 if t.currency == currency][:RECENT]
    return Wallet(
        user_id=user_id, currency=currency, balance=balance(mine), earnings=balance(earnings(user_id, currency)),
        holds=[_hold_view(h) for h in firestore.each(holds, Transfer)],
        transfers=[_transfer_view(t, mine) for t in transfers],
    )


def totals() -> Totals:
    """Every account's balance summed per currency and kind; balanced when each currency's
    accounts sum to zero (`totals` keeps the diamonds' sums, as before there were other currencies)."""
    per_kind = {currency: dict.fromkeys(KINDS, 0) for currency in CURRENCIES}
    accounts: dict[str, set[str]] = {currency: set() for currency in CURRENCIES}
    wallets: dict[str, dict[str, int]] = {currency: {} for currency in CURRENCIES}
    for snap in db().collection(book.BALANCES).stream():
        shard = snap.to_dict()
        currency = shard["currency"]
        amount = shard.get("balance") or 0
        per_kind.setdefault(currency, dict.fromkeys(KINDS, 0))[shard["kind"]] += amount
        accounts.setdefault(currency, set()).add(shard["account"])
        if shard["kind"] == "wallet":
            mine = wallets.setdefault(currency, {})
            mine[shard["account"]] = mine.get(shard["account"], 0) + amount
    currencies = {currency: CurrencyTotals(
        totals=sums, accounts=len(accounts[currency]), balanced=sum(sums.values()) == 0,
        negative_wallets=sum(1 for b in wallets[currency].values() if b < 0)) for currency, sums in per_kind.items()}
    return Totals(totals=currencies[DIAMOND].totals, accounts=sum(c.accounts for c in currencies.values()),
                  balanced=all(c.balanced for c in currencies.values()),
                  negative_wallets=sum(c.negative_wallets for c in currencies.values()), currencies=currencies)
