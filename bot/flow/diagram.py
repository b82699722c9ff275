"""Diagrams of flows, drawn from the same definition the engine runs.

:func:`edges` reads a flow class (validated first) into labelled edges: the trigger, the
conditions by their readable names (``pressed 1``, ``text is 's' / 'm'``), a timer's delay
(``no_reply after 2h`` from ``Flow.timeouts``), a reprompt's fallback (``after 3 tries``)
and internal transitions. :func:`mermaid` writes them as a Mermaid ``stateDiagram-v2``
(for Markdown and GitHub), :func:`dot` as Graphviz DOT, and :func:`svg` renders the DOT
with Graphviz's ``dot`` program, so a diagram needs no browser. The initial state is entered
from a start dot; final states are drawn as double circles (Graphviz) or lead to the end
dot (Mermaid).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError
from bot.flow.definition import Flow, compile_flow
from bot.flow.intents import Timeout
from bot.flow.subflow import calls_of

__all__ = ["Edge", "dot", "edges", "mermaid", "svg"]


@dataclass(frozen=True, slots=True)
class Edge:
    """One transition as drawn: from ``source`` to ``dest`` labelled ``label``."""

    source: str
    dest: str
    label: str
    internal: bool = False


def _names(items: Any) -> list[str]:
    if items is None:
        return []
    items = items if isinstance(items, list | tuple) else [items]
    return [i if isinstance(i, str) else getattr(i, "__name__", type(i).__name__) for i in items]


def _label(spec: Mapping[str, Any], timers: Mapping[tuple[str, str], Timeout], source: str) -> str:
    trigger: str = spec["trigger"]
    timer = timers.get((source, trigger))
    label = f"{trigger} after {timer.after}" if timer else trigger
    guards = _names(spec.get("conditions")) + [f"not {n}" for n in _names(spec.get("unless"))]
    notes = [n for n in _names(spec.get("before")) if n.startswith("after ")]  # reprompt
    if guards:
        label += f" [{', '.join(guards)}]"
    if notes and not guards:
        label += f" ({', '.join(notes)})"
    return label


def _sources(spec: Mapping[str, Any], states: Sequence[str]) -> list[str]:
    raw = spec["source"]
    listed = list(raw) if isinstance(raw, list | tuple) else [raw]
    return list(states) if "*" in listed else listed


def edges(flow: type[Flow]) -> list[Edge]:
    """Every transition of ``flow`` as a labelled edge, in declaration order."""
    compile_flow(flow)  # only a valid flow is drawn
    timers = {(state, t.trigger): t for state, ts in flow.timeouts.items() for t in ts}
    drawn: list[Edge] = []
    for spec in flow.transitions:
        for source in _sources(spec, flow.states):
            dest = spec.get("dest")
            label = _label(spec, timers, source)
            if dest is None:
                drawn.append(Edge(source, source, label + " (internal)", internal=True))
            else:
                drawn.append(Edge(source, source if dest == "=" else dest, label))
    return drawn


def _merged(drawn: Iterable[Edge]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for edge in drawn:
        out.setdefault((edge.source, edge.dest), []).append(edge.label)
    return out


def mermaid(flow: type[Flow]) -> str:
    """A Mermaid ``stateDiagram-v2`` of ``flow``."""
    lines = ["---", f"title: {flow.name}", "---", "stateDiagram-v2", "  direction LR"]
    lines.append(f"  [*] --> {flow.initial}")
    for (source, dest), labels in _merged(edges(flow)).items():
        text = " | ".join(labels).replace(":", "∶")  # a colon would end Mermaid's label
        lines.append(f"  {source} --> {dest}: {text}")
    lines += [f"  {state} --> [*]" for state in flow.final_states]
    lines += [f"  {state}: {state} ⇒ calls {child}" for state, child in calls_of(flow).items()]
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot(flow: type[Flow]) -> str:
    """Graphviz DOT for ``flow``: start dot → initial state; final states double-circled."""
    lines = [
        f"digraph {_quote(flow.name)} {{",
        "  rankdir=LR;",
        f"  label={_quote(flow.name)}; labelloc=t; fontname=Helvetica;",
        "  node [shape=box, style=rounded, fontname=Helvetica];",
        "  edge [fontname=Helvetica, fontsize=10];",
        '  __start [shape=point, width=0.15, label=""];',
    ]
    calls = calls_of(flow)  # a subflow state says which flow it calls
    for state in flow.states:
        shape = ", shape=doublecircle, style=solid" if state in flow.final_states else ""
        shape += (
            f', style="rounded,bold", xlabel={_quote("⇒ " + calls[state])}'
            if state in calls
            else ""
        )
        bold = ", penwidth=2" if state == flow.initial else ""
        lines.append(f"  {_quote(state)} [label={_quote(state)}{shape}{bold}];")
    lines.append(f"  __start -> {_quote(flow.initial)};")
    for edge in edges(flow):
        style = ", style=dashed" if edge.internal else ""
        lines.append(
            f"  {_quote(edge.source)} -> {_quote(edge.dest)} [label={_quote(edge.label)}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(flow: type[Flow]) -> str:
    """``flow`` drawn as SVG by Graphviz's ``dot``; :class:`ConfigError` if it is missing."""
    program = shutil.which("dot")
    if program is None:
        raise ConfigError(
            "SVG needs Graphviz's `dot` (apt-get install graphviz, brew install graphviz); "
            "--format mermaid or dot needs nothing"
        )
    done = subprocess.run(
        [program, "-Tsvg"], input=dot(flow), capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        raise ConfigError(f"Graphviz could not draw {flow.name!r}: {done.stderr.strip()}")
    return done.stdout
