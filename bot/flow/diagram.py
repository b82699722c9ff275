"""Diagrams of flows, drawn from the same definition the engine runs (Mermaid text)."""

from __future__ import annotations

from typing import Any

from transitions.extensions.diagrams import GraphMachine

from bot.flow.definition import _CALLBACK_KEYS, Flow, compile_flow

__all__ = ["mermaid"]


def _named(spec: dict[str, Any]) -> dict[str, Any]:
    out = dict(spec)
    for key in _CALLBACK_KEYS:
        items = out.get(key)
        if items is None:
            continue
        items = items if isinstance(items, list | tuple) else [items]
        out[key] = [i if isinstance(i, str) else getattr(i, "__name__", repr(i)) for i in items]
    return out


def mermaid(flow: type[Flow]) -> str:
    """A Mermaid ``stateDiagram`` of ``flow`` (validated first), conditions shown on edges."""
    compile_flow(flow)

    class _Model:
        pass

    model = _Model()
    GraphMachine(
        model=model,
        states=list(flow.states),
        initial=flow.initial,
        transitions=[_named(dict(spec)) for spec in flow.transitions],
        auto_transitions=False,
        graph_engine="mermaid",
        show_conditions=True,
        title=flow.name,
    )
    text: str = model.get_graph().draw(None)  # type: ignore[attr-defined]
    return text
