"""Ledger accounts, transfers and holds, and the API's requests and views.

An account is named `{kind}:{owner}:{currency}`: `wallet:{user}:diamond` (spendable, never below
zero), `earnings:{user}:diamond`, `escrow:{escrow_id}:diamond` (escrow ids like
`show_funding:{goal_id}`), `revenue:platform:diamond`, and `issuance:platform:diamond`, the only
account that goes below zero: it mirrors the diamonds in circulation.

Every currency is a ledger of its own: its own issuance and revenue accounts, and no transfer
between accounts of two currencies, so each currency's accounts sum to zero by themselves.
"""
from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from shared.core.errors import Conflict

# the seeds' currencies: diamonds, the messaging diamonds, points and rainbow diamonds
Currency = Literal["diamond", "messaging_diamond", "point", "rainbow_diamond"]
CURRENCIES: tuple[str, ...] = get_args(Currency)
DIAMOND: Currency = "diamond"
Kind = Literal["wallet", "earnings", "escrow", "revenue", "issuance"]
KINDS: tuple[str, ...] = ("wallet", "earnings", "escrow", "revenue", "issuance")
Amount = Annotated[StrictInt, Field(gt=0, le=1_000_000_000)]  # whole units of the account's currency


class InsufficientFunds(Conflict):
    code = "insufficient_funds"


class HoldResolved(Conflict):
    code = "hold_resolved"


class Account(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    owner: str
    currency: Currency = DIAMOND

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.owner}:{self.currency}"

    @classmethod
    def parse(cls, account_id: str) -> Account:
        kind, rest = account_id.split(":", 1)
        owner, currency = rest.rsplit(":", 1)
        return cls(kind=kind, owner=owner, currency=currency)


def wallet(user_id: str, currency: Currency = DIAMOND) -> Account:
    return Account(kind="wallet", owner=user_id, currency=currency)


def earnings(user_id: str, currency: Currency = DIAMOND) -> Account:
    return Account(kind="earnings", owner=user_id, currency=currency)


def escrow(escrow_id: str, currency: Currency = DIAMOND) -> Account:
    return Account(kind="escrow", owner=escrow_id, currency=currency)


def revenue(currency: Currency = DIAMOND) -> Account:
    """The platform's share of payments in `currency`."""
    return Account(kind="revenue", owner="platform", currency=currency)


def issuance(currency: Currency = DIAMOND) -> Account:
    """Mirrors the units of `currency` in circulation: the only account below zero."""
    return Account(kind="issuance", owner="platform", currency=currency)


REVENUE = revenue()
ISSUANCE = issuance()

TransferState = Literal["posted", "pending", "voided"]


class Transfer(BaseModel):
    """One movement between two accounts of one currency. A hold is a transfer into an escrow
    account that stays `pending` until it is posted onward or voided back, once."""

    id: str
    debit: str  # account ids
    credit: str
    amount: int
    currency: str
    state: TransferState = "posted"
    hold: bool = False
    resolved_by: str | None = None  # the transfer that posted or voided a hold
    created_at: float
    resolved_at: float | None = None
    parties: list[str] = Field(default_factory=list)  # users whose accounts it touches (for their history)
    metadata: dict[str, str | int | float | None] = Field(default_factory=dict)


# --- the API's requests and views -----------------------------------------------------------


class ProvisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency = Field(DIAMOND, description="which currency to provision")


class WalletQuery(BaseModel):
    currency: Currency = Field(DIAMOND, description="which currency's wallet")


class HoldView(BaseModel):
    """Where a viewer's held diamonds sit: what they bought, and what happens to the money."""

    id: str
    escrow: str
    amount: int
    state: Literal["held", "refunded", "paid_out"]
    created_at: float
    refund_after: float | None = Field(None, description="when an unmet pre-sale's refund would run")
    metadata: dict[str, str | int | float | None]


class TransferView(BaseModel):
    id: str
    direction: Literal["in", "out"]
    amount: int
    counterparty: str = Field(description="the other account's kind (and escrow id)")
    created_at: float
    metadata: dict[str, str | int | float | None]


class Wallet(BaseModel):
    user_id: str
    currency: str
    balance: int
    earnings: int
    holds: list[HoldView]
    transfers: list[TransferView]


class CurrencyTotals(BaseModel):
    totals: dict[str, int] = Field(description="balance per account kind")
    accounts: int
    balanced: bool = Field(description="this currency's accounts sum to zero: issuance mirrors what circulates")
    negative_wallets: int


class Totals(BaseModel):
    totals: dict[str, int] = Field(description="diamonds: balance per account kind")
    accounts: int = Field(description="accounts of every currency")
    balanced: bool = Field(description="every currency's accounts sum to zero on their own")
    negative_wallets: int = Field(description="wallets below zero, in every currency")
    currencies: dict[str, CurrencyTotals] = Field(description="the same, per currency")
