"""The console's statistics page (`switchboard stats` in the browser), in headless Chromium,
over conversations that signed webhooks created; its screenshot, taken into docs/img with
SWITCHBOARD_SCREENSHOTS=docs/img, is the one docs/observability.md shows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Server, shot

TOKEN = "alice-token-0123456789abcdef"
pytestmark = pytest.mark.browser


async def test_the_statistics_page_shows_where_people_went(server: Server, page: Any) -> None:
    from playwright.async_api import expect

    for n in range(4):
        await server.text(f"+1555000300{n}", "hi")
    await server.text("+15550003000", "2")  # menu → order_lookup
    await server.text("+15550003001", "2")
    await server.text("+15550003002", "STOP")
    await page.goto(server.base + "/console/#/flows")
    await page.get_by_test_id("token").fill(TOKEN)
    await page.get_by_test_id("login").click()
    await page.locator("[data-testid=flow-stats-link]").first.click()
    await expect(page.locator("body[data-page=stats]")).to_be_visible()
    await page.goto(server.base + "/console/#/stats/support")
    summary = page.get_by_test_id("stats-summary")
    await expect(summary).to_contain_text("4 started, 0 completed (0.0%)")
    menu = page.locator("[data-testid=stats-row][data-state=menu] td")
    await expect(menu.nth(1)).to_have_text("4")  # entered
    await expect(menu.nth(2)).to_have_text("order_lookup 2")  # left to
    await expect(menu.nth(6)).to_have_text("1")  # stopped
    await shot(page, "stats")
