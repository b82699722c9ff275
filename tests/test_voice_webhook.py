"""Voice over the real webhook: bad input gets a clear 4xx (or a harmless 204), retries are
answered once, callbacks land in the call's log, and a failing flow never leaves dead air."""

from __future__ import annotations

import logging

import pytest

from bot import Channel, Flow, Router, T, Turn
from bot.dev.reply import Reply
from bot.flow.voice_conditions import pressed
from bot.testing import Call, Harness
from bot.testing.runner import reply_lines

OURS = "+15550100000"
CALLER = "+15550001111"


def _base(call_sid: str | None = "CA" + "a" * 32) -> list[tuple[str, str]]:
    params = [("AccountSid", "AC" + "0" * 32), ("From", CALLER), ("To", OURS),
              ("CallStatus", "in-progress"), ("Direction", "inbound")]  # fmt: skip
    return params + ([("CallSid", call_sid)] if call_sid else [])


async def _started(harness: Harness) -> tuple[Call, Reply]:
    call = harness.call(CALLER, OURS)
    return call, await call.start()


@pytest.mark.parametrize(
    ("path", "extra", "status", "message"),
    [
        ("/twilio", [], 400, "CallSid"),
        ("/twilio?step=2&on=gather", [("Digits", "1x")], 400, "Digits must be keypad keys"),
        ("/twilio?step=2&on=gather", [("Digits", "TIMEOUT")], 400, "Digits"),
        ("/twilio?step=2&on=gather", [("SpeechResult", "hi"), ("Confidence", "high")], 400,
         "Confidence"),
        ("/twilio?step=2&on=gather", [("SpeechResult", "hi"), ("Confidence", "1.5")], 400,
         "Confidence"),
        ("/twilio?step=2&on=dance", [], 400, "unknown voice action"),
        ("/twilio?on=gather", [("Digits", "1")], 400, "needs its step"),
        ("/twilio?step=x&on=gather", [("Digits", "1")], 400, "step must be a whole number"),
        ("/twilio?step=2&on=dial", [("DialCallStatus", "exploded")], 400, "DialCallStatus"),
        ("/twilio?step=2&on=record", [("RecordingDuration", "long")], 400, "RecordingDuration"),
    ],
)  # fmt: skip
async def test_bad_voice_input_is_a_clear_4xx(
    harness: Harness, path: str, extra: list[tuple[str, str]], status: int, message: str
) -> None:
    params = _base(None if message == "CallSid" else "CA" + "a" * 32) + extra
    reply = await harness.post(path, params)
    assert reply.status == status
    assert message in reply.body
    assert "Traceback" not in reply.body


async def test_a_malformed_call_sid_is_refused(harness: Harness) -> None:
    reply = await harness.post("/twilio", _base("CAnot-a-sid"))
    assert reply.status == 400 and "CallSid" in reply.body


async def test_status_callbacks_for_unknown_calls_are_a_harmless_204(harness: Harness) -> None:
    sid = "CA" + "b" * 32
    for extra in (
        [("CallStatus", "completed"), ("SequenceNumber", "3")],
        [("RecordingSid", "RE" + "1" * 32), ("RecordingStatus", "completed")],
        [("TranscriptionSid", "TR" + "1" * 32), ("TranscriptionStatus", "completed"),
         ("TranscriptionText", "hello"), ("CallStatus", "completed")],
    ):  # fmt: skip
        params = [("AccountSid", "AC" + "0" * 32), ("CallSid", sid), *extra]
        reply = await harness.post("/twilio/status", params)
        assert reply.status == 204, reply.body
    assert await harness.store.conversation(f"voice:{sid}") is None
    assert await harness.store.log(f"voice:{sid}") == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("CallStatus", "completed")], "CallSid"),
        ([("CallSid", "CA" + "c" * 32), ("CallStatus", "exploded")], "CallStatus"),
        ([("CallSid", "CA" + "c" * 32), ("RecordingStatus", "completed")], "RecordingSid"),
        ([("CallSid", "CA" + "c" * 32), ("CallStatus", "completed"), ("SequenceNumber", "x")],
         "SequenceNumber"),
    ],
)  # fmt: skip
async def test_bad_status_callbacks_are_a_clear_400(
    harness: Harness, params: list[tuple[str, str]], message: str
) -> None:
    reply = await harness.post("/twilio/status", params)
    assert reply.status == 400 and message in reply.body


