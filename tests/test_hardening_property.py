"""Property: whatever document, string or query value arrives, the server answers below 500,
and an error answer stays small (error lists are capped).

Strings are drawn from every code point, lone surrogates included, and bodies are sent as
JSON text exactly as an attacker would write them (escapes and all).
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from blocklab.app import create_app
from blocklab.settings import Settings

_app = create_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="blocklab-prop-")), max_concurrent_runs=1,
                           max_train_bytes=64 * 1024**2))
client = TestClient(_app, raise_server_exceptions=False)


@pytest.fixture(scope="module", autouse=True)
def _lifespan():
    with client:  # the app's startup and shutdown: its run manager stops with the module
        yield

ERROR_BYTES = 256 * 1024  # 100 errors of at most ~1 KB each, with room to spare
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

# Any code point, lone surrogates often (JSON can write them, as escapes), and numbers around
# the 64-bit edges the database has.
text = st.one_of(st.text(st.characters(codec=None, exclude_categories=()), max_size=12),
                 st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3))
number = st.one_of(st.integers(-(2**70), 2**70), st.integers(2**63 - 2, 2**64 + 1),
                   st.floats(allow_nan=True, allow_infinity=True))
deep_json = st.integers(1, 4000).map(lambda d: "[" * d + "]" * d)
json_values = st.recursive(st.one_of(st.none(), st.booleans(), number, text),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(text, inner, max_size=4)), max_leaves=20)
def mostly(valid, other):
    """Mostly valid values, so that one bad value at a time gets past the others' checks."""
    return st.one_of(valid, valid, valid, other)


block_types = st.sampled_from(["Input", "Output", "Linear", "ReLU", "Conv2d", "Add", "CustomLayer", "Nope"])
node = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["X", "a", "b", "Y"]), st.sampled_from(["X", "a", "b", "Y"]), text),
     "type": st.one_of(block_types, block_types, text)},
    optional={"params": st.dictionaries(st.sampled_from(["shape", "out_features", "expr", "x"]), json_values, max_size=3),
              "position": mostly(st.dictionaries(st.sampled_from(["x", "y", "label"]), text), json_values),
              "init": json_values, "shares": text})
edge = st.fixed_dictionaries({"source": st.sampled_from(["X", "a", "b", "Y"]), "target": st.sampled_from(["X", "a", "b", "Y"])},
                             optional={"target_port": text})
document = st.fixed_dictionaries(
    {"version": mostly(st.just(1), json_values), "nodes": st.lists(node, max_size=5)},
    optional={"name": st.one_of(text, json_values), "edges": st.lists(edge, max_size=5), "blocks": json_values,
              "extra": json_values})


def seg(s: str) -> str:
    """A path segment as raw bytes would arrive: percent-encoded, surrogates as their (invalid) UTF-8."""
    return quote(s, safe="", errors="surrogatepass") or "x"


def query(**params) -> str:
    return "?" + "&".join(f"{k}={seg(v) if v else ''}" for k, v in params.items())


def send(method: str, url: str, body=None, **kw):
    if body is not None:
        kw["content"] = json.dumps(body, allow_nan=True)  # NaN, Infinity: invalid JSON, must be a 4xx
        kw["headers"] = {"content-type": "application/json"}
    r = client.request(method, url, **kw)
    assert r.status_code < 500, (method, url, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert len(r.content) <= ERROR_BYTES, (url, len(r.content))
    return r


@PROFILE
@given(doc=st.one_of(document, json_values))
def test_any_document_gets_an_answer_below_500(doc):
    send("POST", "/api/graphs/validate", doc)
    send("POST", "/api/export/python", doc)
    r = send("POST", "/api/graphs", doc)
    if r.status_code == 201:  # stored: it must read back, update and delete cleanly
        gid = r.json()["id"]
        assert send("GET", f"/api/graphs/{gid}").status_code == 200
        assert send("PUT", f"/api/graphs/{gid}", doc).status_code == 200
        assert send("DELETE", f"/api/graphs/{gid}").status_code == 204
    send("POST", "/api/runs", {"graph": doc, "dataset": {"name": "moons", "params": {"n": 40}}, "loss": "cross_entropy",
                               "epochs": 1})


@PROFILE
@given(name=mostly(st.sampled_from(["moons", "blobs", "synthetic_regression", "iris"]), text),
       params=st.one_of(text, deep_json, json_values.map(json.dumps),
                        st.fixed_dictionaries({}, optional={"n": number, "n_val": number, "noise": number,
                                                            "w": st.lists(number, max_size=3), "x": text}).map(json.dumps)),
       limit=mostly(st.integers(1, 5000).map(str), st.one_of(text, number.map(str))),
       split=mostly(st.sampled_from(["train", "val"]), text))
def test_any_samples_query_gets_an_answer_below_500(name, params, limit, split):
    send("GET", f"/api/datasets/{seg(name)}/samples" + query(params=params, limit=limit, split=split))


@functools.cache
def finished_run() -> str:
    from runs_fixtures import run_body, wait
    rid = client.post("/api/runs", json=run_body("linear_regression", epochs=1)).json()["id"]
    wait(client, rid)
    return rid


@PROFILE
@given(run_id=mostly(st.just(""), text), after=st.one_of(number.map(str), text), kind=st.one_of(text, st.none()),
       graph=st.one_of(text, deep_json, json_values.map(json.dumps), document.map(json.dumps)), graph_id=st.one_of(text, st.none()))
def test_any_run_query_or_form_gets_an_answer_below_500(run_id, after, kind, graph, graph_id):
    send("GET", f"/api/runs/{seg(run_id or finished_run())}/metrics" + query(after=after, **({"type": kind} if kind is not None else {})))
    send("GET", "/api/runs" + query(graph_id=graph_id or ""))
    field = ("graph", graph) if graph_id is None else ("graph_id", graph_id)
    files = {"file": ("w.safetensors", b"\x08" + b"\x00" * 7 + b"{}"),
             field[0]: (None, field[1].encode("utf-8", "surrogatepass"))}  # form fields as raw bytes
    send("POST", "/api/weights", files=files)
