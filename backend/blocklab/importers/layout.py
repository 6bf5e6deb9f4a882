"""A layered auto-layout: each node one row below the lowest node feeding it, so the canvas
reads top to bottom; nodes sharing a row are spread side by side around the centre."""

from __future__ import annotations

from typing import Any

X0, Y0, DX, DY = 250, 40, 220, 90


def layout(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    """Set `position` on every node (nodes are in topological order, as the importers emit them)."""
    preds: dict[str, list[str]] = {}
    for e in edges:
        preds.setdefault(e["target"], []).append(e["source"])
    row: dict[str, int] = {}
    for n in nodes:
        row[n["id"]] = 1 + max((row.get(s, -1) for s in preds.get(n["id"], ())), default=-1)
    rows: dict[int, list[dict[str, Any]]] = {}
    for n in nodes:
        rows.setdefault(row[n["id"]], []).append(n)
    for r, members in rows.items():
        for i, n in enumerate(members):
            n["position"] = {"x": X0 + round((i - (len(members) - 1) / 2) * DX), "y": Y0 + r * DY}
