"""A recurrent layer's results as torch.fx sees them -> edges naming the block's outputs.

`out, h = self.gru(x)` gives the sequence (batch first, as the block's `sequence`) and the final
state in torch's layout, [layers * directions, B, hidden] (for an LSTM the pair (h_n, c_n)). The
block gives its states batch first, so a state is usable as a block output only once the code
transposes it (`h.transpose(0, 1)`, as the exporter writes it) or hands it to another recurrent
layer as its initial state (whose port takes it batch first, the block transposing both ends).
Anything else done with a state in torch's layout is listed as unsupported.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx

from blocklab.blocks import REGISTRY


@dataclass(frozen=True)
class Tap:
    """A named output of a node (an edge's source_port), batch first."""

    node: str
    port: str


@dataclass(frozen=True)
class State:
    """Final state(s) of a recurrent node in torch's layout: ("h_n",), or an LSTM's ("h_n", "c_n")."""

    node: str
    ports: tuple[str, ...]


def edge(ref: str | Tap, target: str) -> dict[str, str]:
    """The document edge from a ref (a node id, or a named output of one) to `target`."""
    if isinstance(ref, Tap):
        return {"source": ref.node, "source_port": ref.port, "target": target}
    return {"source": ref, "target": target}


def element(node_type: str, nid: str, index: Any) -> str | State | None:
    """Element `index` of a layer's tuple result: 0 is the node itself (its default output, the
    sequence); 1 a recurrent layer's final state(s). None: no block gives that element."""
    if index == 0:
        return nid
    kind = REGISTRY.get(node_type)
    if index == 1 and kind is not None and kind.outputs is not None:
        return State(nid, kind.outputs.names[1:])  # the outputs after the sequence
    return None


def use(n: fx.Node, state: State) -> Tap | State | str:
    """What fx node `n` makes of a state in torch's layout: a Tap, another State, or why it cannot."""
    if n.target is operator.getitem and len(state.ports) > 1 and isinstance(n.args[1], int):
        return State(state.node, (state.ports[n.args[1]],))
    if n.op == "call_method" and n.target == "contiguous":
        return state
    if len(state.ports) == 1 and _swaps_batch(n):
        return Tap(state.node, state.ports[0])
    return (f"uses the final state of '{state.node}' in torch's layout [layers * directions, B, hidden]; "
            "transpose(0, 1) it first (a block gives states batch first)")


def _swaps_batch(n: fx.Node) -> bool:
    """x.transpose(0, 1), torch.transpose(x, 1, 0) or x.permute(1, 0, 2)."""
    if n.target in ("transpose", torch.transpose) and len(n.args) == 3:
        return {n.args[1], n.args[2]} == {0, 1}
    if n.target == "permute":
        dims = n.args[1] if len(n.args) == 2 and isinstance(n.args[1], (tuple, list)) else n.args[1:]
        return list(dims) == [1, 0, 2]
    return False


def state_inputs(inputs: list[Any], refs: dict[fx.Node, Any], values: dict[fx.Node, Any]) -> list[tuple[Any, tuple]] | None:
    """A recurrent layer's arguments as the block's ports, each (ref, per-sample shape), or None
    when one is not a tensor. After x come states in torch's layout [layers * directions, B, hidden],
    which the h0 / c0 ports take batch first ([layers * directions, hidden]; the block transposes):
    so a State is a Tap of the node that gave it, and an LSTM's pair fills both ports."""
    out: list[tuple[Any, tuple]] = []
    for k, a in enumerate(inputs):
        v = values.get(a) if isinstance(a, fx.Node) else None
        r = refs.get(a) if isinstance(a, fx.Node) else None
        tensors = list(v) if isinstance(r, State) and isinstance(v, (tuple, list)) else [v]
        if not all(isinstance(t, torch.Tensor) for t in tensors):
            return None
        if k == 0:
            out.append((r, tuple(v.shape[1:])))
            continue
        taps = [Tap(r.node, p) for p in r.ports] if isinstance(r, State) else [r]
        out += [(tap, (t.shape[0], *t.shape[2:])) for tap, t in zip(taps, tensors, strict=True)]
    return out


def settle(nodes: list[dict], edges: list[dict]) -> None:
    """A node whose every edge takes the same named output gives it by `returns`, as a document
    written by hand does (`returns: "h_n"`, edges naming no source_port)."""
    taken: dict[str, set[str | None]] = {}
    for e in edges:
        taken.setdefault(e["source"], set()).add(e.get("source_port"))
    for n in nodes:
        ports = taken.get(n["id"], set())
        kind = REGISTRY.get(n["type"])
        if kind is None or kind.outputs is None or len(ports) != 1 or None in ports or kind.outputs.param in n.get("params", {}):
            continue
        n.setdefault("params", {})[kind.outputs.param] = port = ports.pop()
        for e in edges:
            if e["source"] == n["id"]:
                del e["source_port"]
        if port == kind.params.model_fields[kind.outputs.param].default:
            del n["params"][kind.outputs.param]
