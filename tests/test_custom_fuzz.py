"""Fuzzing the CustomLayer language: random text, grammar-shaped code and hostile snippets.

Every expression is either rejected as a validation error on the node's expr (never a
crash), or it builds into generated source that names only torch, the module's own tensors
and its locals, and runs on real tensors with exactly the traced shape and without side
effects (checked with an audit hook).
"""

from __future__ import annotations

import ast
import string
import sys
import threading

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocklab.custom import language as L
from blocklab.blocks.custom import CUSTOM
from blocklab.graph.analyze import analyze
from blocklab.graph.build import model_class
from blocklab.graph.codegen import generate
from blocklab.graph.document import GraphDoc

def fast(n: int = 100) -> settings:
    # Derandomized: the same examples every run, so CI never flakes on a new draw.
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)

# ---------------------------------------------------------------- side-effect watch
_FORBIDDEN_EVENTS = (
    "os.system", "subprocess.", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "socket.", "os.remove",
    "os.unlink", "os.rename", "os.rmdir", "os.mkdir", "shutil.", "ctypes.", "builtins.input", "webbrowser.",
)
_watch = {"on": False, "seen": [], "thread": None}


def _audit(event: str, args: tuple) -> None:
    # Only the forward's own thread: other threads (a server's warm-up importing sklearn) are not its doing.
    if not _watch["on"] or threading.get_ident() != _watch["thread"]:
        return
    if event.startswith(_FORBIDDEN_EVENTS) or event in ("exec", "compile"):
        _watch["seen"].append(event)
    elif event == "open" and len(args) > 1 and isinstance(args[1], str) and set(args[1]) & set("wax+"):
        _watch["seen"].append(f"open for writing {args[0]!r}")


sys.addaudithook(_audit)  # audit hooks cannot be removed; this one is idle unless watching

# ---------------------------------------------------------------- the design under test
DECLS = {
    "parameters": {"w": {"shape": [4, 4], "init": "randn"}, "b": {"shape": [4], "init": "zeros"}},
    "constants": {"c": {"shape": [4], "init": "rand"}},
    "max_iter": 20,
}


def _doc(expr: str) -> GraphDoc:
    return GraphDoc.model_validate({
        "nodes": [
            {"id": "a", "type": "Input", "params": {"shape": [4]}},
            {"id": "b", "type": "Input", "params": {"shape": [4]}},
            {"id": "c", "type": "CustomLayer", "params": {"expr": expr, **DECLS}},
            {"id": "Y", "type": "Output"},
        ],
        "edges": [{"source": "a", "target": "c", "target_port": "x"}, {"source": "b", "target": "c", "target_port": "y"},
                  {"source": "c", "target": "Y"}],
    })


_TORCH_PARTS = {part for fn in L.FUNCTIONS.values() for part in fn.path.split(".")[1:]}
_ALLOWED_ATTRS = (_TORCH_PARTS | set(L.METHODS) | {"Module", "Parameter", "register_buffer", "__init__"}
                  | {"randn", "rand", "zeros", "ones", "full", "tensor"} | set(DECLS["parameters"]) | set(DECLS["constants"]))


def _check_class_source(src: str) -> None:
    """The generated class uses nothing but torch's allow-listed calls, its tensors and locals."""
    tree = ast.parse(src)
    assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    allowed_names = {"torch", "nn", "self", "super", "range", *L.PORTS, *assigned}
    for n in ast.walk(tree):
        if isinstance(n, ast.Name):
            assert n.id in allowed_names, (n.id, src)
        elif isinstance(n, ast.Attribute):
            assert n.attr in _ALLOWED_ATTRS, (n.attr, src)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            assert n.value in DECLS["constants"] or n.value.startswith("A CustomLayer"), (n.value, src)
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            assert n.func.id in ("super", "range"), src
        assert not isinstance(n, (ast.Import, ast.ImportFrom, ast.Lambda, ast.Subscript, ast.Global, ast.With,
                                  ast.Try, ast.Raise, ast.Delete, ast.ListComp, ast.GeneratorExp)), src


def check(expr: str) -> str:
    """'rejected' or 'ran'; fails the test on anything else."""
    doc = _doc(expr)
    analysis = analyze(doc)
    if not analysis.ok:
        errs = [e.to_json() for e in analysis.errors if e.severity == "error"]
        assert errs, expr
        for e in errs:
            assert e["node"] == "c" and e["field"] == "expr", (expr, e)
            assert e["message"].startswith("CustomLayer 'c' "), (expr, e)
            assert len(e["message"]) < 1200, (expr, e)
        return "rejected"
    node = analysis.root.nodes["c"]
    _check_class_source("".join(CUSTOM.classes(node.params).values()))
    model = model_class(generate(analysis))()
    xa, xb = torch.randn(5, 4), torch.randn(5, 4)
    _watch["on"], _watch["seen"], _watch["thread"] = True, [], threading.get_ident()
    try:
        with torch.no_grad():
            out = model(xa, xb)
    finally:
        _watch["on"] = False
    assert not _watch["seen"], (expr, _watch["seen"])
    assert isinstance(out, torch.Tensor) and out.is_floating_point(), expr
    assert tuple(out.shape) == (5, *node.shape), (expr, out.shape, node.shape)  # the trace was right
    return "ran"


