"""Edges -> ports: which node feeds which input of which node, every problem reported."""

from __future__ import annotations

from dataclasses import dataclass

from blocklab.blocks.base import Port
from blocklab.graph.checks import Err
from blocklab.graph.document import Edge, Node
from blocklab.graph.types import PNode


@dataclass
class Wiring:
    preds: dict[str, list[str]]  # node -> the resolved nodes feeding it
    wires: dict[str, list[str]]  # every edge between existing nodes, broken ones included


def wire(pnodes: dict[str, PNode], raw: dict[str, Node], ports: dict[str, tuple[Port, ...]], edges: list[Edge],
         err: Err) -> Wiring:
    """Fill each node's `inputs` (port -> source id, in port order) from the edges."""
    preds: dict[str, list[str]] = {i: [] for i in pnodes}
    wires: dict[str, list[str]] = {}
    for e in edges:
        src, dst = e.source, e.target
        if src not in raw or dst not in raw:
            ok_end = dst if dst in raw else src if src in raw else None
            missing = src if src not in raw else dst
            err(ok_end, "edges", f"an edge from '{src[:40]}' to '{dst[:40]}' refers to a missing node '{missing[:40]}'")
            continue
        wires.setdefault(dst, []).append(src)
        tgt = pnodes.get(dst)
        if tgt is None:
            continue  # already reported (bad type or id)
        port = _port(tgt, ports[dst], e, err)
        if port is None:
            continue
        tgt.inputs[port] = src  # a source with a bad type still fills the port: no cascade
        if e.source_port is not None:  # a named output; one the source lacks leaves this port unshaped, no cascade
            _check_tap(pnodes.get(src), e, err)
            tgt.taps[port] = e.source_port
        if src in pnodes:
            preds[dst].append(src)
    for n in pnodes.values():
        own = ports[n.id]
        if len(own) == 1 and not own[0].optional:  # the common case, without the reordering
            if not n.inputs:
                err(n.id, own[0].name, f"{n.type} '{n.id}' has no edge into an input; connect something to it")
            continue
        n.inputs = {p.name: n.inputs[p.name] for p in own if p.name in n.inputs}
        for p in own:
            if not p.optional and p.name not in n.inputs:
                what = f"port '{p.name}'" if len(own) > 1 else "an input"
                err(n.id, p.name, f"{n.type} '{n.id}' has no edge into {what}; connect something to it")
    return Wiring(preds, wires)


def _check_tap(src: PNode | None, e: Edge, err: Err) -> None:
    """The source has the named output the edge takes (a bad type or id is reported already)."""
    if src is None:
        return
    label = f"{src.type} '{src.id}'"
    names = src.kind.outputs.names if src.kind is not None and src.kind.outputs is not None else ()
    if e.source_port in names:
        return
    what = f"its outputs are {', '.join(names)}" if names else "it has one output, so the edge names no source_port"
    err(src.id, "source_port", f"an edge from {label} to '{e.target[:40]}' takes its output '{e.source_port[:40]}', "
                               f"but {label} has no such output; {what}")


def _port(tgt: PNode, ports: tuple[Port, ...], e: Edge, err: Err) -> str | None:
    label = f"{tgt.type} '{tgt.id}'"
    if not ports:
        err(tgt.id, "edges", f"{label} takes no inputs, but an edge comes from '{e.source}'")
        return None
    port = e.target_port
    if port is None:
        if len(ports) == 1:
            port = ports[0].name
        else:
            free = [p.name for p in ports if p.name not in tgt.inputs]
            port = free[0] if free else ports[0].name
    elif all(p.name != port for p in ports):
        err(tgt.id, port, f"{label} has no input port '{port[:40]}'; its ports are {', '.join(p.name for p in ports)}")
        return None
    if port in tgt.inputs:
        err(tgt.id, port, f"{label} has two edges into port '{port}' (from '{tgt.inputs[port]}' and '{e.source}')")
        return None
    return port
