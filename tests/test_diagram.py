"""Diagrams come from the flow definition itself, and people can read them (issue 11)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.cli import main
from bot.flow.diagram import dot, edges, mermaid, svg
from flows.appointments import AppointmentFlow
from flows.ivr import IvrFlow
from flows.support import SupportFlow

needs_graphviz = pytest.mark.skipif(
    shutil.which("dot") is None and os.environ.get("SWITCHBOARD_REQUIRE_GRAPHVIZ") != "1",
    reason="Graphviz's `dot` is not installed (apt-get install graphviz)",
)


def test_every_transition_is_an_edge_with_readable_conditions() -> None:
    text = mermaid(SupportFlow)
    assert text.startswith("---\ntitle: support\n---\nstateDiagram-v2")
    assert "menu --> question: message [text is '1']" in text
    assert "[*] --> menu" in text
    for flow in (SupportFlow, IvrFlow, AppointmentFlow):
        drawn = mermaid(flow)
        assert "('" not in drawn and ",)" not in drawn, "stray tuple syntax"
        assert len(edges(flow)) >= len(flow.transitions)


def test_final_states_timers_and_reprompts_are_shown() -> None:
    text = mermaid(AppointmentFlow)
    for final in AppointmentFlow.final_states:
        assert f"{final} --> [*]" in text
    assert "no_reply after 2h" in text and "day_passed after 24h" in text
    ivr = mermaid(IvrFlow)
    assert "menu --> goodbye: no_input (after 2 tries)" in ivr
    assert "no_input [repeat, at most 1×]" in ivr
    assert "menu --> sales: gather [pressed 1]" in ivr


def test_dot_marks_the_initial_and_final_states() -> None:
    text = dot(AppointmentFlow)
    assert '__start -> "reminding";' in text
    assert '"confirmed" [label="confirmed", shape=doublecircle' in text
    assert '"reminding" [label="reminding", penwidth=2];' in text


@needs_graphviz
def test_svg_is_drawn_by_graphviz_without_a_browser(tmp_path: Path) -> None:
    drawn = svg(IvrFlow)
    root = ET.fromstring(drawn)
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert {"menu", "voicemail", "goodbye"} <= texts
    out = tmp_path / "ivr.svg"
    assert main(["diagram", "ivr", "--format", "svg", "-o", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<?xml")


def test_the_cli_prints_a_diagram_or_names_the_known_flows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", "support"]) == 0
    assert "stateDiagram-v2" in capsys.readouterr().out
    assert main(["diagram", "nope"]) == 2
    known = (
        "known: appointments, helpdesk, ivr, speech_menu, support, verified_signup, verify_phone"
    )
    assert known in capsys.readouterr().err
    assert main(["diagram", "support", "--flows", "nocolon"]) == 2
    assert "use module:attribute" in capsys.readouterr().err


def test_flows_of_a_project_are_found_from_its_directory(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(
        "from bot import Flow, T, Turn\n\n"
        "class Echo(Flow):\n"
        "    name = 'echo'\n    initial = 'on'\n    states = ['on']\n"
        "    transitions = [T('message', 'on', '=')]\n\nFLOWS = [Echo]\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "diagram", "echo", "--flows", "mine:FLOWS"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "on --> on: message" in done.stdout
