"""The outbound gate is the only path to Twilio: an import rule, checked on every module.

Messages leave Switchboard two ways: as the TwiML answer to a webhook, or through Twilio's
REST API. The rule, enforced here over the source of every shipped module:

1. TwiML is rendered only by ``bot.engine`` (whose step passes every reply through
   ``engine.gate``): no other module imports ``bot.twiml.render`` or ``twilio.twiml``.
2. Only the REST client wrapper (:data:`REST_CLIENT_MODULES`) imports Twilio's REST client
   (``twilio.rest``/``twilio.http``/``twilio.base``) or an HTTP client; test tooling under
   ``bot/testing/`` and the dev layer ``bot/dev/`` (the fake Twilio server) may use HTTP
   libraries too, and so may the
   hand-off notifier (:data:`OPERATOR_WEBHOOKS`), which posts to the operators' webhook.
3. Only the composition root (``bot/runtime.py``) imports the wrapper's client class, to
   build it, and it hands it to the gated worker alone (``OutboxWorker(..., sender=...)``).
   Only the gated senders (:data:`GATED_SENDERS`, the outbox worker) use the ``Sender``
   protocol the client implements, and each of them calls the gate (``.admit(`` or
   ``.require(``).
4. Twilio Verify (issue 15) is not a message send, but a code goes to a person: the runtime
   builds a second client for it, handed to :data:`VERIFY_USERS` alone, which reads the
   person's consent before a code goes by SMS or WhatsApp (``.contact(``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(
    [p for d in ("bot", "storage", "flows") for p in (ROOT / d).rglob("*.py")] + [ROOT / "app.py"]
)
# The one module wrapping Twilio's REST client (issue 5's outbox), and the modules allowed to
# use that wrapper, each of which must pass every send through the gate. Paths that do not
# exist (yet) are harmless.
REST_CLIENT_MODULES = {"bot/outbound/rest.py"}
REST_CLIENTS = ("twilio.rest.Client", "bot.outbound.rest.TwilioRest")
GATED_SENDERS = {"bot/outbound/worker.py"}
VERIFY_USERS = {"bot/outbound/verify.py"}
COMPOSITION_ROOT = "bot/runtime.py"
# Modules that POST to the operators' own webhook (issue 13's hand-off notices): an HTTP
# client, but never Twilio's (no twilio.* import) and never a message to a person.
OPERATOR_WEBHOOKS = {"bot/outbound/notices.py"}
SENDER = "bot.outbound.sender.Sender"
# Modules allowed to render TwiML for the webhook answer (gated in Engine.step).
TWIML_MODULES = {"bot/engine/engine.py", "bot/twiml/render.py", "bot/twiml/__init__.py"}
# The renderer, however it is imported (the function, or the package's re-export of it).
RENDER = {"bot.twiml.render.render", "bot.twiml.render"}
# Test and dev tooling: the fake Twilio server (bot/dev) and what drives it (bot/testing).
TOOLING = ("bot/testing/", "bot/dev/")
NETWORK = ("twilio.rest", "twilio.http", "twilio.base", "httpx", "aiohttp", "requests",
           "urllib.request", "http.client", "urllib3")  # fmt: skip


def imported(path: Path) -> set[str]:
    """Every module (and ``module.name``) a file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", SHIPPED, ids=rel)
def test_no_module_reaches_twilio_around_the_gate(path: Path) -> None:
    name, names = rel(path), imported(path)
    network = {n for n in names if any(n == p or n.startswith(p + ".") for p in NETWORK)}
    if name not in REST_CLIENT_MODULES:
        network -= {n for n in network if name.startswith(TOOLING) and "twilio" not in n}
        network -= {n for n in network if name in OPERATOR_WEBHOOKS and n.startswith("aiohttp")}
        assert not network, f"{name} imports {sorted(network)}: only the REST wrapper may"
    clients = names & set(REST_CLIENTS)
    if name in GATED_SENDERS:
        source = path.read_text(encoding="utf-8")
        assert ".admit(" in source or ".require(" in source, f"{name} sends around the gate"
    elif name == COMPOSITION_ROOT:
        source = path.read_text(encoding="utf-8")
        assert source.count("TwilioRest(") == 2, "one REST client for the outbox, one for Verify"
        assert source.count("_verify_api(") == 2, "Verify's built in one place, used in one"
        assert "TwilioVerify(verify_api," in source, "and handed to the consent-reading verifier"
        assert source.count("_twilio_sender(") == 2, "built in one place, used in one place"
        worker = source[source.index("OutboxWorker(") :]
        assert worker[: worker.index(")  # fmt: skip")].count("sender=_twilio_sender(") == 1
    elif name not in REST_CLIENT_MODULES and not name.startswith(TOOLING):
        assert not clients, f"{name} uses {sorted(clients)}: only the gated outbox worker may"
    if name in VERIFY_USERS:
        assert ".contact(" in path.read_text(encoding="utf-8"), f"{name} ignores consent"
    if SENDER in names and not name.startswith(TOOLING):
        allowed = GATED_SENDERS | REST_CLIENT_MODULES | {COMPOSITION_ROOT}
        assert name in allowed, f"{name} uses the Sender: only the gated worker may"
    if name not in TWIML_MODULES:
        twiml = {n for n in names if n in RENDER or n.startswith("twilio.twiml")}
        assert not twiml, f"{name} renders TwiML ({sorted(twiml)}) outside the gated engine"


def test_the_rule_sees_what_it_forbids(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from twilio.rest import Client\nimport httpx\nfrom bot.twiml import render\n"
    )
    assert {"twilio.rest.Client", "httpx", "bot.twiml.render"} <= imported(sneaky)
    assert {"twilio.rest.Client", "bot.outbound.rest.TwilioRest"} == set(REST_CLIENTS)


def test_the_engine_renders_only_what_the_gate_let_through() -> None:
    source = (ROOT / "bot" / "engine" / "engine.py").read_text(encoding="utf-8")
    step = source[source.index("    async def step(") : source.index("    async def _before_flow(")]
    assert "await self._screen(" in step
    assert step.index("await self._screen(") < step.index("render(")
    assert "render(action.node() for action in actions)" in step  # the screened list
