"""Revoking consent: the FCC's words are keywords; short, clear phrases revoke too (per number).

Regression for issue 16: "opt out" and "opt-out" were not opt-out keywords, and "Stop texting
me" or "please stop" were ignored. The oracle lists are written here, apart from the code.
"""

from __future__ import annotations

import pytest

from bot import Router
from bot.compliance.config import Compliance, Keywords, NumberPolicy
from bot.compliance.consent import Keyword, keyword_of
from bot.compliance.revocation import Revocation, revokes
from bot.errors import ConfigError
from bot.testing import Harness
from tests.outbound.conftest import CALLER, OURS, Notify

FCC_WORDS = ["stop", "quit", "end", "revoke", "opt out", "cancel", "unsubscribe"]
REVOKING = [
    "stop texting me", "Stop texting me!", "please stop", "Please, STOP.", "unsubscribe me",
    "stop sending me messages", "opt me out", "remove me from this list", "don't text me",
    "Do not text me anymore", "no more texts please", "leave me alone", "stop it",
    "take me off your list", "i want to opt out", "STOP MESSAGING ME", "cancel my messages",
]  # fmt: skip
ORDINARY = [
    "can you stop by tomorrow", "I want to cancel my appointment", "end of the day works",
    "stop by at 5", "don't stop", "please cancel my order", "I will stop at the store",
    "what time do you end", "cancel it", "end it", "no more pizza", "sure", "1",
    "stop texting me when the order ships and call instead, my phone is broken",
]  # fmt: skip


@pytest.mark.parametrize("word", [*FCC_WORDS, "Opt-Out", " OPT OUT! ", "Revoke."])
def test_the_fccs_words_are_opt_out_keywords(word: str) -> None:
    assert keyword_of(word, Keywords()) is Keyword.OPT_OUT


@pytest.mark.parametrize("text", REVOKING)
def test_short_clear_phrases_revoke(text: str) -> None:
    assert revokes(text)
    assert keyword_of(text, Keywords(), Revocation.PHRASES) is Keyword.OPT_OUT
    assert keyword_of(text, Keywords(), Revocation.KEYWORDS) is None


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_sentences_with_a_stop_word_do_not(text: str) -> None:
    assert not revokes(text) and keyword_of(text, Keywords(), Revocation.PHRASES) is None


def test_the_policy_is_configured_per_number() -> None:
    raw = {"numbers": {"+15550100001": {"revocation": "keywords"}}}
    compliance = Compliance.from_dict(raw)
    assert compliance.policy(OURS).revocation is Revocation.PHRASES  # the default
    assert compliance.policy("+15550100001").revocation is Revocation.KEYWORDS
    with pytest.raises(ConfigError, match="malformed"):
        Compliance.from_dict({"default": {"revocation": "vibes"}})


async def test_please_stop_opts_out_and_blocks_what_was_queued(database_url: str) -> None:
    async with Harness.of([Notify], Router(default="notify"), database_url=database_url) as h:
        phone = h.phone(CALLER)
        await phone.send("hi")
        await phone.send("can you stop by tomorrow")  # ordinary text: the flow answers
        await phone.send("ping")  # queues "pong"
        reply = await phone.send("please stop texting me")
        assert "unsubscribed" in reply.body
        await h.drain()
        assert h.twilio is not None and h.twilio.sent() == []
        [row] = await h.store.delivery_report("theirs")
        assert row.by_status == {"blocked": 1}


async def test_a_number_with_keywords_only_treats_phrases_as_text(database_url: str) -> None:
    compliance = Compliance(numbers={OURS: NumberPolicy(revocation=Revocation.KEYWORDS)})
    harness = Harness.of([Notify], Router(default="notify"), compliance, database_url=database_url)
    async with harness as h:
        await h.phone(CALLER).send("hi")
        reply = await h.phone(CALLER).send("please stop")
        assert "unsubscribed" not in reply.body
        assert not (await h.engine.gate.contact(h.phone(CALLER).channel, OURS, CALLER)).opted_out


def test_the_anchor_words_only_skip_what_cannot_match() -> None:
    """``revokes`` skips the regular expression for a message with none of its anchor words:
    over random phrases of the expression's own words, it answers as the expression does."""
    import random
    import re

    from bot.compliance import revocation

    vocabulary = sorted(set(re.findall(r"[a-z]+", revocation._PHRASE.pattern)))
    pick = random.Random(18)
    matched = 0
    for _ in range(30_000):
        words = " ".join(pick.choice(vocabulary) for _ in range(pick.randint(1, 6)))
        expected = revocation._PHRASE.match(words) is not None
        matched += expected
        assert revokes(words) is expected, words
    for text in REVOKING:
        words = revocation._words(text)
        assert revocation._PHRASE.match(words) and not revocation._ANCHORS.isdisjoint(words.split())
    assert matched > 50  # the phrases did reach the expression
