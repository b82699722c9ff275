"""The console in headless Chromium: sign in with a token, find a conversation a signed
webhook created, watch a new message arrive live, move it, end it; the simulated phone
completes the support flow. Screenshots of each page land in $SWITCHBOARD_SCREENSHOTS
(docs/img for the docs)."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from flows.support import MENU
from tests.browser.conftest import Server, shot

TOKEN = "alice-token-0123456789abcdef"
pytestmark = pytest.mark.browser


async def test_operate_a_live_conversation(server: Server, page: Any) -> None:
    from playwright.async_api import expect

    await server.text("+15550001111", "hi")
    await server.text("+15550002222", "hi")
    await page.goto(server.base + "/console/")
    await expect(page.get_by_test_id("token")).to_be_visible()
    await shot(page, "login")
    await page.get_by_test_id("token").fill("not-the-token-at-all")
    await page.get_by_test_id("login").click()
    await expect(page.locator("#login-error")).to_contain_text("not accepted")
    await page.get_by_test_id("token").fill(TOKEN)
    await page.get_by_test_id("login").click()
    await expect(page.locator("#who")).to_have_text("signed in as alice")
    rows = page.get_by_test_id("conversation-link")
    await expect(rows).to_have_count(2)
    await shot(page, "list")

    await page.get_by_test_id("filter-number").fill("+1 555 000 1111")
    await page.get_by_test_id("search").click()
    await expect(rows).to_have_count(1)
    await rows.first.click()
    await expect(page.get_by_test_id("state")).to_have_text("menu")
    thread = page.get_by_test_id("thread")
    await expect(thread).to_contain_text(MENU)

    await server.text("+15550001111", "2")  # a new inbound message, shown live
    await expect(thread).to_contain_text("What's your order number?")
    await expect(page.get_by_test_id("state")).to_have_text("order_lookup")
    await shot(page, "conversation")

    await page.get_by_test_id("move-state").select_option("question")
    await page.get_by_test_id("move").click()
    await expect(page.get_by_test_id("state")).to_have_text("question")
    await expect(thread).to_contain_text("alice move")
    await page.get_by_test_id("end").click()
    await expect(page.get_by_test_id("closed")).to_have_text("ended")
    await shot(page, "conversation-ended")

    await page.get_by_test_id("nav-flows").click()
    await expect(page.locator("body[data-page=flows]")).to_be_visible()
    diagram = page.locator("#view > section [data-flow=support]")
    await expect(diagram.locator("[data-state=menu] .count")).to_have_text("1 open")
    await shot(page, "flows")


async def test_a_message_that_arrives_while_the_page_loads_is_shown(
    server: Server, page: Any
) -> None:
    """The page was read first and its change stream opened after, whose first mark the page
    took as the one it showed: a message in between was never shown (CI, a busy machine).
    Here the message arrives just as the stream for the conversation is asked for."""
    from playwright.async_api import Route, expect

    await server.text("+15550001111", "hi")
    await page.goto(server.base + "/console/")
    await page.get_by_test_id("token").fill(TOKEN)
    await page.get_by_test_id("login").click()
    await expect(page.get_by_test_id("conversation-link")).to_have_count(1)

    async def meanwhile(route: Route) -> None:
        await server.text("+15550001111", "2")
        await route.continue_()

    await page.route("**/admin/api/stream?conversation=*", meanwhile, times=1)
    await page.get_by_test_id("conversation-link").first.click()
    await expect(page.get_by_test_id("thread")).to_contain_text("What's your order number?")
    await expect(page.get_by_test_id("state")).to_have_text("order_lookup")


async def _advance(server: Server, duration: str) -> None:
    """Move the dev server's clock (``POST /dev/clock``)."""
    url, body = server.base + "/dev/clock", {"advance": duration}
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        assert response.status == 200, await response.text()


async def test_the_list_finds_stuck_conversations(dev_server: Server, page: Any) -> None:
    """Open and quiet for longer than "stuck after" minutes (the API's ``stuck_minutes``):
    two people went quiet two hours ago (the dev clock moved), one wrote just now."""
    from playwright.async_api import expect

    await dev_server.text("+15550001111", "hi")
    await dev_server.text("+15550002222", "hi")
    await _advance(dev_server, "2h")
    await dev_server.text("+15550003333", "hi")
    await page.goto(dev_server.base + "/console/")
    rows = page.get_by_test_id("conversation-link")
    await expect(rows).to_have_count(3)
    minutes = page.get_by_test_id("filter-stuck-minutes")
    await expect(minutes).to_be_disabled()  # only for status "stuck"
    await page.get_by_test_id("filter-status").select_option("stuck")
    await minutes.fill("90")
    await page.get_by_test_id("search").click()
    await expect(page).to_have_url(re.compile(r"status=stuck&stuck_minutes=90$"))
    await expect(rows).to_have_count(2)
    await expect(rows).to_have_text(["+15550002222", "+15550001111"])
    await shot(page, "list-stuck")
    await minutes.fill("150")  # quiet for 120 minutes is not stuck after 150
    await page.get_by_test_id("search").click()
    await expect(page.get_by_test_id("conversations")).to_contain_text("No conversations match.")
    await page.get_by_test_id("filter-status").select_option("open")
    await expect(minutes).to_be_disabled()
    await page.get_by_test_id("search").click()
    await expect(rows).to_have_count(3)
    await expect(page).not_to_have_url(re.compile("stuck_minutes"))


async def test_the_simulated_phone_completes_the_support_flow(
    dev_server: Server, page: Any
) -> None:
    from playwright.async_api import expect

    await page.goto(dev_server.base + "/console/#/phone")
    await expect(page.locator("#who")).to_have_text("dev mode (no token)")
    text, send = page.get_by_test_id("phone-text"), page.get_by_test_id("phone-send")
    replies = page.get_by_test_id("phone-reply")

    async def say(words: str, expected: str) -> None:
        matching = replies.filter(has_text=expected)
        before = await matching.count()
        await text.fill(words)
        await send.click()
        await expect(matching).to_have_count(before + 1)

    await say("hi", MENU)
    await say("1", "What's your question?")
    await expect(page.get_by_test_id("phone-state")).to_have_text("question")
    await say("Do you ship to Canada?", "ticket #1")
    await say("2", "What's your order number?")
    await say("A1001", "Order A1001 is shipped on Monday.")
    await say("3", "We're open Monday to Friday")
    await expect(page.get_by_test_id("phone-state")).to_have_text("menu")
    await shot(page, "phone")
