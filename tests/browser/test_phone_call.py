"""The console's simulated phone places a call (dev mode): it hears the IVR's prompts, answers
its <Gather> from the keypad and its <Dial> with an outcome, follows the TwiML to <Hangup>
and sends the status callback; the state changes live. And a conversation inside subflows
shows its call stack and its timers' history. Screenshots as in test_console.py."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from flows.ivr import MENU
from tests.browser.conftest import Server, admin_post, shot
from tests.browser.test_console import TOKEN

pytestmark = pytest.mark.browser


async def test_the_simulated_phone_completes_the_ivr_by_keypad(
    dev_server: Server, page: Any
) -> None:
    from playwright.async_api import expect

    await page.goto(dev_server.base + "/console/#/phone")
    await expect(page.locator("#who")).to_have_text("dev mode (no token)")
    await page.get_by_test_id("phone-mode-call").click()
    await page.get_by_test_id("call-start").click()
    heard, state = page.get_by_test_id("call-heard"), page.get_by_test_id("phone-state")
    await expect(heard.filter(has_text="Thanks for calling Acme.")).to_have_count(1)
    await expect(heard.filter(has_text=MENU)).to_have_count(1)
    await expect(state).to_have_text("menu")
    await expect(page.get_by_test_id("call-status")).to_have_text("waiting at <Gather>")
    key = "voice:" + await page.evaluate("phone.call.sid")
    await admin_post(dev_server, f"/conversations/{quote(key)}/data", {"data": {"vip": True}})
    await expect(page.get_by_test_id("phone-version")).to_have_text("v2")  # shown live

    await page.get_by_test_id("key-9").click()  # not an option: the menu again
    await expect(heard.filter(has_text="Sorry, that's not one of the options.")).to_have_count(1)
    await expect(heard.filter(has_text=MENU)).to_have_count(2)
    await page.get_by_test_id("key-1").click()  # one digit: sent as soon as it is pressed
    await expect(heard.filter(has_text="Connecting you to sales.")).to_have_count(1)
    await expect(state).to_have_text("sales")
    await expect(page.get_by_test_id("call-status")).to_have_text("waiting at <Dial>")
    await shot(page, "phone-call")

    await page.get_by_test_id("dial-completed").click()  # sales answered; the call ends
    await expect(heard.filter(has_text="Thanks for calling Acme. Goodbye.")).to_have_count(1)
    await expect(page.get_by_test_id("call-note").last).to_have_text(
        "the call hung up (status: completed)"
    )
    await expect(state).to_have_text("goodbye")
    await expect(page.get_by_test_id("phone-closed")).to_be_visible()
    await expect(page.get_by_test_id("call-start")).to_be_visible()  # ready for another call

    await page.get_by_test_id("phone-open").click()  # the stored call, step by step
    thread = page.get_by_test_id("thread")
    for kind in ("call", "gather", "dial", "hangup"):
        await expect(thread).to_contain_text(kind)
    await expect(page.get_by_test_id("closed")).to_have_text("ended")


async def test_a_conversation_in_subflows_shows_its_call_stack_and_timers(
    subflow_server: Server, page: Any
) -> None:
    from playwright.async_api import expect

    for words in ("hi", "go"):
        await subflow_server.text("+15550001111", words)
    await page.goto(subflow_server.base + "/console/")
    await page.get_by_test_id("token").fill(TOKEN)
    await page.get_by_test_id("login").click()
    await page.get_by_test_id("conversation-link").first.click()
    frames = page.get_by_test_id("frame")
    await expect(frames).to_have_count(2)
    await expect(frames.nth(0)).to_have_text(
        "parent · calling ⇒ runs child · waits for completed / expired / failed"
    )
    await expect(frames.nth(1)).to_have_text("child · ask (running) · waits for message / silence")
    timers = page.get_by_test_id("timer-event")
    await expect(timers.filter(has_text="timer ask.silence set")).to_have_count(1)

    await subflow_server.text("+15550001111", "more")  # deeper, shown live
    await expect(frames).to_have_count(3)
    await expect(frames.nth(1)).to_have_text(
        "child · deeper ⇒ runs grandchild · waits for completed"
    )
    await expect(frames.nth(2)).to_have_text("grandchild · ask (running) · waits for message")
    paused = "timer ask.silence cancelled (call stack changed)"
    await expect(timers.filter(has_text=paused)).to_have_count(1)
    await expect(page.get_by_test_id("state")).to_have_text("ask")
    await shot(page, "call-stack")

    await subflow_server.text("+15550001111", "blue")  # both return; the parent ends
    await expect(page.get_by_test_id("call-stack")).to_have_count(0)
    await expect(page.get_by_test_id("state")).to_have_text("happy")
