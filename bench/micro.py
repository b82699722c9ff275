"""Per-request costs on the webhook's hot path, each against the library way of doing it."""

from __future__ import annotations

import timeit
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict

from bench.traffic import PUBLIC_URL, TOKEN, sms_params
from bot.events.parse import parse_inbound
from bot.twiml.render import Node, render
from bot.web.form import Form
from bot.web.signature import valid_signature

__all__ = ["micro_bench"]


def _us(fn: Callable[[], object], number: int = 5000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def micro_bench() -> dict[str, float]:
    """µs per call of each hot-path step (best of 5 repeats)."""
    params = sms_params("+14440000001", "Where is my parcel? It is late.", "SM" + "1" * 32)
    url = PUBLIC_URL + "/twilio"
    validator = RequestValidator(TOKEN)
    form = MultiDict(params)
    signature = validator.compute_signature(url, form)
    body = urlencode(params)
    text = "Thanks! Your question is ticket #1; we'll text you back."

    def sdk_twiml() -> str:
        response = MessagingResponse()
        response.message(text)
        return str(response)

    return {
        "form parse (parse_qsl + MultiDict)": _us(lambda: MultiDict(parse_qsl(body))),
        "signature: bot.signature (one HMAC)": _us(
            lambda: valid_signature(TOKEN, url, form, signature)
        ),
        "signature: RequestValidator.validate": _us(
            lambda: validator.validate(url, form, signature)
        ),
        "event: parse_inbound (werkzeug MultiDict)": _us(lambda: parse_inbound(form)),
        "event: parse_inbound (bot.form.Form)": _us(lambda: parse_inbound(Form(params))),
        "TwiML: bot.twiml.render": _us(lambda: render([Node("Message", text=text)])),
        "TwiML: MessagingResponse": _us(sdk_twiml),
    }
