"""The ledger of diamonds and the other currencies, each balancing on its own: double-entry
accounts, transfers applied once, holds (escrow) posted or voided once. The only writer of
balances and holds: other features call its named functions inside their own steps."""
