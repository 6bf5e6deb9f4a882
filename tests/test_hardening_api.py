"""Issue 12, API side: each test reproduces one attack that got a 500 (or an unreadable answer)
and checks the clear 4xx that replaces it."""

from __future__ import annotations

import ast
import concurrent.futures as cf
import json
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import requests
import torch
from safetensors.torch import save as st_save
from starlette.websockets import WebSocketDisconnect

import blocklab
from blocklab.api import graphs as graphs_api
from blocklab.graph.document import GraphDoc
from blocklab.settings import Settings
from graphs import chain
from live_server import live_server
from runs_fixtures import mlp, run_body, wait

BACKEND = Path(blocklab.__file__).resolve().parent  # the code under test, wherever it is imported from
DEEP = "[" * 3000 + "]" * 3000


def design(**node_extra) -> dict:
    return chain([2], ("lin", "Linear", {"out_features": 2}, node_extra), name="d")


def post_json(client, url: str, body) -> httpx.Response:
    # ensure_ascii (json.dumps' default): a lone surrogate travels as the escape "\ud800".
    return client.post(url, content=json.dumps(body), headers={"content-type": "application/json"})


# ------------------------------------------------------------------ 9: lone surrogates
def test_a_lone_surrogate_anywhere_in_a_body_is_a_422_naming_it_and_nothing_is_stored(client):
    r = post_json(client, "/api/graphs", design(position={"x": 1, "label": "\ud800"}))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "nodes", 1, "position", "label"]
    assert "surrogate" in r.json()["detail"][0]["msg"]
    assert client.get("/api/graphs").json() == []

    # a key, a run body's free-form dataset params, raw UTF-8 surrogate bytes
    r = post_json(client, "/api/graphs/validate", design(meta={"\udc00": 1}))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "nodes", 1, "meta", "\\udc00"]
    body = run_body("linear_regression")
    body["dataset"]["params"] = {"n": 100, "note": "\udfff"}
    r = post_json(client, "/api/runs", body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "dataset", "params", "note"]
    raw = json.dumps(design(position={"label": "SURR"})).encode().replace(b"SURR", b"\xed\xa0\x80")
    r = client.post("/api/graphs", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "label"
    assert client.get("/api/graphs").json() == [] and client.get("/api/runs").json() == []

    # a valid pair of escapes is one real character, and is kept
    r = post_json(client, "/api/graphs", design(position={"label": "\U0001F600"}))
    assert r.status_code == 201
    assert client.get(f"/api/graphs/{r.json()['id']}").json()["nodes"][1]["position"]["label"] == "\U0001F600"


def test_lone_surrogates_in_query_and_form_json_name_the_field(client):
    r = client.get("/api/datasets/moons/samples", params={"params": '{"n": 100, "x": "\\ud800"}'})
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["field"] == "params.x"
    r = client.post("/api/weights", files={"file": ("w.safetensors", b"x")},
                    data={"graph": json.dumps(design(position={"t": "\ud800"}))})
    assert r.status_code == 422
    assert r.json()["detail"]["errors"][0]["field"] == "graph.nodes.1.position.t"


# ------------------------------------------------------------------ 12: deep JSON
def test_json_nested_3000_deep_in_a_query_form_field_or_body_is_a_422(client):
    r = client.get("/api/datasets/moons/samples", params={"params": DEEP})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "params"
    assert "nested deeper" in r.json()["detail"]["errors"][0]["message"]
    r = client.post("/api/weights", files={"file": ("w.safetensors", b"x")}, data={"graph": DEEP})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "graph"
    r = client.post("/api/graphs/validate", content='{"nodes": [], "x": ' + DEEP + "}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_too_deep"
    # 101 levels inside a node's free-form field: refused before any route sees it
    deep_value = json.loads("[" * 101 + "]" * 101)
    r = post_json(client, "/api/graphs", design(position=deep_value))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:4] == ["body", "nodes", 1, "position"]


# ------------------------------------------------------------------ 10: PUT racing DELETE
def test_put_after_a_delete_won_the_race_is_a_404(client, settings):
    gid = client.post("/api/graphs", json=design()).json()["id"]
    fetched = client.get(f"/api/graphs/{gid}").json()  # what the PUT's lookup found ...
    assert client.delete(f"/api/graphs/{gid}").status_code == 204  # ... then the DELETE lands
    engine = client.app.state.engine
    with pytest.raises(graphs_api.HTTPException) as e:
        graphs_api.update_design(GraphDoc.model_validate(design()), {"id": gid, **fetched}, engine)
    assert e.value.status_code == 404
    with pytest.raises(graphs_api.HTTPException) as e:
        graphs_api.delete_design({"id": gid, **fetched}, engine)
    assert e.value.status_code == 404


def test_concurrent_put_and_delete_of_one_design_never_500(tmp_path):
    codes = {"put": set(), "delete": set()}
    with live_server(Settings(data_dir=tmp_path)) as base, httpx.Client(base_url=base, timeout=30) as c:
        for _ in range(15):
            gid = c.post("/api/graphs", json=design()).json()["id"]
            start = threading.Barrier(2)

            def put():
                start.wait()
                return c.put(f"/api/graphs/{gid}", json=design()).status_code

            def delete():
                start.wait()
                return c.delete(f"/api/graphs/{gid}").status_code

            with cf.ThreadPoolExecutor(2) as ex:
                p, d = ex.submit(put), ex.submit(delete)
                codes["put"].add(p.result())
                codes["delete"].add(d.result())
            assert c.get(f"/api/graphs/{gid}").status_code == 404
    assert codes["put"] <= {200, 404} and codes["delete"] == {204}


# ------------------------------------------------------------------ 11: Content-Disposition
def test_export_of_a_non_latin1_name_has_an_rfc5987_filename(client):
    r = client.post("/api/export/python", json=design() | {"name": "中文 模型"})
    assert r.status_code == 200
    cd = r.headers["content-disposition"]
    assert 'filename="model.py"' in cd  # the ASCII stand-in
    star = cd.split("filename*=", 1)[1]
    assert star.startswith("UTF-8''") and unquote(star[len("UTF-8''"):]) == "中文 模型.py"
    r = client.post("/api/export/python", json=design() | {"name": 'a"b\\c/d'})
    assert 'filename="abcd.py"' in r.headers["content-disposition"]


# ------------------------------------------------------------------ 13: out-of-range after
def test_after_beyond_64_bits_is_a_422_on_metrics_and_4422_on_the_stream(client):
    rid = client.post("/api/runs", json=run_body("linear_regression", epochs=1)).json()["id"]
    wait(client, rid)
    r = client.get(f"/api/runs/{rid}/metrics", params={"after": 2**63})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "after"]
    assert client.get(f"/api/runs/{rid}/metrics", params={"after": 2**63 - 1}).json() == []
    for bad in (str(2**63), "-1", "abc", "9" * 5000):
        with client.websocket_connect(f"/api/runs/{rid}/stream?after={bad}") as ws:
            with pytest.raises(WebSocketDisconnect) as e:
                ws.receive_text()
        assert e.value.code == 4422, bad


