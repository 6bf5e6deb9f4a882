"""The REST calls of CONTRACT.md section 2 for blocks, designs and export; never a 500."""

from __future__ import annotations

import json

import torch
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from blocklab.app import create_app
from blocklab.blocks import REGISTRY
from blocklab.graph.build import build
from blocklab.graph.document import GraphDoc
from graphs import chain, load_exported, template


def test_block_catalog_comes_from_the_registry(client):
    blocks = client.get("/api/blocks").json()
    assert [b["type"] for b in blocks] == list(REGISTRY)
    linear = next(b for b in blocks if b["type"] == "Linear")
    assert linear["category"] == "layers" and linear["doc"]
    assert linear["params_schema"]["properties"]["out_features"]["minimum"] == 1
    assert linear["ports"] == [{"name": "x", "optional": False}]
    concat = next(b for b in blocks if b["type"] == "Concat")
    assert [p["name"] for p in concat["ports"] if not p["optional"]] == ["a", "b"]
    assert {i["fn"] for i in client.get("/api/inits").json()} >= {"normal", "xavier_uniform", "kaiming_normal", "orthogonal"}


def test_design_crud_and_persistence(client, settings):
    doc = template("d2l_mlp")
    doc["nodes"][0]["position"] = {"x": 1.5, "y": 2}
    r = client.post("/api/graphs", json=doc)
    assert r.status_code == 201
    gid = r.json()["id"]
    got = client.get(f"/api/graphs/{gid}").json()
    assert got["name"] == "MLP" and got["graph"]["nodes"][0]["position"] == {"x": 1.5, "y": 2}
    assert got["nodes"] == got["graph"]["nodes"]
    doc["name"] = "MLP v2"
    assert client.put(f"/api/graphs/{gid}", json=doc).json()["name"] == "MLP v2"
    assert [d["name"] for d in client.get("/api/graphs").json()] == ["MLP v2"]
    # A new server on the same data dir still has it.
    with TestClient(create_app(settings)) as again:
        assert again.get(f"/api/graphs/{gid}").json()["graph"]["name"] == "MLP v2"
    assert client.delete(f"/api/graphs/{gid}").status_code == 204
    assert client.get(f"/api/graphs/{gid}").status_code == 404
    assert client.delete(f"/api/graphs/{gid}").status_code == 404
    assert client.put(f"/api/graphs/{gid}", json=doc).status_code == 404


def test_invalid_drafts_can_be_saved_but_not_malformed_bodies(client):
    assert client.post("/api/graphs", json={"nodes": [{"id": "a", "type": "Nope"}]}).status_code == 201
    assert client.post("/api/graphs", json={"nodes": "a"}).status_code == 422
    r = client.post("/api/graphs", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_export_round_trip(client):
    doc = template("resnet_digits")
    r = client.post("/api/export/python", json=doc)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
    src = r.text
    assert "class Residual(nn.Module):" in src and "class Model(nn.Module):" in src
    Model = load_exported(src)
    torch.manual_seed(0)
    built = build(GraphDoc.model_validate(doc)).eval()
    exported = Model().eval()
    exported.load_state_dict(built.state_dict(), strict=True)
    x = torch.rand(4, 1, 8, 8)
    torch.testing.assert_close(exported(x), built(x))


def test_export_of_invalid_graph_is_422_with_errors(client):
    r = client.post("/api/export/python", json=chain([4], ("a", "Linear", {"in_features": 3})))
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["node"] == "a"


def test_export_is_readable_code(client):
    src = client.post("/api/export/python", json=template("d2l_mlp")).text
    assert "self.hidden = nn.Linear(20, 256, bias=True)" in src
    assert "hidden = self.hidden(X)  # [B, 256]" in src
    assert "exec" not in src and "eval(" not in src


# ---------------------------------------------------------------- never a 500
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
type_names = st.sampled_from([*REGISTRY, "Block", "Nope"])
node_ids = st.sampled_from(["X", "a", "b", "c", "0", "1", "Y", "bad id"])
param_values = st.one_of(st.integers(-3, 70), st.lists(st.integers(-1, 9), max_size=4), st.booleans(), st.floats(-2, 2),
                         st.none(), st.text(max_size=4))
param_names = st.sampled_from(["shape", "out_features", "in_features", "kernel_size", "dim", "dims", "p", "stride",
                               "padding", "output_size", "factor", "hidden_size", "num_embeddings", "start_dim"])
nodes = st.fixed_dictionaries(
    {"id": node_ids, "type": type_names, "params": st.dictionaries(param_names, param_values, max_size=3)},
    optional={"shares": node_ids, "init": st.dictionaries(st.sampled_from(["weight", "bias"]),
                                                          st.fixed_dictionaries({"fn": st.sampled_from(["normal", "zeros", "xavier_uniform", "bogus"])}))},
)
edges = st.fixed_dictionaries({"source": node_ids, "target": node_ids},
                              optional={"target_port": st.sampled_from(["x", "a", "b", "c", "q"])})
graphs = st.fixed_dictionaries({"nodes": st.lists(nodes, max_size=7), "edges": st.lists(edges, max_size=8)},
                               optional={"blocks": st.dictionaries(st.sampled_from(["Block", "Linear"]),
                                                                   st.fixed_dictionaries({"nodes": st.lists(nodes, max_size=4),
                                                                                          "edges": st.lists(edges, max_size=4)}),
                                                                   max_size=1)})


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values)
def test_junk_bodies_get_422_never_500(client, body):
    for path in ("/api/graphs/validate", "/api/export/python", "/api/graphs"):
        r = client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
        assert r.status_code in (200, 201, 422), (path, r.status_code, r.text)


