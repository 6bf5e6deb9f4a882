"""Plain-number literals: their bounds, and arithmetic between them folded at parse time.

CPython would happily start computing 9**9**9 (hours, gigabytes); folding here with float
powers and a size check turns it into an immediate error at its position.
"""

from __future__ import annotations

import math

from blocklab.custom import language as L
from blocklab.custom.tree import ExprError, Num, Pos


def number(v: object, pos: Pos) -> Num:
    if isinstance(v, bool):
        raise ExprError("True and False are only allowed as keepdim=True / keepdim=False", pos)
    if isinstance(v, int):
        if abs(v) > L.MAX_INT:
            raise ExprError("the number is too large (the limit is 2**53)", pos)
        return Num(v, pos)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ExprError("the number is too large", pos)
        return Num(v, pos)
    if isinstance(v, (str, bytes)):
        raise ExprError("strings are not allowed", pos)
    if isinstance(v, complex):
        raise ExprError("complex numbers are not allowed", pos)
    raise ExprError(f"'{v!r}' is not allowed; use numbers", pos)


def fold(op: str, a: int | float, b: int | float, pos: Pos) -> int | float:
    """Plain-number arithmetic, done now with bounds (CPython's 9**9**9 would take forever)."""
    if op == "@":
        raise ExprError("'@' needs tensors, not numbers", pos)
    try:
        if op == "**" and isinstance(a, int) and isinstance(b, int) and b >= 0:
            if abs(a) > 1 and b * math.log2(abs(a)) > 60:
                raise OverflowError
            v = a**b
        elif op == "**":
            v = float(a) ** float(b)  # float pow raises OverflowError instead of growing
        else:
            v = L.BINOPS[op](a, b)
    except ZeroDivisionError:
        raise ExprError("division by zero", pos) from None
    except OverflowError:
        raise ExprError("the number is too large", pos) from None
    if isinstance(v, complex):
        raise ExprError("the result is not a real number", pos)
    if (isinstance(v, int) and abs(v) > L.MAX_INT) or (isinstance(v, float) and not math.isfinite(v)):
        raise ExprError("the number is too large", pos)
    return v
