"""Hand-off in the console, in headless Chromium: a conversation the helpdesk flow handed
off shows in the inbox; alice claims it, sees a new message live, replies, and returns it
to the flow, which then answers again. Screenshots land in docs/img/."""

from __future__ import annotations

from typing import Any

import pytest

from flows.helpdesk import HELPDESK_NUMBER
from tests.browser.conftest import Server, shot

TOKEN = "alice-token-0123456789abcdef"
PERSON = "+15550007777"
pytestmark = pytest.mark.browser


async def test_handoff_claim_reply_return(server: Server, page: Any) -> None:
    from playwright.async_api import expect

    await server.text(PERSON, "hi", to=HELPDESK_NUMBER)
    assert "a person will get back to you" in await server.text(PERSON, "agent", to=HELPDESK_NUMBER)
    await page.goto(server.base + "/console/#/inbox")
    await page.get_by_test_id("token").fill(TOKEN)
    await page.get_by_test_id("login").click()
    rows = page.get_by_test_id("handoff-row")
    await expect(rows).to_have_count(1)
    await expect(page.get_by_test_id("handoff-reason")).to_have_text("asked for a person")
    await expect(page.get_by_test_id("handoff-status")).to_have_text("waiting")
    await shot(page, "inbox")

    await page.get_by_test_id("handoff-link").click()
    await expect(page.get_by_test_id("handoff-state")).to_have_text("waiting for a person")
    await page.get_by_test_id("claim").click()
    await expect(page.get_by_test_id("handoff-state")).to_have_text("claimed by alice")
    thread = page.get_by_test_id("thread")
    assert "<Message>" not in await server.text(PERSON, "is anyone there?", to=HELPDESK_NUMBER)
    await expect(thread).to_contain_text("is anyone there?")  # shown live, not answered

    await page.get_by_test_id("reply-text").fill("Hi, I'm Alice. How can I help?")
    await page.get_by_test_id("reply-send").click()
    await expect(thread).to_contain_text("Hi, I'm Alice. How can I help?")
    await shot(page, "handoff")

    await page.get_by_test_id("return-state").select_option("ask")
    await page.get_by_test_id("return").click()
    await expect(page.get_by_test_id("take-over")).to_be_visible()
    await expect(thread).to_contain_text("returned to flow")
    answer = await server.text(PERSON, "delivery", to=HELPDESK_NUMBER)
    assert "Orders arrive in 2-4 working days." in answer
    await page.get_by_test_id("nav-inbox").click()
    await expect(page.get_by_text("Nobody is waiting.")).to_be_visible()