async def test_action_urls_point_back_to_us_and_their_query_is_signed(harness: Harness) -> None:
    call, reply = await _started(harness)
    gather = reply.root.find("Gather")
    assert gather is not None
    action = gather.get("action") or ""
    assert action == f"{harness.public_url}/twilio?step=1&on=gather"
    assert gather.get("actionOnEmptyResult") == "true"
    # The same form signed for another step's URL does not validate for this one.
    from bot.dev.signing import sign

    params = call.params([("Digits", "1")])
    forged = {"X-Twilio-Signature": sign(f"{harness.public_url}/twilio?step=9&on=gather", params)}
    bad = await harness.post("/twilio?step=1&on=gather", params, headers=forged, signed=False)
    assert bad.status == 403
    good = await call.press("1")
    assert good.status == 200


async def test_a_retried_gather_is_answered_once(harness: Harness) -> None:
    call, _ = await _started(harness)
    first = await call.press("1")
    again = await call.retry()
    assert again.body == first.body
    log = await harness.store.log(f"voice:{call.sid}")
    assert [e.kind for e in log if e.direction == "in"] == ["call", "gather"]
    stored = await harness.store.conversation(f"voice:{call.sid}")
    assert stored is not None and stored.state == "sales" and stored.version == 2


async def test_voicemail_callbacks_land_in_the_calls_log(harness: Harness) -> None:
    call, _ = await _started(harness)
    await call.press("3")
    await call.record(21)
    for reply in (
        await call.hangup(),
        await call.recording_status("completed"),
        await call.transcription("Please call me back."),
    ):
        assert reply.status == 204
    key = f"voice:{call.sid}"
    log = await harness.store.log(key)
    inbound = [(e.kind, e.sid, e.body) for e in log if e.direction == "in"]
    assert inbound == [
        ("call", call.sid, ""), ("gather", call.sid, "3"), ("recording", call.sid, "#"),
        ("hangup", call.sid, ""), ("recording_status", call.sid, ""),
        ("transcription", call.sid, "Please call me back."),
    ]  # fmt: skip
    meta = {e.kind: e.meta for e in log if e.direction == "in"}
    recording_url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/"
    assert meta["recording"]["recording_url"] == recording_url + call.recording_sid
    assert meta["recording"]["recording_duration"] == "21" and meta["recording"]["digits"] == "#"
    assert meta["recording_status"]["recording_sid"] == call.recording_sid
    assert meta["recording_status"]["recording_status"] == "completed"
    assert meta["transcription"]["transcription_status"] == "completed"
    assert meta["transcription"]["transcription_text"] == "Please call me back."
    assert meta["transcription"]["recording_sid"] == call.recording_sid
    assert meta["hangup"]["call_status"] == "completed" and meta["hangup"]["sequence"] == "0"
    assert meta["gather"] == {"digits": "3", "step": "1", "call_status": "in-progress"}
    stored = await harness.store.conversation(key)
    assert stored is not None and stored.closed and stored.state == "saved"
    assert stored.data["voicemail"]["seconds"] == 21
    assert stored.data["voicemail"]["url"].endswith(call.recording_sid)
    assert stored.data["recording_sid"] == call.recording_sid
    assert stored.data["transcript"] == "Please call me back."
    assert stored.theirs == CALLER and stored.ours == OURS


class Fragile(Flow):
    name = "fragile"
    initial = "menu"
    states = ["menu"]
    transitions = [
        T("gather", "menu", None, conditions=pressed("1"), before="explode"),
        T("hangup", "menu", None, before="explode"),
    ]

    def on_enter_menu(self, turn: Turn) -> None:
        turn.gather("Press 1.", num_digits=1)

    def explode(self, turn: Turn) -> None:
        turn.data["touched"] = True
        raise RuntimeError("the order system is down")


