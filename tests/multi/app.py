"""The app the multi-instance tests serve (``--app tests.multi.app:app``).

Our number +15550100000 answers with the example support menu (state-dependent replies, to
check ordering); +15550100001 with ``Echo``, whose every message queues one outbound
``echo <text>`` in its turn's transaction, to be sent by whichever instance's worker claims it.
"""

from __future__ import annotations

from bot import Flow, Router, Settings, T, Turn, create_app
from flows.support import SupportFlow
from tests.multi.workload import ECHO


class Echo(Flow):
    name = "echo"
    initial = "idle"
    states = ["idle"]
    transitions = [T("message", "idle", None, after="echo"), T("invalid", "*", None)]

    def on_enter_idle(self, turn: Turn) -> None:
        self.echo(turn)  # a conversation's first message enters the flow

    def echo(self, turn: Turn) -> None:
        turn.send(f"echo {turn.text}")
        turn.say(f"queued {turn.text}")


router = Router(default="support")
router.add(ECHO, "echo")
app = create_app([SupportFlow, Echo], router, Settings.from_env())
