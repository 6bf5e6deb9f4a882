"""CustomLayer: D2L's custom-code examples against hand-written torch classes (strict
state_dict loading, same outputs), error positions, and export round trips."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from blocklab.graph.analyze import analyze
from blocklab.graph.build import build, source_for
from blocklab.graph.document import GraphDoc
from graphs import chain, load_exported, template


# ---------------------------------------------------------------- D2L's hand-written classes
class CenteredLayer(nn.Module):  # D2L 6.5.1
    def forward(self, X):
        return X - X.mean()


class MyLinear(nn.Module):  # D2L 6.5.2
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units))

    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)


class FixedHiddenMLP(nn.Module):  # D2L 6.1.3
    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((20, 20))  # a plain attribute in D2L: not in its state_dict
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


class FancyMLP(nn.Module):  # D2L's MXNet / TensorFlow chapter, in torch
    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((20, 20))
        self.dense = nn.Linear(20, 20)

    def forward(self, x):
        x = F.relu(self.dense(x))
        x = F.relu(x @ self.rand_weight + 1)
        x = F.relu(self.dense(x))
        while x.norm() > 1:
            x /= 2
        if x.norm() < 0.8:
            x *= 10
        return x.sum()


def doc_of(d: dict) -> GraphDoc:
    return GraphDoc.model_validate(d)


def errors_of(d: dict) -> list[dict]:
    a = analyze(doc_of(d))
    assert not a.ok
    return [e.to_json() for e in a.errors if e.severity == "error"]


def custom(expr: str, **params) -> dict:
    return chain([20], ("c", "CustomLayer", {"expr": expr, **params}))


# ---------------------------------------------------------------- parity
def test_centered_layer_matches_d2l():
    torch.manual_seed(0)
    ours = build(doc_of(template("d2l_centered")))
    ref = nn.Sequential(nn.Linear(8, 128), CenteredLayer())
    ref.load_state_dict(ours.state_dict(), strict=True)
    X = torch.rand(4, 8)
    torch.testing.assert_close(ours(X), ref(X), rtol=0, atol=1e-6)
    assert abs(ours(X).mean().item()) < 1e-6  # D2L's check: the mean is (close to) zero


def test_centered_layer_exports_as_plain_torch():
    src = source_for(doc_of(template("d2l_centered")))
    assert "return x - x.mean()" in src
    assert "class CenteredLayer_" in src


def test_mylinear_stacked_matches_d2l_with_strict_keys():
    torch.manual_seed(0)
    ours = build(doc_of(template("d2l_mylinear")))
    ref = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    ref.load_state_dict(ours.state_dict(), strict=True)
    X = torch.rand(2, 64)
    torch.testing.assert_close(ours(X), ref(X), rtol=0, atol=1e-6)
    assert [p.shape for p in ours.parameters()] == [torch.Size([64, 8]), torch.Size([8]), torch.Size([8, 1]), torch.Size([1])]
    assert analyze(doc_of(template("d2l_mylinear"))).root.n_params == 64 * 8 + 8 + 8 + 1


def _copy_fixed(ours: nn.Module, ref: nn.Module, linear: str, rand_weight: torch.Tensor) -> None:
    ref.rand_weight = rand_weight.clone()
    sd = ours.state_dict()
    getattr(ref, linear).load_state_dict({"weight": sd[f"{linear}.weight"], "bias": sd[f"{linear}.bias"]})
    ours.hidden.rand_weight.copy_(rand_weight)


@pytest.mark.parametrize("seed", range(5))
def test_fixed_hidden_mlp_matches_d2l(seed):
    torch.manual_seed(seed)
    ours = build(doc_of(template("d2l_fixedhidden")))
    ref = FixedHiddenMLP()
    _copy_fixed(ours, ref, "linear", torch.rand(20, 20))
    X = torch.rand(2, 20) * (1 + seed)
    out = ours(X)
    assert out.shape == (2, 1)  # one sum per sample; D2L's X.sum() is their total
    assert abs(out.sum().item() - ref(X).item()) <= 1e-6
    # One Linear called twice (linear2 calls linear): one entry, as D2L's; the constant is not saved.
    assert list(ours.state_dict()) == ["linear.weight", "linear.bias"]
    assert not hasattr(ours, "linear2")
    assert [n for n, _ in ours.named_parameters()] == ["linear.weight", "linear.bias"]


@pytest.mark.parametrize("seed", range(8))
def test_fancy_mlp_matches_d2l(seed):
    torch.manual_seed(seed)
    ours = build(doc_of(template("d2l_fancymlp")))
    ref = FancyMLP()
    _copy_fixed(ours, ref, "dense", torch.rand(20, 20))
    X = torch.rand(3, 20) * (seed + 1)
    # x *= 10 makes sums near 25, where float32's spacing is 2e-6 and summing per sample
    # first rounds differently: compare in float64 to 1e-6, and in float32 relatively.
    ref.rand_weight = ref.rand_weight.double()
    assert abs(ours.double()(X.double()).sum().item() - ref.double()(X.double()).item()) <= 1e-6
    ours.float(), ref.float()
    ref.rand_weight = ref.rand_weight.float()
    assert abs(ours(X).sum().item() - ref(X).item()) <= 1e-6 * max(1.0, abs(ref(X).item()))


def test_if_branch_both_ways():
    d = custom("if x.norm() < 0.8:\n    x *= 10\nelse:\n    x = -x\nx")
    m = build(doc_of(d))
    small, large = torch.full((2, 20), 0.01), torch.ones(2, 20)
    torch.testing.assert_close(m(small), small * 10)
    torch.testing.assert_close(m(large), -large)


def test_while_is_bounded_by_max_iter():
    m = build(doc_of(custom("while 1 < 2:\n    x = x + 1\nx", max_iter=7)))
    torch.testing.assert_close(m(torch.zeros(2, 20)), torch.full((2, 20), 7.0))


def test_constant_is_saved_so_a_reload_gives_identical_outputs():
    d = custom("relu(x @ w + 1)", constants={"w": {"shape": [20, 20], "init": "rand"}})
    torch.manual_seed(1)
    a = build(doc_of(d))
    torch.manual_seed(2)
    b = build(doc_of(d))
    X = torch.rand(4, 20)
    assert not torch.equal(a(X), b(X))
    b.load_state_dict(a.state_dict(), strict=True)
    assert torch.equal(a(X), b(X))
    assert list(a.state_dict()) == ["c.w"] and not list(a.parameters())


def test_parameters_train_and_frozen_parameters_do_not():
    d = custom(
        "x * scale + shift",
        parameters={"scale": {"shape": [20], "init": "ones"}, "shift": {"shape": [20], "init": 0.5, "trainable": False}},
    )
    m = build(doc_of(d))
    assert m.c.shift.requires_grad is False
    torch.testing.assert_close(m.c.shift, torch.full((20,), 0.5))
    loss = m(torch.rand(4, 20)).pow(2).mean()
    loss.backward()
    assert m.c.scale.grad is not None and m.c.shift.grad is None


def test_literal_init_fills_the_shape():
    d = custom("x @ w", parameters={"w": {"init": [[1, 0]] * 20}})
    rep = analyze(doc_of(d)).report()
    assert rep["ok"] and rep["nodes"]["c"]["output_shape"] == [2]
    assert rep["nodes"]["c"]["resolved"]["parameters"]["w"]["shape"] == [20, 2]
    m = build(doc_of(d))
    X = torch.rand(3, 20)
    torch.testing.assert_close(m(X), torch.stack([X.sum(1), torch.zeros(3)], dim=1))


def test_node_level_init_applies_to_declared_parameters():
    d = custom("x @ w", parameters={"w": {"shape": [20, 4]}})
    d["nodes"][1]["init"] = {"w": {"fn": "constant", "val": 0.25}}
    m = build(doc_of(d))
    torch.testing.assert_close(m.c.w, torch.full((20, 4), 0.25))


def test_multiple_input_ports():
    d = {
        "version": 1, "name": "two", "blocks": {},
        "nodes": [
            {"id": "a", "type": "Input", "params": {"shape": [5]}},
            {"id": "b", "type": "Input", "params": {"shape": [5]}},
            {"id": "c", "type": "CustomLayer", "params": {"expr": "where(x > y, x, y) + softmax(y, dim=-1)"}},
            {"id": "Y", "type": "Output"},
        ],
        "edges": [{"source": "a", "target": "c", "target_port": "x"}, {"source": "b", "target": "c", "target_port": "y"},
                  {"source": "c", "target": "Y"}],
    }
    m = build(doc_of(d))
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    torch.testing.assert_close(m(a, b), torch.maximum(a, b) + torch.softmax(b, dim=-1))


def test_a_custom_layer_can_be_shared():
    layer = {"expr": "relu(x @ w)", "parameters": {"w": {"shape": [20, 20]}}}
    d = chain([20], ("a", "CustomLayer", layer), ("b", "CustomLayer", {}, {"shares": "a"}))
    m = build(doc_of(d))
    assert m.a is m.b and list(m.state_dict()) == ["a.w", "b.w"]
    assert analyze(doc_of(d)).root.n_params == 400
    x = torch.randn(3, 20)
    torch.testing.assert_close(m(x), F.relu(F.relu(x @ m.a.w) @ m.a.w))


def test_a_port_name_assigned_first_is_a_local():
    # y is not connected: assigning it first makes it a plain variable, not an input.
    m = build(doc_of(custom("y = x * 2\ny + 1")))
    x = torch.randn(3, 20)
    torch.testing.assert_close(m(x), x * 2 + 1)
    assert "def forward(self, x):" in source_for(doc_of(custom("y = x * 2\ny + 1")))


def test_every_function_matches_torch():
    d = custom(
        "h = sigmoid(x) + tanh(x) + softplus(x) + exp(x) + log(abs(x) + 1) + sqrt(abs(x))\n"
        "h = h - mean(h) + sum(h, dim=1, keepdim=True) / 20 + max(h) - min(h, 1, True) + norm(h, dim=1, keepdim=True)\n"
        "h = clamp(h, -3, max=3) + matmul(h, transpose(reshape(h, -1, 20), 0, 1)) @ h / 100\n"
        "relu(h) + x.abs().mean(1, keepdim=True) - x.norm() + x.sum() // 2 % 3 ** 2"
    )
    m = build(doc_of(d))
    x = torch.randn(4, 20)
    h = torch.sigmoid(x) + torch.tanh(x) + F.softplus(x) + torch.exp(x) + torch.log(torch.abs(x) + 1) + torch.sqrt(torch.abs(x))
    h = (h - h.mean() + h.sum(dim=1, keepdim=True) / 20 + h.max() - h.amin(1, True)
         + torch.linalg.vector_norm(h, dim=1, keepdim=True))
    h = torch.clamp(h, -3, 3) + torch.matmul(h, h.reshape(-1, 20).T) @ h / 100
    want = F.relu(h) + x.abs().mean(1, keepdim=True) - x.norm() + x.sum() // 2 % 9
    torch.testing.assert_close(m(x), want)


# ---------------------------------------------------------------- errors with positions
@pytest.mark.parametrize(
    "expr,needle",
    [
        ("x + 1 + foo", "unknown name 'foo' at column 9"),
        ("relu(x) + frob(x)", "unknown function 'frob' at column 11"),
        ("__import__('os')", "names with '__' such as '__import__' are not allowed at column 1"),
        ("x.__class__", "attribute access '.__class__' is not allowed"),
        ("().__class__.__bases__", "is not allowed"),
        ("x.shape", "attribute access '.shape' is not allowed at column 2; the allowed methods are .abs(), .sum(), .mean(), .norm()"),
        ("x.exp()", "method '.exp()' is not allowed"),
        ("x[0]", "indexing would index the batch dimension (dim 0) at column 1"),
        ("lambda: x", "lambda is not allowed"),
        ("[v for v in x]", "a comprehension is not allowed"),
        ("x + 'abc'", "strings are not allowed at column 5"),
        ("x ** 9**9**9", "the number is too large"),
        ("x * 1e999", "the number is too large at column 5"),
        ("x * (1 / 0)", "division by zero at column 6"),
        ("x +", "invalid syntax"),
        ("import os\nx", "'import' is not allowed at line 1, column 1; use assignments, while, if and a last result line"),
        ("h = x\nh + q", "unknown name 'q' at line 2, column 5"),
        ("if x.sum() > 0:\n    h = x\nh", "'h' may be undefined here at line 3, column 1"),
        ("x < 1 < 2", "chained comparisons"),
        ("x & x", "operator '&' is not allowed"),
        ("sum(x, dim=1.5)", "sum(): 'dim' must be an integer or a tuple of integers at column 12"),
        ("sum(x, axis=1)", "sum() has no option 'axis'"),
        ("x.norm(1)", ".norm() takes 'dim' by name, e.g. dim=1 at column 8"),
        ("relu = x\nrelu", "'relu' is a reserved name"),
        ("h = x @ x\nh", "'@' cannot take [2, 20] and [2, 20] (batch included) at line 1, column 5"),
        ("reshape(x, 2, -1)", "result is [2, 30] for a batch of 3: it must keep the batch as dim 0"),
        ("reshape(x, 2, 20)", "with a batch of 3: the expr must work for any batch size"),
        ("x.sum()", "it must keep the batch as dim 0"),
        ("x > 0", "it must be a float tensor"),
        ("if x > 0:\n    x = x * 2\nx", "the if condition is [2, 20] (true/false) (batch included), not a single value"),
        ("while x.sum() > 0:\n    x = x.sum(dim=1)\nx", "'x' changes from [2, 20] to [2] in one round of this while loop"),
        ("y + x", "reads input 'y' in its expr, but nothing is connected to port 'y'"),
        ("(" * 70 + "x" + ")" * 70, "brackets nest deeper than 64 levels at column 65"),
        ("-" * 100 + "x", "nests deeper than 64 levels"),
        ("h = x + 1\n" * 100 + "h", "too long"),
        ("x ** é", "plain ASCII only"),
    ],
)
def test_errors_name_node_field_and_position(expr, needle):
    errs = errors_of(custom(expr))
    assert len(errs) == 1, errs
    assert errs[0]["node"] == "c" and errs[0]["field"] == "expr"
    assert errs[0]["message"].startswith("CustomLayer 'c' ")
    assert needle in errs[0]["message"], errs[0]["message"]


@pytest.mark.parametrize(
    "params,field,needle",
    [
        ({"parameters": {"w": {}}}, "parameters.w.shape", "needs a shape"),
        ({"parameters": {"forward": {"shape": [2]}}}, "parameters.forward", "reserved"),
        ({"parameters": {"w": {"shape": [2], "init": "kaiming"}}}, "parameters.w.init", "use one of randn"),
        ({"constants": {"c": {"init": [[1, 2], [3]]}}}, "constants.c.init", "ragged"),
        ({"parameters": {"w": {"shape": [4096, 4096, 2]}}}, "parameters.w.shape", "the limit is"),
        ({"max_iter": 10**6}, "max_iter", "less than or equal to 1000"),
        ({"constants": {f"c{i}": {"shape": [4096, 4096]} for i in range(2)}}, "constants", "the limit is 16,777,216"),
    ],
)
def test_declaration_errors(params, field, needle):
    errs = errors_of(custom("x", **params))
    assert [(e["node"], e["field"]) for e in errs] == [("c", field)], errs
    assert needle in errs[0]["message"]


def test_nested_loops_are_bounded():
    e = errors_of(custom("while x.sum() > 0:\n    while x.sum() > 0:\n        while x.sum() > 0:\n            x /= 2\nx"))
    assert "could run 100^3 = 1,000,000 rounds at line 3, column 9; the limit is 10,000" in e[0]["message"]


# ---------------------------------------------------------------- export and API
@pytest.mark.parametrize("tid", ["d2l_centered", "d2l_mylinear", "d2l_fixedhidden", "d2l_fancymlp"])
def test_templates_export_round_trip_and_train(tid):
    doc = doc_of(template(tid))
    torch.manual_seed(0)
    built = build(doc)
    Exported = load_exported(source_for(doc))
    exported = Exported()
    assert list(exported.state_dict()) == list(built.state_dict())
    exported.load_state_dict(built.state_dict(), strict=True)
    shape = analyze(doc).root.nodes["X"].shape
    X = torch.rand(5, *shape)
    torch.testing.assert_close(exported(X), built(X))
    # One training step runs and changes a parameter.
    opt = torch.optim.SGD(built.parameters(), lr=0.1)
    before = [p.detach().clone() for p in built.parameters()]
    built(X).pow(2).mean().backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, built.parameters()))


def test_validate_and_export_reject_hostile_code_via_api(client):
    for expr in ["__import__('os').system('true')", "().__class__.__base__", "x ** 9**9**9", "open('/etc/passwd')"]:
        rep = client.post("/api/graphs/validate", json=custom(expr)).json()
        assert rep["ok"] is False and [(e["node"], e["field"]) for e in rep["errors"]] == [("c", "expr")]
        r = client.post("/api/export/python", json=custom(expr))
        assert r.status_code == 422
        assert r.json()["detail"]["errors"][0]["field"] == "expr"


def test_validate_reports_custom_shapes_via_api(client):
    rep = client.post("/api/graphs/validate", json=template("d2l_fixedhidden")).json()
    assert rep["ok"], rep
    assert rep["nodes"]["hidden"]["output_shape"] == [20] and rep["nodes"]["halve"]["output_shape"] == [1]
    assert rep["total_params"] == 20 * 20 + 20  # the shared Linear once; the constant is not a parameter
    src = client.post("/api/export/python", json=template("d2l_fixedhidden")).text
    assert "for _ in range(100):  # while x.abs().sum() > 1, at most 100 rounds" in src
    assert ('self.register_buffer("rand_weight", torch.rand(20, 20, generator=torch.Generator().manual_seed(1350478939)), '
            'persistent=False)') in src


def test_catalog_lists_custom_layer(client):
    info = {b["type"]: b for b in client.get("/api/blocks").json()}["CustomLayer"]
    assert [p["name"] for p in info["ports"]] == ["x", "y", "z"]
    assert set(info["params_schema"]["properties"]) >= {"expr", "parameters", "constants", "max_iter"}
