"""Analysis -> Keras 3 source: a `keras.Model` subclass (as the tf.keras version of D2L writes
models), one `keras.layers.Layer` subclass per composite block, and
`load_blocklab_state_dict(model, state_dict)`, which loads a Blocklab (PyTorch) state_dict.

Like graph.codegen, nothing typed by a user reaches the source except validated numbers
(repr), node ids (letters, digits, _) and block names (Python identifiers). Generating the
source needs no Keras; running it needs `keras` (any backend).
"""

from __future__ import annotations

import keyword
import re

from blocklab.graph.codegen import var_names
from blocklab.graph.forward import fresh
from blocklab.graph.types import Analysis, Scope
from blocklab.importers.keras_layers import OPS, NoKeras

# Names the source uses itself, and attributes keras.Model / Layer already have.
_TAKEN = {"self", "keras", "layers", "ops", "np", "training", "Model", "super", "getattr", "_zrn"}
_KERAS_ATTRS = {"name", "input", "output", "inputs", "outputs", "layers", "weights", "trainable", "dtype", "built",
                "call", "build", "losses", "metrics", "variables", "optimizer", "loss", "compile", "fit", "predict",
                "evaluate", "summary", "get_config", "save", "history", "dtype_policy", "compute_dtype", "input_spec",
                "supports_masking", "load_torch", "trainable_weights", "non_trainable_weights", "stop_training"}


class KerasUnsupported(ValueError):
    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(e["message"] for e in errors[:5]))
        self.errors = errors


def _attr(node_id: str) -> str:
    ok = node_id.isidentifier() and not keyword.iskeyword(node_id) and node_id not in _KERAS_ATTRS | _TAKEN
    return node_id if ok else f"l_{node_id}"


def _class_names(scopes: list[Scope]) -> dict[int, str]:
    names, used = {}, set()
    for s in scopes:
        base = "Model" if s.block is None else (f"{s.block}Block" if s.block in _TAKEN or keyword.iskeyword(s.block) else s.block)
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[id(s)] = name
    return names


def _check(scope: Scope, path: tuple[str, ...], errors: list[dict]) -> None:
    for n in scope.nodes.values():
        where, reason = ".".join((*path, n.id)), None
        if n.scope is not None:
            for sub, inner in n.parts():  # each copy of a repeat
                _check(inner, (*path, n.id, *sub), errors)
        elif n.role is None and n.live and n.present:
            op = OPS.get(n.type)
            reason = None if op else f"{n.type} '{where}' has no Keras counterpart"
            if op is not None:
                try:
                    op.ctor(n.params)
                except NoKeras as e:
                    reason = f"{n.type} '{where}' {e}"
        if reason:
            errors.append({"node": path[0] if path else n.id, "field": None, "message": reason,
                           **({"path": where, "block": scope.block} if path else {})})


def _shape(shape: tuple[int, ...]) -> str:
    return f"[{', '.join(['B', *map(str, shape)])}]"