# ---------------------------------------------------------------- hostile snippets
HOSTILE = [
    "__import__('os').system('echo pwned')", "().__class__.__bases__[0].__subclasses__()", "x.__class__",
    "x.__dict__", "x.__len__()", "9**9**9", "x ** 9**9**9", "x * 10**400", "x ** 10**400", "2 ** -9**9",
    "(lambda: 1)()", "lambda: x", "[i for i in range(10)]", "{i: i for i in x}", "(i for i in x)",
    "'a' * 10**9", "b'x'", "f'{x}'", "1j * x", "eval('1')", "exec('x = 1')", "compile('1', 'f', 'eval')",
    "open('/tmp/pwned', 'w')", "globals()", "locals()", "vars(x)", "dir(x)", "getattr(x, 'abs')()",
    "torch.ones(3)", "torch.load('f')", "nn.Linear(1, 1)", "self", "self.c", "super()", "F.relu(x)",
    "x.numpy()", "x.item()", "x.tolist()", "x.data", "x.grad", "x.T", "x.shape[0]", "x[0]", "x[::-1]",
    "x.abs(*[])", "sum(**{})", "max(x, key=print)", "print(x)", "input()", "breakpoint()", "exit()",
    "import os\nx", "from os import system\nx", "def f():\n    pass\nx", "class A:\n    pass\nx",
    "for i in range(9):\n    pass\nx", "while 1:\n    pass\nx", "with x:\n    pass\nx", "try:\n    pass\nexcept:\n    pass\nx",
    "global x\nx", "del x\nx", "assert x\nx", "raise x", "x if 1 else x", "(y := x)", "await x", "yield x",
    "async def f():\n    pass\nx", "x\x00", "\x00", "x ** é", "x\u202e", "-" * 3000 + "x", "(" * 300 + "x" + ")" * 300,
    "x" + " + x" * 1000, "9" * 5000, "0x" + "f" * 100, "1e309 * x", "x @ w @ w @ w " * 50,
    "while x.abs().sum() > 0:\n    while x.abs().sum() > 0:\n        while x.abs().sum() > 0:\n            x = x / 2\nx",
    "reshape(x, 1000000, 1000000)", "reshape(x, -1, 1) * reshape(x, 1, -1) * reshape(x, -1, 1, 1)",
    "x.__class__.__mro__[-1].__subclasses__()", "relu.__globals__", "relu(x).__reduce__()",
    "where(x > 0, 1, 0)", "sum(x > 0, dim=1, keepdim=True)", "(x > 0) // (x < 0)", "(x > 0) % (x > 0)",
    "if x:\n    x = x\nx", "x = x.sum()\nx", "return x", "return", "pass", "", "   ", "\n\n", "#comment",
    "x # comment", "x;x", "x\\\n+ x", "x\ty",
]


def test_hostile_snippets_are_rejected_or_harmless():
    outcomes = {h: check(h) for h in HOSTILE}
    ran = [h for h, o in outcomes.items() if o == "ran"]
    # The few that run are plain tensor code, bounded loops included.
    assert set(ran) == {"x # comment", "x\\\n+ x", "return x", "while 1:\n    pass\nx", HOSTILE[HOSTILE.index("x @ w @ w @ w " * 50) + 1]}, ran


@fast()
@given(st.sampled_from(HOSTILE), st.sampled_from(["", "x + ", "relu(", "h = x\n", "x.abs().sum() * "]),
       st.sampled_from(["", ")", " + x", "\nx", ".sum()"]))
def test_hostile_snippets_inside_code(snippet, before, after):
    check(before + snippet + after)


# ---------------------------------------------------------------- grammar-shaped code
NAMES = ["x", "y", "z", "w", "b", "c", "h", "g", "foo", "self", "torch", "relu", "__import__", "__class__", "_h", "open"]
FUNCS = [*L.FUNCTIONS, "eval", "getattr", "print", "frob", "type", "range", "len", "__import__"]
METHODS = [*L.METHODS, "exp", "__class__", "shape", "item", "numpy", "reshape", "__reduce__", "T"]
OPS = ["+", "-", "*", "/", "//", "%", "**", "@", "<", "<=", ">", ">=", "==", "!=", "&", "|", "^", "<<", "and", "or",
       "in", "is", "if 1 else"]
KW = ["dim=1", "dim=-1", "dim=(0, 1)", "keepdim=True", "min=0", "max=1.5", "dim=0", "axis=1", "key=print", "dim=x"]

