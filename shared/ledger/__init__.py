"""The diamonds ledger: double-entry accounts, transfers applied once, holds (escrow) posted or
voided once. The only writer of balances and holds: other features call its named functions
inside their own steps."""
