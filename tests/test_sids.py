"""``check_sids`` reads the form's lists directly: the same verdicts on werkzeug's MultiDict
and on the webhook's ``Form``."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from bot.errors import BadRequest
from bot.events.sids import check_sids
from bot.web.form import Form

SM, CA = "SM" + "a" * 32, "CA" + "b" * 32
CASES = [
    ([("MessageSid", SM), ("SmsSid", SM), ("AccountSid", "AC" + "0" * 32)], None),
    ([("CallSid", CA), ("Digits", "1")], None),
    ([("CallSid", ""), ("From", "+15550001111")], None),  # an empty id is no id
    ([], None),
    ([("MessageSid", SM), ("MessageSid", SM)], "MessageSid is given 2 times"),
    ([("CallSid", "SM" + "a" * 32)], "CallSid 'SM"),
    ([("MessageSid", SM + "NumMedia0")], "is not a Twilio id"),
    ([("MessageSid", SM), ("SmsSid", "SM" + "c" * 32)], "name different messages"),
]


@pytest.mark.parametrize("kind", [MultiDict, Form])
@pytest.mark.parametrize(("pairs", "refusal"), CASES)
def test_check_sids(
    kind: type[MultiDict[str, str]], pairs: list[tuple[str, str]], refusal: str | None
) -> None:
    params = kind(pairs)
    if refusal is None:
        check_sids(params)
    else:
        with pytest.raises(BadRequest, match=refusal):
            check_sids(params)
