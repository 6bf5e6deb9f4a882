"""Values an ONNX file computes from constants only, read without running the model.

torch.onnx.export does not always fold what it computes from a parameter: an LSTM's
recurrent weight comes as Unsqueeze(Concat(Slice(weight_hh_l0, ...), ...)) (its gates
reordered). `Folder.const` evaluates such chains with numpy for the few shape-keeping
operators exporters write (Slice, Split, Concat, (Un)Squeeze, Transpose, Reshape, Identity), within
a budget of elements, so no file can make it allocate more than a few times its own tensors.
`Folder.dims` reads a 1-d shape value (Shape -> Slice -> Mul -> Concat) as a list of dims, a
symbolic dim (the batch) kept as its name. `Graph` adds who reads each value, for the
importer's pattern matchers.
"""

from __future__ import annotations

import numpy as np

_FOLDED = {"Identity", "Slice", "Concat", "Unsqueeze", "Squeeze", "Transpose", "Reshape", "Split"}


class Folder:
    def __init__(self, nodes, consts: dict[str, np.ndarray], shapes: dict[str, list]):
        self.consts, self.shapes = consts, shapes
        self.producer = {o: n for n in nodes for o in n.output if o}
        self.memo: dict[str, np.ndarray | None] = {}
        self.budget = 2 * sum(int(c.size) for c in consts.values()) + (1 << 20)

    def attr(self, n, name: str, default=None):
        from onnx import helper

        a = next((a for a in n.attribute if a.name == name), None)
        return default if a is None else helper.get_attribute_value(a)

    def const(self, name: str, depth: int = 0) -> np.ndarray | None:
        """The value of `name` if it is a constant or computed from constants only, else None."""
        if name in self.consts:
            return self.consts[name]
        if name in self.memo or depth > 64:
            return self.memo.get(name)
        n = self.producer.get(name)
        self.memo[name] = None
        if n is None or n.domain not in ("", "ai.onnx") or n.op_type not in _FOLDED and n.op_type != "Constant":
            return None
        if n.op_type == "Constant":
            from onnx import numpy_helper

            t = self.attr(n, "value")
            value = None if t is None else numpy_helper.to_array(t)
        else:
            ins = [self.const(i, depth + 1) if i else None for i in n.input]
            if ins[0] is None or any(v is None for i, v in zip(n.input, ins) if i):
                return None
            # No result is larger than its inputs together: checked before anything is allocated.
            if sum(int(v.size) for v in ins if v is not None) > self.budget:
                return None
            try:
                value = self._split(n, ins, name) if n.op_type == "Split" else self._apply(n, ins)
            except (ValueError, IndexError, TypeError):
                return None
        if value is not None:
            self.budget -= int(value.size)
            if self.budget < 0:
                return None
        self.memo[name] = value
        return value

    def _split(self, n, ins: list, name: str) -> np.ndarray:
        """The piece `name` of a Split (sizes given, or num_outputs equal pieces, the last smaller)."""
        x, axis = ins[0], int(self.attr(n, "axis", 0))
        size = x.shape[axis]
        if len(ins) > 1 and ins[1] is not None:
            sizes = [int(v) for v in ins[1].reshape(-1)]
        else:
            k = len(n.output)
            each = -(-size // k)
            sizes = [min(each, size - i * each) for i in range(k)]
        if sum(sizes) != size or len(sizes) != len(n.output) or min(sizes) < 0:
            raise ValueError("split sizes")
        at = list(n.output).index(name)
        return np.take(x, range(sum(sizes[:at]), sum(sizes[:at + 1])), axis=axis)

    def _apply(self, n, ins: list) -> np.ndarray:
        x = ins[0]
        op = n.op_type
        if op == "Identity":
            return x
        if op == "Concat":
            return np.concatenate(ins, axis=int(self.attr(n, "axis", 0)))
        if op == "Transpose":
            perm = self.attr(n, "perm")
            return np.transpose(x, None if perm is None else list(perm))
        axes = [int(a) for a in ins[1].reshape(-1)] if len(ins) > 1 and ins[1] is not None else self.attr(n, "axes")
        if op == "Unsqueeze":
            for a in sorted(int(a) % (x.ndim + len(axes)) for a in axes):
                x = np.expand_dims(x, a)
            return x
        if op == "Squeeze":
            return np.squeeze(x, axis=None if axes is None else tuple(int(a) for a in axes))
        if op == "Reshape":
            shape = [int(d) for d in ins[1].reshape(-1)]
            if not self.attr(n, "allowzero", 0):
                shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
            return x.reshape(shape)
        # Slice(data, starts, ends, axes, steps)
        starts, ends = ins[1].reshape(-1).tolist(), ins[2].reshape(-1).tolist()
        axes = ins[3].reshape(-1).tolist() if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
        steps = ins[4].reshape(-1).tolist() if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
        index = [slice(None)] * x.ndim
        for s, e, a, st in zip(starts, ends, axes, steps):
            index[int(a)] = slice(int(s), int(e), int(st))
        return x[tuple(index)]

    def dims(self, name: str, depth: int = 0) -> list | None:
        """A 1-d shape value as a list of ints and symbols, or None where it is not read."""
        c = self.const(name)
        if c is not None:
            return [int(v) for v in c.reshape(-1)] if c.ndim <= 1 and c.dtype.kind in "iu" else None
        n = self.producer.get(name)
        if n is None or depth > 32:
            return None
        ins = [self.dims(i, depth + 1) if i else None for i in n.input[1:]]
        if n.op_type == "Shape":
            s = self.shapes.get(n.input[0])
            return None if s is None else s[self.attr(n, "start", 0):self.attr(n, "end", None)]
        if n.op_type in ("Reshape", "Squeeze", "Unsqueeze", "Identity", "Cast"):
            return self.dims(n.input[0], depth + 1)  # a 1-d value kept 1-d
        if n.op_type == "Concat":
            parts = [self.dims(i, depth + 1) for i in n.input]
            return None if any(p is None for p in parts) else [d for p in parts for d in p]
        if n.op_type == "Mul":
            a, b = self.dims(n.input[0], depth + 1), ins[0]
            if a is None or b is None or len(a) != 1 or len(b) != 1:
                return None
            if isinstance(a[0], int) and isinstance(b[0], int):
                return [a[0] * b[0]]
            return a if b == [1] else b if a == [1] else None
        if n.op_type == "Slice":
            data = self.dims(n.input[0], depth + 1)
            if data is None or any(v is None or len(v) != 1 for v in ins[:2]) or any(v not in (None, [0]) for v in ins[2:3]) \
                    or any(v not in (None, [1]) for v in ins[3:4]):
                return None
            return data[ins[0][0]:ins[1][0]]
        return None


class Graph:
    """A graph's producers and readers, with its constants folded on demand."""

    def __init__(self, graph, consts, shapes):
        self.nodes = list(graph.node)
        self.fold = Folder(self.nodes, consts, shapes)
        self.shapes = shapes
        self.users: dict[str, list] = {}
        for n in self.nodes:
            for i in n.input:
                self.users.setdefault(i, []).append(n)
        self.results = {v.name for v in graph.output}

    def attr(self, n, name, default=None):
        v = self.fold.attr(n, name, default)
        return v.decode() if isinstance(v, bytes) else [s.decode() if isinstance(s, bytes) else s for s in v] \
            if isinstance(v, (list, tuple)) else v

    def made_by(self, value: str, op: str, perm: list | None = None):
        n = self.fold.producer.get(value)
        if n is None or n.op_type != op or (perm is not None and list(self.attr(n, "perm") or []) != perm):
            return None
        return n

    def readers(self, value: str) -> list:
        """The nodes reading `value`, shape reads left out (they only feed shapes)."""
        return [u for u in self.users.get(value, []) if u.op_type != "Shape"]

    def is_zeros(self, value: str) -> bool:
        c = self.fold.const(value)
        if c is not None:
            return not np.any(c)
        n = self.fold.producer.get(value)
        if n is not None and n.op_type == "Expand":
            c = self.fold.const(n.input[0])
            return c is not None and not np.any(c)
        if n is not None and n.op_type == "ConstantOfShape":
            from onnx import numpy_helper

            t = self.fold.attr(n, "value")
            return t is None or not np.any(numpy_helper.to_array(t))
        return False
