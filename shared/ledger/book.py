"""Applying transfers inside a caller's transaction: read everything first, check, then write.

Firestore transactions read before they write, so a step hands the ledger all its movements at
once (`execute(txn, [...])`) before writing anything of its own.

Currencies: a transfer moves one currency; a move between accounts of two currencies (a hold
posted to earnings in another currency too) is refused with a ValueError before anything is written.

Balances: a wallet is one document, read in the transaction when it is debited (it never goes
below zero). Every other account (earnings, escrow, revenue, issuance) is spread over shard
documents that transfers change with `Increment` alone, without reading them: no purchase takes a
read-modify-write on a document every buyer shares. An account's balance is the sum of its
shards. Each transfer is a document named by its deterministic id, so a repeat finds it and
changes nothing.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from shared.core import clock
from shared.core.errors import NotFound
from shared.core.firestore import Txn, db, increment, where
from shared.ledger.models import Account, HoldResolved, InsufficientFunds, Transfer

BALANCES = "ledger_balances"
TRANSFERS = "ledger_transfers"
SHARDS = {"wallet": 1, "earnings": 8, "escrow": 8, "revenue": 16, "issuance": 16}


@dataclass(frozen=True)
class Move:
    """Move `amount` from `debit` to `credit`; `hold=True` keeps it pending in an escrow account."""

    id: str
    debit: Account
    credit: Account
    amount: int
    hold: bool = False
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.debit.currency != self.credit.currency:
            raise ValueError(f"transfer {self.id} mixes {self.debit.currency} and {self.credit.currency}")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount <= 0:
            raise ValueError(f"transfer {self.id} needs a positive whole amount, not {self.amount!r}")
        if self.hold and self.credit.kind != "escrow":
            raise ValueError(f"hold {self.id} must go into an escrow account")


@dataclass(frozen=True)
class Resolve:
    """Post a hold onward to `to` (less `fee` to `fee_to`), or void it back to its payer."""

    hold_id: str
    action: Literal["post", "void"]
    to: Account | None = None
    fee: int = 0
    fee_to: Account | None = None

    @property
    def transfer_id(self) -> str:
        return f"{self.hold_id}:{self.action}"


def transfer_ref(transfer_id: str):
    return db().collection(TRANSFERS).document(transfer_id.replace("/", "_"))


def balance_ref(account: Account, shard: int = 0):
    return db().collection(BALANCES).document(f"{account.id.replace('/', '_')}~{shard}")


def _shard(account: Account, transfer_id: str) -> int:
    count = SHARDS[account.kind]
    return int(hashlib.sha256(transfer_id.encode()).hexdigest(), 16) % count if count > 1 else 0


def _party(account: Account) -> list[str]:
    return [account.owner] if account.kind in ("wallet", "earnings") else []


def execute(txn: Txn, ops: Sequence[Move | Resolve]) -> list[Transfer]:
    """Apply `ops` in `txn`: each at most once (a repeat returns the transfer made the first time).
    Raises InsufficientFunds or HoldResolved, having written nothing."""
    now = clock.now()
    for op in ops:  # every movement passes here: one currency each, checked before anything is read
        if isinstance(op, Move) and op.debit.currency != op.credit.currency:
            raise ValueError(f"transfer {op.id} mixes {op.debit.currency} and {op.credit.currency}")
        if isinstance(op, Resolve) and op.to and op.fee_to and op.to.currency != op.fee_to.currency:
            raise ValueError(f"posting {op.hold_id} splits it over {op.to.currency} and {op.fee_to.currency}")
    ids = [op.id if isinstance(op, Move) else op.transfer_id for op in ops]
    holds = [op.hold_id for op in ops if isinstance(op, Resolve)]
    debited = {op.debit.id: op.debit for op in ops if isinstance(op, Move) and op.debit.kind == "wallet"}
    refs = [transfer_ref(i) for i in [*ids, *holds]] + [balance_ref(a) for a in debited.values()]
    found = {snap.reference.path: snap for snap in txn.get_all(refs)}

    def stored(ref):
        snap = found.get(ref.path)
        return snap.to_dict() if snap is not None and snap.exists else None

    results: list[Transfer] = []
    # applied in order once everything is checked: a transfer, or a hold's (id, state, resolved_by, at)
    writes: list[Transfer | tuple[str, str, str, float]] = []
    spend: dict[str, int] = {}
    resolving: set[str] = set()
    for op, transfer_id in zip(ops, ids, strict=True):
        existing = stored(transfer_ref(transfer_id))
        if existing is not None:  # a repeat: changes nothing
            results.append(Transfer.model_validate(existing))
            continue
        if isinstance(op, Move):
            transfer = Transfer(id=op.id, debit=op.debit.id, credit=op.credit.id, amount=op.amount,
                                currency=op.credit.currency, state="pending" if op.hold else "posted", hold=op.hold,
                                created_at=now, parties=sorted({*_party(op.debit), *_party(op.credit)}),
                                metadata=op.metadata)
            if op.debit.kind == "wallet":
                spend[op.debit.id] = spend.get(op.debit.id, 0) + op.amount
            writes.append(transfer)
            results.append(transfer)
            continue
        hold_state = stored(transfer_ref(op.hold_id))
        if hold_state is None or not hold_state.get("hold"):
            raise HoldResolved(f"no hold {op.hold_id}", code="hold_not_found")
        hold = Transfer.model_validate(hold_state)
        if hold.id in resolving:
            raise ValueError(f"hold {hold.id} is resolved twice in one batch")
        resolving.add(hold.id)
        if hold.state != "pending":  # resolved the other way: a hold resolves once, never both
            raise HoldResolved(f"hold {hold.id} was already {hold.state}", details={"resolved_by": hold.resolved_by})
        transfers = [Transfer(id=move.id, debit=move.debit.id, credit=move.credit.id, amount=move.amount,
                              currency=hold.currency, created_at=now, metadata=hold.metadata,
                              parties=sorted({*_party(move.debit), *_party(move.credit)}))
                     for move in _resolution(hold, op)]
        writes += transfers
        writes.append((hold.id, "posted" if op.action == "post" else "voided", op.transfer_id, now))
        results.append(transfers[0])
    for account_id, amount in spend.items():
        snap = found.get(balance_ref(Account.parse(account_id)).path)
        balance = (snap.get("balance") if snap is not None and snap.exists else 0) or 0
        if balance < amount:
            currency = Account.parse(account_id).currency
            raise InsufficientFunds(f"not enough {currency}", details={"balance": balance, "needed": amount,
                                                                          "currency": currency})
    for write in writes:
        if isinstance(write, Transfer):
            _write_transfer(txn, write)
        else:
            hold_id, state, resolved_by, at = write
            txn.update(transfer_ref(hold_id), {"state": state, "resolved_by": resolved_by, "resolved_at": at})
    return results


def _resolution(hold: Transfer, op: Resolve) -> list[Move]:
    escrow = Account.parse(hold.credit)
    if op.action == "void":
        return [Move(op.transfer_id, escrow, Account.parse(hold.debit), hold.amount)]
    if op.to is None or not (0 <= op.fee < hold.amount) or (op.fee and op.fee_to is None):
        raise ValueError(f"posting {hold.id} needs a target and a fee below its amount")
    moves = [Move(op.transfer_id, escrow, op.to, hold.amount - op.fee)]
    if op.fee:
        assert op.fee_to is not None  # refused above: a fee needs its account
        moves.append(Move(f"{hold.id}:fee", escrow, op.fee_to, op.fee))
    return moves


def _write_transfer(txn: Txn, transfer: Transfer) -> None:
    txn.create(transfer_ref(transfer.id), transfer.model_dump(mode="json"))
    for account, sign in ((Account.parse(transfer.debit), -1), (Account.parse(transfer.credit), 1)):
        txn.set(balance_ref(account, _shard(account, transfer.id)), {
            "account": account.id, "kind": account.kind, "owner": account.owner, "currency": account.currency,
            "balance": increment(sign * transfer.amount),
        }, merge=True)


def load(transfer_id: str, txn: Txn | None = None) -> Transfer:
    snap = transfer_ref(transfer_id).get(transaction=txn)
    if not snap.exists:
        raise NotFound(f"transfer {transfer_id} not found", code="transfer_not_found")
    return Transfer.model_validate(snap.to_dict())


def pending_holds(escrow_id: str, *, after: str | None, limit: int) -> list[Transfer]:
    """The escrow's holds still pending, in id order, after the hold `after`."""
    account = Account(kind="escrow", owner=escrow_id)
    query = where(TRANSFERS, credit=account.id, hold=True, state="pending").order_by("id")
    if after:
        query = query.start_after({"id": after})
    return [Transfer.model_validate(snap.to_dict()) for snap in query.limit(limit).stream()]
