"""Declared tensors of a CustomLayer: parameters (nn.Parameter, trained unless
trainable=false) and constants (persistent buffers: saved in the state_dict, so a reloaded
model gives identical outputs, but never trained). Both become state_dict keys <id>.<name>,
except constants with persistent=false (D2L's plain-attribute rand_weight): buffers that
.to() moves but the state_dict leaves out.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from blocklab.custom import language as L

Shape = tuple[int, ...]

INITS = {"randn": "torch.randn", "rand": "torch.rand", "zeros": "torch.zeros", "ones": "torch.ones"}
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MAX_NUMEL = 2**24  # per declared tensor
MAX_LITERAL = 4096  # numbers written out in a literal init


class DeclError(Exception):
    """A bad declaration; `message` reads after "CustomLayer '<id>' ", `field` names the key."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


class TensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    shape: list[Annotated[int, Field(ge=1, le=1_000_000)]] | None = Field(
        None, max_length=6, description="without the batch; may be left out when init is a literal list")
    init: str | float | list[Any] = Field(
        "randn", description="randn, rand, zeros, ones, a number (fills the tensor) or a nested list of numbers")


class ParamSpec(TensorSpec):
    trainable: bool = True


class ConstSpec(TensorSpec):
    init: str | float | list[Any] = "rand"
    persistent: bool = Field(True, description="saved in the state_dict; false: a plain buffer (as D2L's rand_weight), "
                                                "moved by .to() but made afresh by each build")


def resolve(kind: str, name: str, spec: TensorSpec, taken: set[str]) -> TensorSpec:
    """Check one declaration; fill in a shape left out next to a literal init."""
    fld = f"{kind}.{name}"
    what = "parameter" if kind == "parameters" else "constant"
    if not NAME_RE.match(name) or name.endswith("__"):
        raise DeclError(f"has a {what} named '{name[:40]}'; use letters, digits and _ (starting with a letter)", fld)
    if name in L.RESERVED or name in L.MODULE_ATTRS or name in L.PORTS:
        raise DeclError(f"has a {what} named '{name}', which is reserved (a function, input port or nn.Module "
                         f"attribute); pick another name", fld)
    if name in taken:
        raise DeclError(f"declares '{name}' twice (as a parameter and a constant)", fld)
    init = spec.init
    if isinstance(init, str) and init not in INITS:
        raise DeclError(f"{what} '{name}' has init '{init[:40]}'; use one of {', '.join(INITS)}, a number or a list",
                         f"{fld}.init")
    if isinstance(init, list):
        got = _literal_shape(init, f"{fld}.init", what, name)
        if spec.shape is not None and tuple(spec.shape) != got:
            raise DeclError(f"{what} '{name}' has shape {list(spec.shape)} but its init list is {list(got)}", f"{fld}.shape")
        spec = spec.model_copy(update={"shape": list(got)})
    if spec.shape is None:
        raise DeclError(f"{what} '{name}' needs a shape, e.g. [20, 20]", f"{fld}.shape")
    n = math.prod(spec.shape)
    if n > MAX_NUMEL:
        raise DeclError(f"{what} '{name}' has {n:,} values; the limit is {MAX_NUMEL:,}", f"{fld}.shape")
    return spec


def _literal_shape(v: Any, fld: str, what: str, name: str) -> Shape:
    """Shape of a rectangular nested list of numbers."""
    count = 0

    def walk(x: Any, depth: int) -> Shape:
        nonlocal count
        if isinstance(x, bool) or not isinstance(x, (list, int, float)):
            raise DeclError(f"{what} '{name}' has a literal init holding {type(x).__name__}; use numbers only", fld)
        if not isinstance(x, list):
            count += 1
            if count > MAX_LITERAL:
                raise DeclError(f"{what} '{name}' has a literal init longer than {MAX_LITERAL} numbers", fld)
            if not math.isfinite(x):
                raise DeclError(f"{what} '{name}' has a literal init with a non-finite number", fld)
            return ()
        if depth >= 6 or not x:
            raise DeclError(f"{what} '{name}' has a literal init that is empty or nests deeper than 6", fld)
        shapes = {walk(e, depth + 1) for e in x}
        if len(shapes) != 1:
            raise DeclError(f"{what} '{name}' has a ragged literal init; every row needs the same length", fld)
        return (len(x), *shapes.pop())

    return walk(v, 0)


def init_source(spec: TensorSpec) -> str:
    """Source of the initial value, e.g. torch.rand(20, 20) or torch.tensor([[1.0, 2.0]])."""
    shape = tuple(spec.shape)
    if isinstance(spec.init, list):
        return f"torch.tensor({_floats(spec.init)!r})"
    if isinstance(spec.init, (int, float)):
        return f"torch.full({shape!r}, {float(spec.init)!r})"
    return f"{INITS[spec.init]}({', '.join(map(str, shape)) if shape else '()'})"


def _floats(v: Any) -> Any:
    return [_floats(x) for x in v] if isinstance(v, list) else float(v)


def declare_lines(params: dict[str, ParamSpec], consts: dict[str, ConstSpec]) -> list[str]:
    """The __init__ lines that create the declared tensors, parameters first (state_dict order)."""
    out = []
    for name, s in params.items():
        frozen = "" if s.trainable else ", requires_grad=False"
        out.append(f"self.{name} = nn.Parameter({init_source(s)}{frozen})  # {list(s.shape)}")
    if any(s.persistent for s in consts.values()):
        out.append("# Constants: saved in the state_dict (persistent buffers), never trained.")
    for name, s in consts.items():
        if s.persistent:
            out.append(f'self.register_buffer("{name}", {init_source(s)})  # {list(s.shape)}')
    if not all(s.persistent for s in consts.values()):
        out.append("# Constants left out of the state_dict (persistent=False): moved by .to(), never saved.")
    for name, s in consts.items():
        if not s.persistent:
            out.append(f'self.register_buffer("{name}", {init_source(s)}, persistent=False)  # {list(s.shape)}')
    return out
