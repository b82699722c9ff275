"""Example: the seed IVR — "press 1 for sales, 2 for support, 3 to leave a message".

menu ─1→ sales ─(dial answered)→ goodbye
               └(busy / no answer / failed)→ voicemail
menu ─2→ support ─(dial answered)→ goodbye
                 └(not answered)→ menu            ("support is busy", back to the menu)
menu ─3→ voicemail ─(recorded)→ saved             (transcription arrives later, filed)
                   └(nothing recorded)→ goodbye
menu: an invalid key or silence repeats the menu once; the second miss says goodbye.
A caller who called before is welcomed back (what the last call stored: their voicemails).
"""

from __future__ import annotations

from bot import Flow, T, Turn, dial_answered, has_recording, pressed, reprompt

__all__ = ["SALES_NUMBER", "SUPPORT_NUMBER", "IvrFlow"]

SALES_NUMBER = "+15550102001"
SUPPORT_NUMBER = "+15550102002"
MENU = "Press 1 for sales, 2 for support, or 3 to leave a message."


class IvrFlow(Flow):
    name = "ivr"
    initial = "menu"
    states = ["menu", "sales", "support", "voicemail", "saved", "goodbye"]
    final_states = ["saved", "goodbye"]
    transitions = [
        T("gather", "menu", "sales", conditions=pressed("1")),
        T("gather", "menu", "support", conditions=pressed("2")),
        T("gather", "menu", "voicemail", conditions=pressed("3")),
        *reprompt(
            "menu",
            times=1,
            fallback="goodbye",
            no_input="Sorry, I didn't hear anything.",
            invalid="Sorry, that's not one of the options.",
        ),
        T("dial", "sales", "goodbye", conditions=dial_answered),
        T("dial", "sales", "voicemail", before="sales_unavailable"),
        T("dial", "support", "goodbye", conditions=dial_answered),
        T("dial", "support", "menu", before="support_busy"),
        T("recording", "voicemail", "saved", conditions=has_recording, before="keep_recording"),
        T("recording", "voicemail", "goodbye", before="nothing_recorded"),
        T("recording_status", ["voicemail", "saved"], None, before="recording_stored"),
        T("transcription", "saved", None, before="file_transcription"),
    ]

    def on_enter_menu(self, turn: Turn) -> None:
        greeting = []
        if not turn.data.get("greeted"):
            turn.data["greeted"] = True
            known = any(c.flow == self.name for c in turn.history)
            greeting = ["Welcome back to Acme." if known else "Thanks for calling Acme."]
        turn.gather(*greeting, MENU, num_digits=1, timeout=5)

    def on_enter_sales(self, turn: Turn) -> None:
        turn.say("Connecting you to sales.")
        turn.dial(SALES_NUMBER, timeout=20, caller_id=turn.key.ours or None)

    def on_enter_support(self, turn: Turn) -> None:
        turn.say("Connecting you to support.")
        turn.dial(SUPPORT_NUMBER, timeout=20, caller_id=turn.key.ours or None)

    def on_enter_voicemail(self, turn: Turn) -> None:
        turn.say("Please leave a message after the beep. Press the pound key when you're done.")
        turn.record(max_length=120, finish_on_key="#", play_beep=True, transcribe=True)

    def on_enter_saved(self, turn: Turn) -> None:
        turn.say("Thank you, we got your message. Goodbye.")
        turn.hangup()

    def on_enter_goodbye(self, turn: Turn) -> None:
        turn.say("Thanks for calling Acme. Goodbye.")
        turn.hangup()

    def sales_unavailable(self, turn: Turn) -> None:
        turn.say("Sorry, nobody in sales could take your call.")

    def support_busy(self, turn: Turn) -> None:
        turn.say("Sorry, support is busy right now.")

    def keep_recording(self, turn: Turn) -> None:
        turn.data["voicemail"] = {
            "url": turn.voice.recording_url,
            "seconds": turn.voice.recording_duration,
        }

    def nothing_recorded(self, turn: Turn) -> None:
        turn.say("We didn't get a message.")

    def recording_stored(self, turn: Turn) -> None:
        turn.data["recording_sid"] = turn.voice.recording_sid

    def file_transcription(self, turn: Turn) -> None:
        completed = turn.voice.transcription_status == "completed"
        turn.data["transcript"] = turn.voice.transcription_text if completed else None