async def test_a_failing_flow_apologises_and_hangs_up_and_a_hangup_still_closes() -> None:
    router = Router()
    router.set_default("fragile", Channel.VOICE)
    async with Harness.of([Fragile], router) as harness:
        call, _ = await _started(harness)
        reply = await call.press("1")
        assert [e.tag for e in reply.root] == ["Say", "Hangup"]
        assert "Sorry" in (reply.root[0].text or "")
        key = f"voice:{call.sid}"
        stored = await harness.store.conversation(key)
        assert stored is not None and stored.state == "menu" and "touched" not in stored.data
        assert (await call.hangup()).status == 204
        stored = await harness.store.conversation(key)
        assert stored is not None and stored.closed and "touched" not in stored.data


async def test_time_to_answer_is_measured(harness: Harness) -> None:
    call, _ = await _started(harness)
    await call.press("2")
    timings = harness.runtime.calls.timings
    assert len(timings) == 2 and all(0 < t < 3 for t in timings)


async def test_a_call_knows_the_callers_earlier_calls(harness: Harness) -> None:
    first, _ = await _started(harness)
    await first.hangup()
    _, reply = await _started(harness)
    assert reply.root.find("Gather/Say") is not None
    assert "Welcome back" in (reply.root.find("Gather/Say").text or "")  # type: ignore[union-attr]


class Lobby(Flow):
    name = "lobby"
    initial = "start"
    states = ["start", "music", "menu"]
    transitions = [
        T("redirect", "start", "music"),
        T("redirect", "music", "menu"),
    ]

    def on_enter_start(self, turn: Turn) -> None:
        if turn.caller == "anonymous":
            turn.reject("busy")
            return
        turn.say("Welcome.", voice="Polly.Amy", language="en-GB")
        turn.redirect()

    def on_enter_music(self, turn: Turn) -> None:
        turn.play("https://cdn.example.com/hold.mp3", loop=2)
        turn.pause(2)
        turn.redirect()

    def on_enter_menu(self, turn: Turn) -> None:
        turn.gather("Press any key.", input="dtmf", finish_on_key="", timeout=3)


async def test_redirect_play_pause_and_reject_from_a_flow() -> None:
    router = Router()
    router.set_default("lobby", Channel.VOICE)
    async with Harness.of([Lobby], router) as harness:
        call = harness.call(CALLER)
        lines = [t for t, _ in reply_lines(await call.start())]
        assert lines == ["say: Welcome.", "play: https://cdn.example.com/hold.mp3", "pause: 2s",
                         "say: Press any key."]  # fmt: skip
        log = await harness.store.log(f"voice:{call.sid}")
        assert [e.kind for e in log if e.direction == "in"] == ["call", "redirect", "redirect"]
        assert call.waiting is not None and call.waiting.tag == "Gather"
        blocked = harness.call("anonymous")
        reply = await blocked.start()
        assert [(e.tag, e.get("reason")) for e in reply.root] == [("Reject", "busy")]
        assert blocked.ended


async def test_voice_verbs_refuse_a_messaging_turn() -> None:
    class Texty(Flow):
        name = "texty"
        initial = "start"
        states = ["start"]

        def on_enter_start(self, turn: Turn) -> None:
            turn.gather("Press 1")

    async with Harness.of([Texty], Router(default="texty")) as harness:
        reply = await harness.phone(CALLER).send("hi")
        assert reply.messages == [harness.engine.apology]


