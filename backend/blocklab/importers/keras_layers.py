"""Block type -> its Keras 3 counterpart, for importers.keras_export.

One entry per block type that has a counterpart: the layer's constructor (None for a
functional block), the call expression, and the list that `layer.set_weights` takes,
built from the block's PyTorch tensors. Convolutions and pooling run channels-last
inside (a transpose each side), so the source runs on every Keras backend, TensorFlow's
CPU kernels included, while the design's tensors stay channels-first as in PyTorch.
A block not listed here (CustomLayer, ConvTranspose2d) is refused with its node named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from blocklab.blocks.base import pair


class NoKeras(Exception):
    """This node's settings have no Keras counterpart; the message says which."""


@dataclass(frozen=True)
class KerasOp:
    # params -> "layers.Dense(64, use_bias=True)", or None when the call needs no layer
    ctor: Callable[[Any], str | None]
    # (params, {port: variable}, layer reference, per-sample output shape) -> the output expression
    call: Callable[[Any, dict[str, str], str, tuple[int, ...]], str]
    # (params, w) -> set_weights list; w("weight") is the numpy source of that torch tensor
    weights: Callable[[Any, Callable[[str], str]], list[str]] | None = None
    # A layer with several outputs (the block's Outputs): (params, {port: variable}, layer) -> the whole
    # result, and (params, result variable, output name) -> one output, per sample as the block gives it
    whole: Callable[[Any, dict[str, str], str], str] | None = None
    pick: Callable[[Any, str, str], str] | None = None


def _nhwc(nd: int, inner: str, x: str, pad: tuple[int, ...] = ()) -> str:
    """Run `inner` channels-last on a channels-first x (zero-padded by `pad` per spatial dim)."""
    if any(pad):
        x = f"ops.pad({x}, [[0, 0], [0, 0], {', '.join(f'[{p}, {p}]' for p in pad)}])"
    to, back = ((0, 2, 1), (0, 2, 1)) if nd == 1 else ((0, 2, 3, 1), (0, 3, 1, 2))
    return f"ops.transpose({inner}(ops.transpose({x}, {to})), {back})"


def _conv(nd: int) -> KerasOp:
    cls = "Conv1D" if nd == 1 else "Conv2D"
    perm = "(2, 1, 0)" if nd == 1 else "(2, 3, 1, 0)"  # torch [out, in, k...] -> keras [k..., in, out]

    def tup(v):
        return (v,) if nd == 1 else pair(v)

    def ctor(p):
        return (f"layers.{cls}({p.out_channels}, {tup(p.kernel_size)}, strides={tup(p.stride)}, padding='valid', "
                f"dilation_rate={tup(p.dilation)}, groups={p.groups}, use_bias={p.bias})")

    return KerasOp(ctor, lambda p, a, m, s: _nhwc(nd, m, a["x"], tup(p.padding)),
                   lambda p, w: [f"{w('weight')}.transpose{perm}", *([w("bias")] if p.bias else [])])


def _pool(cls: str) -> KerasOp:
    def ctor(p):
        if pair(p.padding) != (0, 0) or p.ceil_mode:
            raise NoKeras("pads or uses ceil_mode, which Keras pooling does not do the same way")
        stride = pair(p.kernel_size if p.stride is None else p.stride)
        return f"layers.{cls}(pool_size={pair(p.kernel_size)}, strides={stride}, padding='valid')"

    return KerasOp(ctor, lambda p, a, m, s: _nhwc(2, m, a["x"]))


def _adaptive(p):
    if pair(p.output_size) != (1, 1):
        raise NoKeras(f"pools to output_size={p.output_size}; Keras has global pooling (output_size 1) only")
    return None


def _norm(p):
    if not p.track_running_stats:
        raise NoKeras("has track_running_stats=False; Keras batch norm always keeps moving statistics")
    # Keras keeps `momentum` of the old statistics; torch mixes in `momentum` of the new batch.
    return (f"layers.BatchNormalization(axis=1, epsilon={p.eps!r}, momentum={round(1 - p.momentum, 9)!r}, "
            f"center={p.affine}, scale={p.affine})")


def _bn_weights(p, w):
    return [*([w("weight"), w("bias")] if p.affine else []), w("running_mean"), w("running_var")]


def _layernorm(p):
    axes = list(range(-len(p.normalized_shape), 0))
    return (f"layers.LayerNormalization(axis={axes}, epsilon={p.eps!r}, "
            f"center={p.elementwise_affine and p.bias}, scale={p.elementwise_affine})")


def _ln_weights(p, w):
    if not p.elementwise_affine:
        return []
    return [w("weight"), *([w("bias")] if p.bias else [])]


