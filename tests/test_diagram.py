"""Diagrams come from the flow definition itself."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.flow.diagram import mermaid
from flows.support import SupportFlow


def test_the_diagram_shows_every_state_and_edge() -> None:
    text = mermaid(SupportFlow)
    assert text.lstrip().startswith("---") and "stateDiagram-v2" in text
    for state in SupportFlow.states:
        assert f'state "{state}" as {state}' in text
    assert "menu --> question: message [text_is('1',)]" in text
    assert "[*] --> menu" in text


def test_the_cli_prints_a_diagram_or_names_the_known_flows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", "support"]) == 0
    assert "stateDiagram-v2" in capsys.readouterr().out
    assert main(["diagram", "nope"]) == 2
    assert "known: appointments, ivr, speech_menu, support" in capsys.readouterr().err
