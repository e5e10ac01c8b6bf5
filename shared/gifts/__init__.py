"""Gifts: the product catalog, and sending a gift in a session; a ticket is a gift bound to the
session's pre-sale, held in its escrow until the show happens or the pre-sale is refunded."""
