"""Order and reachability over a scope's edges: topological order, cycles, live nodes.

Graphs are `preds`: node id -> the ids feeding it. All walks are iterative (a 5,000-node
chain must not hit Python's recursion limit) and linear in nodes plus edges.
"""

from __future__ import annotations

import heapq
from collections import deque

SHOWN = 4  # node names a cycle's description spells out before "…"


def toposort(nodes: list[str], preds: dict[str, list[str]]) -> list[str]:
    """Kahn's order, the earliest node in the document first among those ready (so a forward
    reads as the document does: a shortcut after the main path when it is written after it);
    nodes on or behind a cycle are left out."""
    rank = {i: k for k, i in enumerate(nodes)}
    indeg = {i: len(preds[i]) for i in nodes}
    succ: dict[str, list[str]] = {i: [] for i in nodes}
    for i in nodes:
        for s in preds[i]:
            succ[s].append(i)
    ready = [rank[i] for i in nodes if indeg[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = nodes[heapq.heappop(ready)]
        order.append(i)
        for j in succ[i]:
            indeg[j] -= 1
            if indeg[j] == 0:
                heapq.heappush(ready, rank[j])
    return order


def cycles(left: list[str], preds: dict[str, list[str]]) -> list[tuple[list[str], list[str]]]:
    """The strongly connected groups of `left` that hold a cycle: (one cycle through the
    group's first node in document order, every node of the group)."""
    keep = set(left)
    succ: dict[str, list[str]] = {i: [] for i in left}
    for i in left:
        for s in preds[i]:
            if s in keep:
                succ[s].append(i)
    order = {i: k for k, i in enumerate(left)}
    out = []
    for group in _strongly_connected(left, succ):
        if len(group) == 1 and group[0] not in succ[group[0]]:
            continue  # fed by a cycle, not on one
        group.sort(key=order.__getitem__)
        out.append((_path_back(group[0], succ, set(group)), group))
    return out


def describe(cycle: list[str]) -> str:
    """'a' → 'b' → 'c' → 'a', or 'a' → 'b' → 'c' → 'd' → … → 'z' → 'a' (2,000 nodes): bounded."""
    names = [f"'{i[:40]}'" for i in cycle]
    if len(names) > SHOWN + 1:
        return " → ".join([*names[:SHOWN], "…", names[-1], names[0]]) + f" ({len(names):,} nodes)"
    return " → ".join([*names, names[0]])


def reaches(outputs: list[str], wires: dict[str, list[str]]) -> set[str]:
    """Every node some output depends on (the outputs included)."""
    live, stack = set(), list(outputs)
    while stack:
        i = stack.pop()
        if i in live:
            continue
        live.add(i)
        stack.extend(wires.get(i, ()))
    return live


def find_cycle(start: str, uses: dict[str, set[str]]) -> list[str] | None:
    """A path start → … → start through `uses` (block name -> blocks it instantiates)."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        cur, path = stack.pop()
        for nxt in sorted(uses.get(cur, ())):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def _strongly_connected(nodes: list[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, k = work.pop()
            if k == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on_stack.add(v)
            nxt = succ[v]
            if k < len(nxt):
                work.append((v, k + 1))
                w = nxt[k]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                group = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    group.append(w)
                    if w == v:
                        break
                groups.append(group[::-1])
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return groups


def _path_back(start: str, succ: dict[str, list[str]], members: set[str]) -> list[str]:
    """The shortest cycle through `start` inside its group (breadth first)."""
    came: dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in succ[v]:
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return path[::-1]
            if w not in came:
                came[w] = v
                queue.append(w)
    return [start]