SMALL_PARAMS = {"out_features": st.integers(1, 9), "out_channels": st.integers(1, 4), "kernel_size": st.integers(1, 3),
                "dim": st.integers(-3, 3), "dims": st.lists(st.integers(-3, 3), min_size=1, max_size=2),
                "shape": st.lists(st.sampled_from([-1, 1, 2, 3, 4, 6]), min_size=1, max_size=3),
                "hidden_size": st.integers(1, 5), "output_size": st.integers(1, 3), "start_dim": st.integers(1, 3),
                "factor": st.floats(-3, 3), "p": st.floats(0, 0.9), "num_embeddings": st.integers(1, 9)}


@st.composite
def dags(draw):
    """Random layered graphs over the real registry: most are plausible, many are valid."""
    types = [t for t, b in REGISTRY.items() if b.end is None]
    shape = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    nodes = [{"id": "X", "type": "Input", "params": {"shape": shape}}]
    edges = []
    for i in range(draw(st.integers(1, 6))):
        t = draw(st.sampled_from(types))
        fields = [f for f in REGISTRY[t].params.model_fields if f in SMALL_PARAMS]
        chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=2)) if fields else []
        nodes.append({"id": f"n{i}", "type": t, "params": {f: draw(SMALL_PARAMS[f]) for f in chosen}})
        for port in REGISTRY[t].ports:
            if port.optional and draw(st.booleans()):
                continue
            src = draw(st.sampled_from([n["id"] for n in nodes[:-1]]))
            edges.append({"source": src, "target": f"n{i}", "target_port": port.name})
    nodes.append({"id": "Y", "type": "Output"})
    edges.append({"source": nodes[-2]["id"], "target": "Y"})
    return {"nodes": nodes, "edges": edges}


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(graphs, dags()))
def test_random_graphs_are_rejected_or_build_and_run(client, doc):
    r = client.post("/api/graphs/validate", json=doc)
    assert r.status_code == 200, r.text
    rep = r.json()
    ex = client.post("/api/export/python", json=doc)
    assert ex.status_code == (200 if rep["ok"] else 422), ex.text
    if not rep["ok"]:
        assert all(e["message"] for e in rep["errors"])
        return
    g = GraphDoc.model_validate(doc)
    model = build(g).eval()
    inputs = [n for n in g.nodes if n.type == "Input"]
    xs = [torch.rand(2, *rep["nodes"][n.id]["output_shape"]) for n in inputs]
    with torch.no_grad():
        out = model(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    expect = [rep["nodes"][n.id]["output_shape"] for n in g.nodes if n.type == "Output"]
    assert [list(o.shape[1:]) for o in outs] == expect