async def test_a_gather_result_after_the_hangup_does_not_restart_the_call(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The caller hangs up mid-<Gather>: the status callback may come before the action
    request, after it, or instead of it. Whichever order, the call ends closed, and a late
    result neither re-enters the flow nor reopens the conversation."""
    caplog.set_level(logging.INFO, "switchboard.engine")

    def key(call: Call) -> str:
        return f"voice:{call.sid}"

    # before: `completed` first, then the Gather's (empty or pressed) result
    for extra in ([], [("Digits", "1")]):
        call, _ = await _started(harness)
        gather = call.waiting
        assert gather is not None
        assert (await call.hangup()).status == 204
        caplog.clear()
        late = await harness.post(call._path(gather.get("action") or ""), call.params(extra))
        assert late.status == 200 and [v.tag for v in late.root] == ["Hangup"]
        stored = await harness.store.conversation(key(call))
        assert stored is not None and stored.closed and stored.state == "menu"
        assert stored.version == 2  # the call, the hangup: nothing ran for the late result
        assert [r.getMessage() for r in caplog.records if "is over" in r.getMessage()] == [
            f"call {call.sid} is over: its {'gather' if extra else 'no_input'} request is "
            f"answered with <Hangup/>, the flow not run (conversation {key(call)})"
        ]
        log = await harness.store.log(key(call))
        assert [e.kind for e in log if e.direction == "in"][-2:] == [
            "hangup", "gather" if extra else "no_input"]  # fmt: skip
    # after: the result, then `completed`
    call, _ = await _started(harness)
    await call.press("1")
    await call.hangup()
    stored = await harness.store.conversation(key(call))
    assert stored is not None and stored.closed and stored.state == "sales"
    # instead of: only `completed`
    call, _ = await _started(harness)
    await call.hangup()
    stored = await harness.store.conversation(key(call))
    assert stored is not None and stored.closed and stored.state == "menu"


async def test_a_call_to_an_unrouted_number_hears_twiml_not_an_application_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 404 would make Twilio play "an application error has occurred": a new call is
    rejected unanswered instead (not billed), a later request gets the apology, one log line
    each."""
    router = Router()
    router.add("+15550100999", "fragile")  # calls to OURS have no flow
    async with Harness.of([Fragile], router) as harness:
        call = harness.call(CALLER, OURS)
        reply = await call.start()
        assert reply.status == 200 and reply.content_type.startswith("text/xml")
        assert [(v.tag, v.get("reason")) for v in reply.root] == [("Reject", "rejected")]
        refused = [r for r in caplog.records if "no flow is routed" in r.getMessage()]
        assert len(refused) == 1 and f"call {call.sid} (call) refused" in refused[0].getMessage()
        assert await harness.store.conversation(f"voice:{call.sid}") is None
        later = await harness.post("/twilio?step=2&on=gather", [*_base(), ("Digits", "1")])
        assert later.status == 200
        assert [v.tag for v in later.root] == ["Say", "Hangup"]
        assert "Sorry" in (later.root[0].text or "")


class Bare(Flow):
    """Takes only a press of 1, and no outcome of its <Dial>."""

    name = "bare"
    initial = "menu"
    states = ["menu", "transfer"]
    transitions = [T("gather", "menu", "transfer", conditions=pressed("1"))]

    def on_enter_menu(self, turn: Turn) -> None:
        turn.gather("Press 1.", num_digits=1)

    def on_enter_transfer(self, turn: Turn) -> None:
        turn.dial("+15550102001")


@pytest.mark.parametrize("what", ["silence", "a wrong key", "a dial outcome"])
async def test_an_unhandled_call_request_is_logged_and_never_a_silent_hangup(
    what: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty <Response/> ends the call with nothing said; a request no transition takes
    gets the apology and <Hangup/>, and one warning names the flow and the state."""
    router = Router()
    router.set_default("bare", Channel.VOICE)
    async with Harness.of([Bare], router) as harness:
        call, _ = await _started(harness)
        if what == "silence":
            reply = await call.silence()
        elif what == "a wrong key":
            reply = await call.press("9")
        else:
            await call.press("1")
            caplog.clear()
            reply = await call.dial_ends("busy")
        assert [v.tag for v in reply.root] == ["Say", "Hangup"]
        assert reply.root[0].text == harness.engine.apology
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and "flow 'bare'" in warned[0] and "apology" in warned[0]
