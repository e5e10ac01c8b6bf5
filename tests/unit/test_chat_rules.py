"""The chats' plain rules: one chat per pair, who pays for a message, which gifts a chat carries,
and the ledger moves of a message."""
from __future__ import annotations

import pytest

from shared.chats import rules
from shared.chats.models import MessageRequest
from shared.core.errors import ValidationFailed
from shared.gifts.models import GiftProduct

A, B = "a" * 24, "b" * 24


def product(id_: str, categories: list[str], price: int = 10) -> GiftProduct:
    duration = 30 if id_.startswith("karaoke-") else None  # a karaoke- command always has one
    return GiftProduct(id=id_, name=id_, price=price, categories=categories, duration=duration)


def test_both_sides_find_the_same_chat():
    assert rules.chat_id(A, B) == rules.chat_id(B, A) == f"{A}_{B}"
    assert rules.chat_id(A, B) != rules.chat_id(A, "c" * 24)


def test_nobody_messages_themselves():
    with pytest.raises(ValidationFailed):
        rules.require_other(A, A)
    rules.require_other(A, B)


def test_only_general_gifts_go_in_a_chat():
    assert rules.gift_refusal(product("livestream-gift-rose_10", ["livestream"])) is None
    assert "ticket" in rules.gift_refusal(
        product("livestream-show-ticket_134", ["livestream-show-ticket", "livestream-show"]))
    assert "karaoke" in rules.gift_refusal(product("karaoke-vibe_100", ["livestream"]))
    assert rules.gift_refusal(product("sticker_5", ["sticker"])) is not None


def test_a_non_creator_pays_the_price_and_a_creator_nothing():
    assert rules.message_due(30, sender_is_creator=False) == 30
    assert rules.message_due(30, sender_is_creator=True) == 0
    assert rules.message_due(0, sender_is_creator=False) == 0


def test_payments_split_each_currency_with_the_platform():
    moves = rules.payments("m1", A, B, due=10, gift_amount=500, share_percent=30, metadata={})
    assert [(m.id, m.debit.id, m.credit.id, m.amount) for m in moves] == [
        ("chat:m1", f"wallet:{A}:messaging_diamond", f"earnings:{B}:messaging_diamond", 7),
        ("chat:m1:fee", f"wallet:{A}:messaging_diamond", "revenue:platform:messaging_diamond", 3),
        ("chat_gift:m1", f"wallet:{A}:diamond", f"earnings:{B}:diamond", 350),
        ("chat_gift:m1:fee", f"wallet:{A}:diamond", "revenue:platform:diamond", 150),
    ]
    assert rules.payments("m2", A, B, due=0, gift_amount=0, share_percent=30, metadata={}) == []
    (only,) = rules.payments("m3", A, B, due=1, gift_amount=0, share_percent=30, metadata={})  # the share rounds down
    assert (only.id, only.amount) == ("chat:m3", 1)


def test_a_message_needs_a_text_or_a_gift():
    assert MessageRequest.model_validate({"text": "hi"}).gift is None
    assert MessageRequest.model_validate({"gift": {"product_id": "livestream-gift-rose_10"}}).gift.quantity == 1
    for bad in ({}, {"text": "   "}, {"text": ""}, {"text": "x" * 2001}, {"text": "hi", "extra": 1},
                {"gift": {"product_id": "rose", "quantity": 0}}, {"gift": {}}):
        with pytest.raises(ValueError):
            MessageRequest.model_validate(bad)


def test_a_notice_carries_a_preview_of_a_long_text():
    assert rules.preview("hello", 200) == ("hello", False)
    assert rules.preview("x" * 300, 200) == ("x" * 200, True)
    assert rules.preview(None, 200) == (None, False)
