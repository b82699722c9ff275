"""The web console at ``/console``: one HTML page, a small script and a stylesheet, served
from the package (no CDN, no build step), under a strict Content-Security-Policy.

The page holds no data: it asks for the operator's token, keeps it in the tab's
``sessionStorage`` and calls the admin API with it in a header (never a cookie). Pages are
``#/`` (the list, ``list.js``), ``#/inbox`` (hand-offs, ``handoff.js``), ``#/c/<key>`` (a
conversation),
``#/flows`` (diagrams and counts) and ``#/phone`` (the simulated phone, dev mode:
``phone.js``).
"""

from __future__ import annotations

import logging
import os
from importlib import resources

from quart import Blueprint, Quart, Response

from bot.admin import Access, ConsoleAccess
from bot.runtime import Runtime
from bot.settings import BANNER_SHOWN
from bot.web.admin_api import admin_api, security_headers

__all__ = ["CSP", "console", "mount_console"]

log = logging.getLogger("switchboard.admin")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_TYPES = {
    ".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
}  # fmt: skip
_ASSETS = frozenset(
    {"console.js", "list.js", "handoff.js", "phone.js", "console.css", "favicon.svg"}
)


def _asset(name: str) -> bytes:
    return resources.files("bot.web").joinpath("static", name).read_bytes()


def _page(body: bytes, name: str) -> Response:
    suffix = name[name.rfind(".") :]
    response = Response(body, content_type=f"{_TYPES[suffix]}; charset=utf-8")
    response.headers["Content-Security-Policy"] = CSP
    return security_headers(response)


def console(access: ConsoleAccess) -> Blueprint:
    """The ``/console`` blueprint (the page itself is the same for every operator)."""
    bp = Blueprint("console", __name__, url_prefix="/console")

    @bp.get("/")
    async def index() -> Response:
        return _page(_asset("console.html"), "console.html")

    @bp.get("/static/<name>")
    async def asset(name: str) -> Response:
        if name not in _ASSETS:
            return security_headers(Response("not found\n", 404, content_type="text/plain"))
        return _page(_asset(name), name)

    return bp


def mount_console(app: Quart, runtime: Runtime) -> None:
    """Mount the admin API and the console when configured (or in dev mode); otherwise
    nothing is mounted and every path under them is a 404."""
    access = runtime.settings.console
    if runtime.admin is None or access.mode is Access.OFF:
        return
    poll = runtime.settings.console_poll
    app.register_blueprint(admin_api(runtime.admin, access, poll_seconds=poll))
    app.register_blueprint(console(access))
    if access.mode is Access.DEV and not os.environ.get(BANNER_SHOWN):
        log.warning("DEV MODE: the console (/console) and admin API are open without a token")
