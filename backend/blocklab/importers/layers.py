"""Registry layers from torch modules: which nn.Module class is which block type, and the
block params that rebuild one given module exactly.

Nothing here lists layer types by hand. Each registry block's own torch constructor
(`BlockType.module`, e.g. "nn.Linear(8, 64, bias=True)") names the class it builds; the
params are read from the module's attributes of the same names, and the result is checked
by building the block's module from those params and comparing every public attribute and
every parameter shape with the original. A setting the block cannot express
(padding_mode='reflect', batch_first=False, ...) therefore makes the module unsupported
instead of silently different.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import torch
from pydantic import TypeAdapter, ValidationError
from torch import nn

from blocklab.blocks import REGISTRY
from blocklab.blocks.base import BlockType, In, Params, ShapeError
from blocklab.importers.torch_args import constructor_args

_CTOR = re.compile(r"^nn\.([A-Za-z0-9_]+)\(")
# Attributes that do not change what a module computes once it is rebuilt out of place.
_IGNORED = frozenset({"training", "inplace"})


class Mismatch(Exception):
    """The module is of a registry class but has settings its block cannot express."""


@lru_cache(maxsize=1)
def module_blocks() -> dict[type[nn.Module], BlockType]:
    """nn.Module class -> the registry block whose constructor builds it."""
    out: dict[type[nn.Module], BlockType] = {}
    for b in REGISTRY.values():
        if b.module is None or b.role != "layer":  # graph ends and CustomLayer have no torch twin
            continue
        try:  # the block's own sample input fills the sizes its constructor needs
            p, _ = b.infer(b.params(), {k: In(s, "sample") for k, s in b.sample.items()})
            src = b.module(p)
        except (ShapeError, ValidationError, TypeError, ValueError):
            continue
        m = _CTOR.match(src)
        cls = getattr(nn, m.group(1), None) if m else None
        if isinstance(cls, type) and issubclass(cls, nn.Module):
            out[cls] = b
    return out


def block_for(module: nn.Module) -> BlockType | None:
    # Exact class only: a subclass may override forward().
    return module_blocks().get(type(module))


def _value(module: nn.Module, name: str, annotation: Any) -> Any:
    if name in module._parameters:  # bias=True/False is stored as a Parameter or None
        return module._parameters[name] is not None
    v = getattr(module, name)
    if isinstance(v, (tuple, list)):
        ints = [int(x) if isinstance(x, int) else x for x in v]
        if len(set(ints)) == 1:  # (3, 3) -> 3 where the field takes an int
            try:
                return TypeAdapter(annotation).validate_python(ints[0])
            except ValidationError:
                pass
        return list(ints)
    return v


def _same(v: Any) -> Any:
    """Spellings torch treats alike: output_size=1 and (1, 1), kernel_size=(3, 3) and 3."""
    if isinstance(v, (tuple, list)):
        v = tuple(v)
        return v[0] if v and all(x == v[0] for x in v) else v
    return v


def _config(module: nn.Module) -> dict[str, Any]:
    """What the module computes with: its public settings, tensor shapes and, the same way, its
    submodules' (a TransformerEncoderLayer's self_attn, linear1, ...)."""
    public = {k: _same(v) for k, v in vars(module).items() if not k.startswith("_") and k not in _IGNORED}
    shapes = {k: tuple(v.shape) for k, v in [*module._parameters.items(), *module._buffers.items()] if v is not None}
    children = {f"<{k}>": (type(m), _config(m)) for k, m in module._modules.items() if m is not None}
    return public | {"<tensors>": shapes} | children


def _build(block: BlockType, p: Params) -> nn.Module:
    with torch.device("meta"):  # no real weights: only the configuration is compared
        return eval(block.module(p), {"__builtins__": {}, "nn": nn, "torch": torch})  # registry source, validated values


def params_for(block: BlockType, module: nn.Module) -> Params:
    """The block params (input sizes included) that rebuild `module`; Mismatch if none do."""
    cls = type(module).__name__
    fields = block.params.model_fields
    raw = {k: _value(module, k, f.annotation) for k, f in fields.items() if hasattr(module, k)}
    raw |= {k: v for k, v in constructor_args(module).items() if k in fields}
    try:
        p = block.params.model_validate(raw)
    except ValidationError as e:
        d = e.errors()[0]
        fld = ".".join(map(str, d["loc"]))
        raise Mismatch(f"nn.{cls} with {fld}={raw.get(fld.split('.')[0])!r}: {d['msg']}") from None
    want, got = _config(module), _config(_build(block, p))
    diff = [k for k in want.keys() | got.keys() if want.get(k) != got.get(k)]
    if diff:
        k = sorted(diff)[0]
        raise Mismatch(f"nn.{cls} with {k}={want.get(k)!r}, which the {block.name} block cannot express")
    return p


def doc_params(block: BlockType, p: Params, ins: dict[str, In]) -> dict[str, Any]:
    """`p` as document params: defaults left out, and input sizes left out wherever the block's
    own shape rule infers the same value from the incoming shapes."""
    full = p.model_dump(mode="json")
    fields = block.params.model_fields
    out = {k: v for k, v in full.items() if fields[k].is_required() or v != fields[k].get_default(call_default_factory=True)}
    for k in [k for k in out if fields[k].default is None and not fields[k].is_required()]:
        trial = {key: v for key, v in out.items() if key != k}
        try:
            inferred, _ = block.infer(block.params.model_validate(trial), ins)
        except (ShapeError, ValidationError):
            continue
        # The same values, or a None the block fills in the same way (a pool's stride = kernel_size).
        if inferred.model_dump(mode="json") == full or _config(_build(block, inferred)) == _config(_build(block, p)):
            out = trial
    return out