numbers = st.one_of(
    st.integers(-10**20, 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.sampled_from(["0", "1", "2", "0.5", "1e-3", "1e309", "9**9**9", "True", "None", "'s'", "..."]),
)
leaves = st.one_of(st.sampled_from(NAMES), numbers)


def _extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(OPS), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(FUNCS), st.lists(children, max_size=3), st.lists(st.sampled_from(KW), max_size=2)).map(
            lambda t: f"{t[0]}({', '.join(t[1] + t[2])})"),
        st.tuples(children, st.sampled_from(METHODS), st.lists(st.sampled_from(KW), max_size=2)).map(
            lambda t: f"({t[0]}).{t[1]}({', '.join(t[2])})"),
        st.tuples(st.sampled_from(["-", "+", "not ", "~"]), children).map("".join),
        st.tuples(children, st.sampled_from(["[0]", ".T", "[1:]", ""])).map("".join),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)


@st.composite
def programs(draw) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["assign", "aug", "while", "if"]))
        target = draw(st.sampled_from(["x", "h", "g", "w", "relu", "_q"]))
        e = draw(expressions)
        if kind == "assign":
            lines.append(f"{target} = {e}")
        elif kind == "aug":
            lines.append(f"{target} {draw(st.sampled_from(['+=', '-=', '*=', '/=', '&=']))} {e}")
        else:
            lines += [f"{kind} {draw(expressions)}:", f"    {target} = {e}"]
            if kind == "if" and draw(st.booleans()):
                lines += ["else:", f"    {target} = {draw(expressions)}"]
    lines.append(draw(expressions))
    return "\n".join(lines)


# Code built from the allowed language only, so that a good share of it runs.
SAFE_LEAVES = st.sampled_from(["x", "y", "x", "y", "w", "b", "c", "2.5", "0.5", "-1"])


def _safe_extend(children):
    unary = st.sampled_from(["relu", "sigmoid", "tanh", "softplus", "exp", "abs", "sqrt", "softmax"])
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "@", "**"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(unary, children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["sum", "mean", "max", "min", "norm"]), children,
                  st.sampled_from(["", ", dim=1, keepdim=True", ", 1", ", dim=-1"])).map(lambda t: f"{t[0]}({t[1]}{t[2]})"),
        st.tuples(children, st.sampled_from(["abs()", "sum()", "mean(dim=1, keepdim=True)", "norm()"])).map(
            lambda t: f"({t[0]}).{t[1]}"),
        st.tuples(children, children, children).map(lambda t: f"where({t[0]} > {t[1]}, {t[1]}, {t[2]})"),
        st.tuples(children).map(lambda t: f"clamp({t[0]}, min=-2, max=2)"),
        st.tuples(children).map(lambda t: f"transpose(reshape({t[0]}, -1, 2, 2), 1, 2).sum(dim=2)"),
    )


safe_expressions = st.recursive(SAFE_LEAVES, _safe_extend, max_leaves=10)


@st.composite
def safe_programs(draw) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"h = {draw(safe_expressions)}")
    if draw(st.booleans()):
        lines += [f"while (x + {draw(safe_expressions)}).abs().sum() > 1:", "    x = x / 2"]
    if draw(st.booleans()):
        lines += [f"if (y + {draw(safe_expressions)}).norm() < 0.8:", "    x = x * 10", "else:", "    x = -x"]
    # x + ...: most results then keep the batch (a whole-batch sum alone would not).
    lines.append(draw(safe_expressions) if draw(st.booleans()) else f"x + {draw(safe_expressions)}")
    return "\n".join(lines)


@fast(800)
@given(expressions)
def test_random_expressions(expr):
    check(expr)


@fast(400)
@given(programs())
def test_random_programs(text):
    check(text)


@fast(300)
@given(st.one_of(safe_expressions, safe_programs()))
def test_allowed_code_runs_with_the_traced_shape(text):
    check(text)


@fast(600)
@given(st.text(alphabet=string.printable + "é\u202e\x00", max_size=60))
def test_random_text(text):
    check(text)


def test_fuzz_reaches_both_outcomes():
    # Guards the fuzzers themselves: the allowed-code generator must produce runnable code.
    outcomes = {check(e) for e in ["relu(x @ w + b)", "x - x.mean()", "where(x > y, x, c)", "x.foo()"]}
    assert outcomes == {"ran", "rejected"}


@fast(60)
@given(st.one_of(expressions, st.sampled_from(HOSTILE)))
def test_api_never_500(client, expr):
    body = {
        "nodes": [{"id": "X", "type": "Input", "params": {"shape": [4]}},
                  {"id": "c", "type": "CustomLayer", "params": {"expr": expr}}, {"id": "Y", "type": "Output"}],
        "edges": [{"source": "X", "target": "c"}, {"source": "c", "target": "Y"}],
    }
    r = client.post("/api/graphs/validate", json=body)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["ok"] or all(e["node"] == "c" and e["field"] == "expr" for e in rep["errors"])
    r = client.post("/api/export/python", json=body)
    assert r.status_code == (200 if rep["ok"] else 422), r.text