def _rnn(cls: str):
    def ctor(p):
        if p.num_layers != 1 or p.bidirectional:
            raise NoKeras("stacks layers or runs both directions; export one layer, one direction")
        # every output at once, [sequence, h, (c)], whichever the design takes (returns, source_port)
        return f"layers.{cls}({p.hidden_size}, return_sequences=True, return_state=True, use_bias={p.bias})"

    def whole(p, a, m):
        # Blocklab's states are per sample [1, hidden] (one layer, one direction); Keras's are [B, hidden].
        given = [f"{a[k]}[:, 0]" for k in ("h0", "c0") if k in a]
        init = f", initial_state=[{', '.join(given)}]" if given else ""
        return f"{m}({a['x']}{init})"

    def pick(p, result, port):
        if port == "sequence":
            return f"{result}[0]"
        return f"ops.expand_dims({result}[{('h_n', 'c_n').index(port) + 1}], 1)"  # [B, hidden] -> [B, 1, hidden]

    def call(p, a, m, s):
        return pick(p, whole(p, a, m), p.returns)

    def weights(p, w):
        # LSTM gates are (i, f, g, o) in both; GRU's torch (r, z, n) are Keras's (z, r, h): _zrn reorders.
        fix = (lambda s: s) if cls == "LSTM" else (lambda s: f"_zrn({s}, {p.hidden_size})")
        out = [f"{fix(w('weight_ih_l0'))}.T", f"{fix(w('weight_hh_l0'))}.T"]
        if p.bias:
            b = (f"{w('bias_ih_l0')} + {w('bias_hh_l0')}" if cls == "LSTM"  # Keras LSTM has one bias
                 else f"np.stack([{fix(w('bias_ih_l0'))}, {fix(w('bias_hh_l0'))}])")  # GRU reset_after: [2, 3h]
            out.append(b)
        return out

    return KerasOp(ctor, call, weights, whole, pick)


def _fn(expr: Callable[[Any, dict[str, str]], str]) -> KerasOp:
    return KerasOp(lambda p: None, lambda p, a, m, s: expr(p, a))


def _reshape() -> KerasOp:  # Flatten and Reshape: to the inferred per-sample shape, batch kept
    return KerasOp(lambda p: None, lambda p, a, m, s: f"ops.reshape({a['x']}, (-1, {', '.join(map(str, s))}))")


OPS: dict[str, KerasOp] = {
    "Linear": KerasOp(lambda p: f"layers.Dense({p.out_features}, use_bias={p.bias})", lambda p, a, m, s: f"{m}({a['x']})",
                      lambda p, w: [f"{w('weight')}.T", *([w("bias")] if p.bias else [])]),
    "Conv1d": _conv(1), "Conv2d": _conv(2),
    "MaxPool2d": _pool("MaxPooling2D"), "AvgPool2d": _pool("AveragePooling2D"),
    "AdaptiveAvgPool2d": KerasOp(_adaptive, lambda p, a, m, s: f"ops.mean({a['x']}, axis=(2, 3), keepdims=True)"),
    "Flatten": _reshape(), "Reshape": _reshape(),
    "Dropout": KerasOp(lambda p: f"layers.Dropout({p.p!r})", lambda p, a, m, s: f"{m}({a['x']}, training=training)"),
    "BatchNorm1d": KerasOp(_norm, lambda p, a, m, s: f"{m}({a['x']}, training=training)", _bn_weights),
    "BatchNorm2d": KerasOp(_norm, lambda p, a, m, s: f"{m}({a['x']}, training=training)", _bn_weights),
    "LayerNorm": KerasOp(_layernorm, lambda p, a, m, s: f"{m}({a['x']})", _ln_weights),
    "Embedding": KerasOp(lambda p: f"layers.Embedding({p.num_embeddings}, {p.embedding_dim})",
                         lambda p, a, m, s: f"{m}(ops.cast({a['x']}, 'int32'))", lambda p, w: [w("weight")]),
    "LSTM": _rnn("LSTM"), "GRU": _rnn("GRU"),
    "ReLU": _fn(lambda p, a: f"ops.relu({a['x']})"),
    "LeakyReLU": _fn(lambda p, a: f"ops.leaky_relu({a['x']}, negative_slope={p.negative_slope!r})"),
    "GELU": _fn(lambda p, a: f"ops.gelu({a['x']}, approximate={p.approximate == 'tanh'})"),
    "ELU": _fn(lambda p, a: f"ops.elu({a['x']}, alpha={p.alpha!r})"),
    "Sigmoid": _fn(lambda p, a: f"ops.sigmoid({a['x']})"),
    "Tanh": _fn(lambda p, a: f"ops.tanh({a['x']})"),
    # torch: softplus(beta x) / beta, and x itself where beta x > threshold
    "Softplus": _fn(lambda p, a: f"ops.where({a['x']} * {p.beta!r} > {p.threshold!r}, {a['x']}, "
                                 f"ops.softplus({a['x']} * {p.beta!r}) / {p.beta!r})"),
    "Softmax": _fn(lambda p, a: f"ops.softmax({a['x']}, axis={p.dim})"),
    "LogSoftmax": _fn(lambda p, a: f"ops.log_softmax({a['x']}, axis={p.dim})"),
    "Identity": _fn(lambda p, a: a["x"]),
    "Add": _fn(lambda p, a: f"{a['a']} + {a['b']}"),
    "Multiply": _fn(lambda p, a: f"{a['a']} * {a['b']}"),
    "Concat": _fn(lambda p, a: f"ops.concatenate([{', '.join(a.values())}], axis={p.dim})"),
    "MatMul": _fn(lambda p, a: f"ops.matmul({a['a']}, {a['b']})"),
    "Sum": _fn(lambda p, a: f"ops.sum({a['x']}, axis={tuple(p.dims)!r}, keepdims={p.keepdim})"),
    "Mean": _fn(lambda p, a: f"ops.mean({a['x']}, axis={tuple(p.dims)!r}, keepdims={p.keepdim})"),
    "Scale": _fn(lambda p, a: f"{a['x']} * {p.factor!r}"),
}