# ------------------------------------------------------------------ 15: 413 that clients can read
def test_a_body_over_the_limit_gets_a_json_413_that_urllib_and_requests_can_read(tmp_path):
    limit = 256 * 1024
    big = json.dumps({"nodes": [], "pad": "a" * (4 * limit)}).encode()
    with live_server(Settings(data_dir=tmp_path, max_body_bytes=limit)) as base:
        req = urllib.request.Request(base + "/api/graphs", data=big, headers={"content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as e:  # not URLError(connection reset)
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code == 413
        assert "BLOCKLAB_MAX_BODY_BYTES" in json.loads(e.value.read())["detail"]
        r = requests.post(base + "/api/graphs", data=big, headers={"content-type": "application/json"}, timeout=30)
        assert r.status_code == 413 and r.json()["detail"].startswith("the request body is over")
        # no Content-Length (chunked): counted as it streams, still a JSON 413
        form = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n\r\n' + big + b"\r\n--b--\r\n"
        for url, ctype, body in (("/api/graphs", "application/json", big),
                                 ("/api/datasets", "multipart/form-data; boundary=b", form)):
            chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
            r = httpx.post(base + url, content=chunks, headers={"content-type": ctype}, timeout=30)
            assert r.status_code == 413 and "BLOCKLAB_MAX_BODY_BYTES" in r.json()["detail"], url
        # the server is fine afterwards
        assert httpx.post(base + "/api/graphs", json=design(), timeout=30).status_code == 201


# ------------------------------------------------------------------ error lists are bounded
def test_error_lists_are_capped_with_a_count_of_the_rest(client):
    nodes = [{"id": i, "type": 5} for i in range(300)]  # two errors per node
    r = client.post("/api/graphs", json={"version": 1, "nodes": nodes})
    detail = r.json()["detail"]
    assert r.status_code == 422 and len(detail) == 100
    assert detail[-1] == {"type": "too_many_errors", "loc": [], "msg": "… and 501 more"}
    r = client.post("/api/runs", json={"graph": chain([2], ("o", "Linear", {"out_features": 1})),
                                       "loss": "cross_entropy", "dataset": {"name": "moons", "params": {f"k{i}": i for i in range(150)}}})
    d = r.json()["detail"]
    assert r.status_code == 422 and len(d["errors"]) == 100
    assert d["errors"][-1]["node"] is None and d["errors"][-1]["message"].startswith("… and ")
    assert all(len(e["message"]) < 1100 for e in d["errors"])


def test_the_weights_upload_and_a_run_resolve_graph_id_alike(client):
    gid = client.post("/api/graphs", json=mlp(2, 4, 2)).json()["id"]
    sd = {"hidden.weight": (4, 2), "hidden.bias": (4,), "out.weight": (2, 4), "out.bias": (2,)}
    blob = st_save({k: torch.zeros(s) for k, s in sd.items()})
    assert client.post("/api/weights", files={"file": ("w.safetensors", blob)}, data={"graph_id": gid}).status_code == 201
    for r in (client.post("/api/weights", files={"file": ("w.safetensors", blob)}, data={"graph_id": "nope"}),
              client.post("/api/runs", json={"graph_id": "nope", "dataset": {"name": "moons"}, "loss": "cross_entropy"})):
        assert r.status_code == 422
        assert r.json()["detail"]["errors"] == [{"node": None, "field": "graph_id", "message": "no saved design with id 'nope'"}]


# ------------------------------------------------------------------ the store's import circle
def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):  # function-level imports count too
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_store_and_run_tables_import_no_circle():
    files = [*(BACKEND / "store").glob("*.py"), BACKEND / "runs" / "tables.py", BACKEND / "runs" / "store.py"]
    mods = {"blocklab." + str(f.relative_to(BACKEND.parent)).removeprefix("blocklab/").removesuffix(".py")
            .replace("/", ".").removesuffix(".__init__"): f for f in files}
    graph = {m: {n for n in _imports(f) if n in mods and n != m} for m, f in mods.items()}

    def cycle_from(start):
        stack = [(start, [start])]
        while stack:
            m, path = stack.pop()
            for n in graph[m]:
                if n == start:
                    return path + [n]
                if n not in path:
                    stack.append((n, path + [n]))
        return None

    assert [c for m in graph if (c := cycle_from(m))] == []
