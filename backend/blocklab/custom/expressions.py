"""Python expressions -> allow-listed tree nodes: numbers, names, operators, and calls of
the functions and methods of `language` with their literal options. Anything else is an
error at the position of the offending piece.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from blocklab.custom import language as L
from blocklab.custom.numbers import fold as _fold, number as _number
from blocklab.custom.syntax import pos as _pos
from blocklab.custom.tree import BinOp, Call, ExprError, Expr, Index, Ints, Logic, Method, Num, Pos, Unary, Var

BINOP_NAMES = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
          ast.Pow: "**", ast.MatMult: "@"}
_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
# Friendly names for what the language leaves out.
_NOT_ALLOWED = {
    ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator",
    ast.IfExp: "'a if c else b' (use where(c, a, b))", ast.NamedExpr: "':='", ast.Starred: "'*'",
    ast.JoinedStr: "a string", ast.Dict: "a dict", ast.Set: "a set", ast.Await: "await",
    ast.Yield: "yield", ast.YieldFrom: "yield", ast.Slice: "a slice outside [...]",
}
MAX_INDEX_ITEMS = 8

@dataclass
class Expressions:
    """Python expressions -> allow-listed tree nodes; `parse` adds the statements."""

    params: set[str]
    consts: set[str]
    max_iter: int
    multiline: bool
    inputs: set[str] = field(default_factory=set)
    defined: set[str] = field(default_factory=set)  # locals surely assigned at this point
    maybe: set[str] = field(default_factory=set)  # locals assigned only inside a loop or a branch

    # ------------------------------------------------------------------ expressions
    def expr(self, node: ast.expr, cond: bool = False) -> Expr:
        pos = _pos(node)
        if isinstance(node, ast.Constant):
            return _number(node.value, pos)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = BINOP_NAMES.get(type(node.op))
            if op is None:
                raise ExprError(f"operator '{_op_text(node.op)}' is not allowed", pos)
            return self.binop(op, self.expr(node.left), self.expr(node.right), pos)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                if not cond:
                    raise ExprError("'not' is only allowed in a while or if condition", pos)
                return Unary("not", self.expr(node.operand, cond), pos)
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise ExprError(f"operator '{_op_text(node.op)}' is not allowed", pos)
            operand = self.expr(node.operand)
            op = "-" if isinstance(node.op, ast.USub) else "+"
            if isinstance(operand, Num) and not isinstance(operand.value, bool):
                return Num(-operand.value if op == "-" else operand.value, pos)
            return Unary(op, operand, pos)
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise ExprError("chained comparisons (a < b < c) are not allowed; compare two values", pos)
            op = _CMP.get(type(node.ops[0]))
            if op is None:
                raise ExprError(f"'{_op_text(node.ops[0])}' is not allowed; use <, <=, >, >=, ==, !=", pos)
            return BinOp(op, self.expr(node.left), self.expr(node.comparators[0]), pos)
        if isinstance(node, ast.BoolOp):
            if not cond:
                raise ExprError("'and' / 'or' are only allowed in a while or if condition", pos)
            return Logic("and" if isinstance(node.op, ast.And) else "or", tuple(self.expr(v, cond) for v in node.values), pos)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Attribute):
            raise ExprError(f"attribute access '.{safe_name(node.attr)}' is not allowed", _attr_pos(node), _methods_hint())
        if isinstance(node, (ast.Tuple, ast.List)):
            raise ExprError("a tuple or list is only allowed as a shape or dims, e.g. reshape(x, (-1, 4))", pos)
        what = _NOT_ALLOWED.get(type(node), type(node).__name__)
        raise ExprError(f"{what} is not allowed in an expression", pos)

    def subscript(self, node: ast.Subscript) -> Index:
        """x[:, 0], x[..., :k], x[:, None]: each entry a literal int, a slice of literal ints,
        `...` or None. The tracer checks the entry against the shape (and the batch dim)."""
        pos = _pos(node)
        obj = self.expr(node.value)
        if isinstance(obj, Num):
            raise ExprError("indexing applies to a tensor, not a number", pos)
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(parts) > MAX_INDEX_ITEMS:
            raise ExprError(f"indexing takes at most {MAX_INDEX_ITEMS} entries", pos)
        items = []
        for p in parts:
            if isinstance(p, ast.Constant) and (p.value is Ellipsis or p.value is None):
                items.append("..." if p.value is Ellipsis else None)
            elif isinstance(p, ast.Slice):
                items.append(tuple(None if b is None else self._index_int(b) for b in (p.lower, p.upper, p.step)))
            else:
                items.append(self._index_int(p))
        if items.count("...") > 1:
            raise ExprError("indexing takes at most one '...'", pos)
        return Index(obj, tuple(items), pos)

    def _index_int(self, node: ast.expr) -> int:
        v = self.expr(node) if not isinstance(node, (ast.Tuple, ast.List, ast.Slice)) else None
        if not isinstance(v, Num) or isinstance(v.value, bool) or not isinstance(v.value, int):
            raise ExprError("an index is a literal integer, a slice of literal integers (1:3, ::2, :-1), '...' or None",
                            _pos(node), "a tensor as an index (x[mask]) is not allowed; use where()")
        return v.value

    def name(self, node: ast.Name) -> Var:
        n, pos = node.id, _pos(node)
        if n.startswith("__") or n.endswith("__"):
            raise ExprError(f"names with '__' such as '{safe_name(n)}' are not allowed", pos)
        if n in self.params:
            return Var(n, "param", pos)
        if n in self.consts:
            return Var(n, "const", pos)
        if n in self.defined:
            return Var(n, "local", pos)
        if n in L.PORTS:
            self.inputs.add(n)
            return Var(n, "input", pos)
        if n in self.maybe:
            raise ExprError(f"'{n}' may be undefined here; it is assigned only inside a while or one branch of an if,"
                            f" so assign it before", pos)
        if n in L.FUNCTIONS:
            raise ExprError(f"'{n}' is a function: call it, e.g. {n}(x)", pos)
        known = ", ".join([*L.PORTS, *sorted(self.params), *sorted(self.consts), *sorted(self.defined)])
        raise ExprError(f"unknown name '{safe_name(n)}'", pos, f"known names: {known}")

    def binop(self, op: str, a: Expr, b: Expr, pos: Pos) -> Expr:
        if isinstance(a, Num) and isinstance(b, Num):
            return Num(_fold(op, a.value, b.value, pos), pos)
        return BinOp(op, a, b, pos)

    def call(self, node: ast.Call) -> Expr:
        pos = _pos(node)
        f = node.func
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise ExprError("*args and **kwargs are not allowed", pos)
        if isinstance(f, ast.Name):
            fn = L.FUNCTIONS.get(f.id)
            if fn is None:
                if f.id.startswith("__") or f.id.endswith("__"):
                    raise ExprError(f"names with '__' such as '{safe_name(f.id)}' are not allowed", pos)
                raise ExprError(f"unknown function '{safe_name(f.id)}'", pos, f"functions: {', '.join(L.FUNCTIONS)}")
            if len(node.args) < fn.operands:
                raise ExprError(f"{f.id}() takes {fn.operands} tensor argument{'s' * (fn.operands > 1)}", pos)
            args = tuple(self.expr(a) for a in node.args[: fn.operands])
            rest = node.args[fn.operands :]
            if fn.varargs and len(rest) > 1:  # reshape(x, 4, 5) -> reshape(x, (4, 5))
                rest = [ast.Tuple(elts=rest, ctx=ast.Load(), lineno=rest[0].lineno, col_offset=rest[0].col_offset)]
            opts = self.options(f.id + "()", fn.opts, rest, node.keywords, pos)
            if fn.one_of and not opts:
                raise ExprError(f"{f.id}() needs at least one of: {', '.join(o.name for o in fn.opts)}", pos)
            return Call(f.id, args, opts, pos)
        if isinstance(f, ast.Attribute):
            if f.attr not in L.METHODS:
                raise ExprError(f"method '.{safe_name(f.attr)}()' is not allowed", _attr_pos(f), _methods_hint())
            obj = self.expr(f.value)
            if isinstance(obj, Num):
                raise ExprError(f".{f.attr}() applies to a tensor, not a number", _attr_pos(f))
            opts = self.options(f".{f.attr}()", L.METHODS[f.attr], node.args, node.keywords, pos)
            return Method(f.attr, obj, opts, _attr_pos(f))
        raise ExprError("only the listed functions and methods can be called", pos)

    def options(self, what: str, spec: tuple[L.Opt, ...], args: list, keywords: list, pos: Pos):
        if len(args) > len(spec):
            raise ExprError(f"{what} takes at most {len(spec)} option{'s' * (len(spec) != 1)} after its tensors", _pos(args[len(spec)]))
        for o, a in zip(spec, args):
            if o.keyword_only:
                raise ExprError(f"{what} takes '{o.name}' by name, e.g. {o.name}=1", _pos(a),
                                "a second argument to norm would be torch's order p")
        given: dict[str, ast.expr] = {o.name: a for o, a in zip(spec, args)}
        names = {o.name for o in spec}
        for k in keywords:
            if k.arg not in names:
                hint = f"its options: {', '.join(names)}" if names else "it takes no options"
                raise ExprError(f"{what} has no option '{safe_name(k.arg)}'", _pos(k), hint)
            if k.arg in given:
                raise ExprError(f"{what} gets '{k.arg}' twice", _pos(k))
            given[k.arg] = k.value
        out = []
        for o in spec:
            if o.name in given:
                out.append((o.name, self.literal(o, given[o.name], what)))
            elif o.required:
                raise ExprError(f"{what} needs '{o.name}'", pos)
            elif o.default is not None:
                out.append((o.name, Num(o.default, pos)))
        return tuple(out)

    def literal(self, o: L.Opt, node: ast.expr, what: str) -> Num | Ints:
        pos = _pos(node)
        if o.kind == "bool":
            if isinstance(node, ast.Constant) and isinstance(node.value, bool):
                return Num(node.value, pos)
            raise ExprError(f"{what}: '{o.name}' must be True or False", pos)
        if o.kind == "ints" and isinstance(node, (ast.Tuple, ast.List)):
            if not 1 <= len(node.elts) <= 8:
                raise ExprError(f"{what}: '{o.name}' takes 1 to 8 ints", pos)
            return Ints(tuple(self.int_literal(e, o, what) for e in node.elts), pos)
        if o.kind in ("int", "ints"):
            v = self.int_literal(node, o, what)
            return Ints((v,), pos) if o.name == "shape" else Num(v, pos)
        v = self.expr(node)  # "number"
        if not isinstance(v, Num) or isinstance(v.value, bool):
            raise ExprError(f"{what}: '{o.name}' must be a number", pos)
        return v

    def int_literal(self, node: ast.expr, o: L.Opt, what: str) -> int:
        v = self.expr(node) if not isinstance(node, (ast.Tuple, ast.List)) else None
        if not isinstance(v, Num) or isinstance(v.value, bool) or not isinstance(v.value, int):
            raise ExprError(f"{what}: '{o.name}' must be an integer" + (" or a tuple of integers" if o.kind == "ints" else ""),
                            _pos(node))
        if abs(v.value) > 1_000_000:
            raise ExprError(f"{what}: '{o.name}' is out of range", _pos(node))
        return v.value


def _attr_pos(node: ast.Attribute) -> Pos:
    # Point at the '.name' itself: the attribute ends where the node ends.
    end = getattr(node, "end_col_offset", None)
    if end is not None and getattr(node, "end_lineno", None) == node.lineno:
        return Pos(node.lineno, end - len(node.attr))
    return _pos(node)


def _methods_hint() -> str:
    return "the allowed methods are " + ", ".join(f".{m}()" for m in L.METHODS)


def safe_name(name: str | None) -> str:
    return (name or "")[:40]


def _op_text(op: ast.AST) -> str:
    return {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
            ast.Invert: "~", ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}.get(
        type(op), type(op).__name__)
