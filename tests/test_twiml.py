"""The TwiML writer produces the bytes twilio.twiml produces."""

from __future__ import annotations

import pytest
from twilio.twiml.messaging_response import Message as TwilioMessage
from twilio.twiml.messaging_response import MessagingResponse

from bot.twiml.messaging import Action, Message, parse_answer
from bot.twiml.render import EMPTY, Node, render
from bot.twiml.voice import Redirect

TEXTS = [
    "plain",
    "a & b < c > d",
    "quotes \" and ' stay",
    "Héllo 👋 café",
    "line one\nline two",
    "tab\there",
    "",
]


def test_empty_response_matches_the_library() -> None:
    assert render([]) == str(MessagingResponse()) == EMPTY


@pytest.mark.parametrize("text", TEXTS)
def test_one_message_matches_the_library(text: str) -> None:
    expected = MessagingResponse()
    expected.message(text)
    assert render([Message(text).node()]) == str(expected)


def test_several_messages_with_media_and_attributes_match_the_library() -> None:
    expected = MessagingResponse()
    expected.message("first")
    with_media = TwilioMessage()
    with_media.body("see this & that")
    with_media.media("https://example.com/a.png?x=1&y=2")
    with_media.media("https://example.com/b.png")
    expected.append(with_media)
    expected.message("to someone", to="+15550001111", from_="+15550002222")
    ours = render(
        [
            Message("first").node(),
            Message(
                "see this & that",
                media=("https://example.com/a.png?x=1&y=2", "https://example.com/b.png"),
            ).node(),
            Message("to someone", to="+15550001111", from_="+15550002222").node(),
        ]
    )
    assert ours == str(expected)


def test_media_only_message_has_no_body() -> None:
    expected = MessagingResponse()
    message = TwilioMessage()
    message.media("https://example.com/a.png")
    expected.append(message)
    assert render([Message("", media=("https://example.com/a.png",)).node()]) == str(expected)


def test_attribute_escaping_matches_the_library() -> None:
    expected = MessagingResponse()
    expected.message("x", action='https://a/?b=1&c="2"<3>\n')
    node = Node("Message", {"action": 'https://a/?b=1&c="2"<3>\n'}, "x")
    assert render([node]) == str(expected)


def test_booleans_and_numbers_render_like_the_library() -> None:
    node = Node("X", {"flag": True, "off": False, "n": 3})
    assert render([node]).endswith('<X flag="true" n="3" off="false" /></Response>')


def test_characters_xml_forbids_are_dropped() -> None:
    out = render([Message("bell\x07 nul\x00 ok").node()])
    assert "<Message>bell nul ok</Message>" in out


def test_a_stored_messaging_answer_parses_back_to_its_actions() -> None:
    """A duplicate's stored answer is screened again (bot.engine): parsing must give back
    exactly the actions that were rendered."""
    actions: list[Action] = [
        Message("a & b < c > \"d\" 'e'\nline two ✓"),
        Message("pic", ("https://x.test/1.png", "https://x.test/2.png?a=1&b=2")),
        Message("", ("https://x.test/3.png",)),
        Message("to you", to="whatsapp:+15550009999", from_="whatsapp:+15550100000"),
        Redirect("https://switchboard.test/twilio?x=1&y=2"),
    ]
    assert parse_answer(render(a.node() for a in actions)) == actions
