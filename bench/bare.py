"""The bare endpoint the pipeline is measured against: Quart parses the same signed form and
returns a constant TwiML string. Nothing is checked, stored or looked up.
"""

from __future__ import annotations

from quart import Quart, Response, request

__all__ = ["app"]

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hi!</Message></Response>'

app = Quart("bare")


@app.post("/twilio")
async def inbound() -> Response:
    form = await request.form
    if "From" not in form:
        return Response("missing From\n", status=400)
    return Response(TWIML, content_type="text/xml; charset=utf-8")


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