def _scope_class(s: Scope, names: dict[int, str]) -> str:
    cls, var = names[id(s)], var_names(s, _TAKEN)
    base = "keras.Model" if s.block is None else "keras.layers.Layer"
    init, body, load = [], [], []
    out = {(i, None): v for i, v in var.items()}  # (node, named output or None) -> its variable
    takes = s.taken()
    local = set(var.values()) | _TAKEN  # variables of call(), for the names below
    for n in s.nodes.values():
        if not n.live or n.role is not None:
            continue
        args = {port: out[(src, n.taps.get(port))] for port, src in n.inputs.items()}
        shape = f"  # {_shape(n.shape)}"
        if not n.present:  # left out by its block's `when`: its input passes through
            body.append(f"{var[n.id]} = {args['x']}{shape}")
            continue
        if n.repeated:  # copies chained, as the nn.Sequential of the PyTorch export
            init.append(f"self.{_attr(n.id)} = [{', '.join(f'{names[id(c)]}()' for c in n.copies)}]")
            h = args["x"]
            for k in range(len(n.copies)):
                load.append(f'self.{_attr(n.id)}[{k}].load_torch(sd, p + "{n.id}.{k}.")')
                body.append(f"{var[n.id]} = self.{_attr(n.id)}[{k}]({h}, training=training)")
                h = var[n.id]
            body[-1] += shape
            continue
        ref = f"self.{_attr(n.calls or n.id)}"  # a node that calls another's module again has no layer of its own
        ctor = None if n.scope or n.calls else OPS[n.type].ctor(n.params)
        if n.shares:
            init.append(f"{ref} = self.{_attr(n.shares)}  # shared: the same layer, the same weights")
        elif n.scope is not None and not n.calls:
            init.append(f"{ref} = {names[id(n.scope)]}()")
            load.append(f'{ref}.load_torch(sd, p + "{n.id}.")')
        elif ctor is not None:
            init.append(f"{ref} = {ctor}")
            if OPS[n.type].weights is not None:
                ws = OPS[n.type].weights(n.params, lambda k, i=n.id: f'sd[p + "{i}.{k}"]')
                if ws:
                    load.append(f"{ref}.set_weights([{', '.join(ws)}])")
        if n.scope is not None:
            expr = f"{ref}({', '.join(args.values())}, training=training)"
        elif takes.get(n.id, {None}) != {None}:  # named outputs taken: the whole result once, then each
            op, whole = OPS[n.type], fresh(f"{var[n.id]}_all", local)
            body.append(f"{whole} = {op.whole(n.params, args, ref)}")
            for port in [p for p in n.kind.outputs.names if p in takes[n.id]]:
                out[(n.id, port)] = fresh(f"{var[n.id]}_{port}", local)
                body.append(f"{out[(n.id, port)]} = {op.pick(n.params, whole, port)}  # {_shape(n.out_shapes[port])}")
            if None not in takes[n.id]:
                continue
            expr = op.pick(n.params, whole, getattr(n.params, n.kind.outputs.param))
        else:
            expr = OPS[n.type].call(n.params, args, ref, n.shape)
        body.append(f"{var[n.id]} = {expr}{shape}")
    outs = [out[(s.nodes[o].inputs["x"], s.nodes[o].taps.get("x"))] for o in s.outputs]
    body.append(f"return {', '.join(outs)}")
    lines = [f"class {cls}({base}):", f'    """{"The whole network." if s.block is None else f"Block {s.block!r}."}"""', "",
             "    def __init__(self, **kwargs):", "        super().__init__(**kwargs)", *(f"        {x}" for x in init), "",
             f"    def call(self, {', '.join(var[i] for i in s.inputs)}, training=False):", *(f"        {x}" for x in body), "",
             "    def load_torch(self, sd, p):", '        """Set this layer\'s weights from PyTorch tensors (numpy), keys prefixed by p."""',
             *(f"        {x}" for x in load or ["pass"])]
    return "\n".join(lines) + "\n"


HEADER = '''"""{title}: Keras 3 source generated by Blocklab, from the same design as the PyTorch export.

Tensors are channels-first, as in PyTorch ([B, C, H, W]); convolutions and pooling run
channels-last inside, so any Keras backend runs it (KERAS_BACKEND=tensorflow, jax or torch).
Load trained Blocklab weights with
    model = Model()
    load_blocklab_state_dict(model, safetensors.numpy.load_file("weights.safetensors"))
"""

import numpy as np
import keras
from keras import layers, ops


def _zrn(a, h):
    """GRU gate rows: PyTorch's (r, z, n) -> Keras's (z, r, h)."""
    return np.concatenate([a[h:2 * h], a[:h], a[2 * h:]])
'''


def generate_keras(analysis: Analysis, title: str = "model") -> str:
    """The source, or KerasUnsupported listing every node without a Keras counterpart."""
    assert analysis.ok and analysis.root is not None
    errors: list[dict] = []
    _check(analysis.root, (), errors)
    if errors:
        raise KerasUnsupported(errors)
    scopes = analysis.scopes()
    names = _class_names(scopes)
    root = analysis.root
    shapes = [tuple(root.nodes[i].shape) for i in root.inputs]
    loader = f'''def load_blocklab_state_dict(model, state_dict):
    """Load a Blocklab state_dict ({{key: torch tensor or numpy array}}, as downloaded) into `model`."""
    sd = {{k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)) for k, v in state_dict.items()}}
    model(*[np.zeros((1, *s), "float32") for s in {shapes!r}])  # builds every layer first
    model.load_torch(sd, "")
'''
    clean = re.sub(r"[^\w \-.,:()]", "", title)[:80] or "model"
    parts = [HEADER.format(title=clean), *(_scope_class(s, names) for s in scopes), loader]
    return "\n\n".join(p.rstrip("\n") + "\n" for p in parts)


__all__ = ["KerasUnsupported", "generate_keras"]
