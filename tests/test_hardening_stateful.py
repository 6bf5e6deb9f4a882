"""Stateful: designs, datasets and runs driven by a hypothesis state machine, with concurrent
writers on one row at a time. Every answer is below 500, and reads agree with a model of
what must exist: a write that answered 2xx is visible, a delete that answered 204 is gone.
"""

from __future__ import annotations

import concurrent.futures as cf
import tempfile
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from blocklab.app import create_app
from blocklab.settings import Settings
from graphs import chain
from runs_fixtures import FINISHED, mlp, wait

_app = create_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="blocklab-state-")), max_concurrent_runs=1))
_client = TestClient(_app, raise_server_exceptions=False)
_pool = cf.ThreadPoolExecutor(4)


@pytest.fixture(scope="module", autouse=True)
def _lifespan():
    with _client:  # the app's startup and shutdown: its run manager stops with the module
        yield
_names = iter(range(10**9))


def ok(r, *codes):
    assert r.status_code < 500, (r.request.method, r.request.url, r.status_code, r.text[:300])
    assert r.status_code in codes, (r.request.method, r.request.url, r.status_code, r.text[:300])
    return r


def together(*calls):
    """Run the calls at the same moment (a barrier), each on its own thread; their responses."""
    start = threading.Barrier(len(calls))

    def go(call):
        start.wait()
        return call()

    return [f.result() for f in [_pool.submit(go, c) for c in calls]]


def shape_of(d: dict) -> list:
    """What a write decides, independent of the defaults the store fills in."""
    return [(n["id"], n["type"], n.get("params", {})) for n in d["nodes"]]


def doc(width: int, name: str = "d") -> dict:
    return chain([2], ("h", "Linear", {"out_features": width}), ("a", "ReLU"), ("o", "Linear", {"out_features": 2}),
                 name=name)


class Lab(RuleBasedStateMachine):
    designs = Bundle("designs")
    runs = Bundle("runs")

    def __init__(self):
        super().__init__()
        self.c = _client
        self.known: dict[str, dict] = {}  # design id -> its last written document
        self.datasets: dict[str, list[int]] = {}  # name -> input_shape
        self.gone: set[str] = set()

    @rule(target=designs, width=st.integers(1, 8))
    def create_design(self, width):
        d = doc(width, f"d{width}")
        r = ok(self.c.post("/api/graphs", json=d), 201)
        self.known[r.json()["id"]] = d
        return r.json()["id"]

    @rule(gid=designs, widths=st.lists(st.integers(1, 8), min_size=2, max_size=3))
    def concurrent_puts(self, gid, widths):
        docs = [doc(w, f"p{w}") for w in widths]
        rs = together(*[lambda d=d: self.c.put(f"/api/graphs/{gid}", json=d) for d in docs])
        for r in rs:
            ok(r, 200, 404)
        if gid in self.known:
            assert all(r.status_code == 200 for r in rs)
            stored = ok(self.c.get(f"/api/graphs/{gid}"), 200).json()
            assert shape_of(stored) in [shape_of(d) for d in docs]  # one whole write won, never a mix
            self.known[gid] = next(d for d in docs if shape_of(d) == shape_of(stored))

    @rule(gid=consumes(designs), width=st.integers(1, 8))
    def put_racing_delete(self, gid, width):
        put, delete = together(lambda: self.c.put(f"/api/graphs/{gid}", json=doc(width)),
                               lambda: self.c.delete(f"/api/graphs/{gid}"))
        ok(put, 200, 404)
        ok(delete, 204, 404)
        if gid in self.known:
            assert delete.status_code == 204
        self.known.pop(gid, None)
        self.gone.add(gid)

    @rule(gid=designs)
    def run_a_design(self, gid):
        body = {"graph_id": gid, "dataset": {"name": "moons", "params": {"n": 40}}, "loss": "cross_entropy",
                "epochs": 1, "batch_size": 20}
        r = ok(self.c.post("/api/runs", json=body), 201, 422)
        if gid in self.known:
            assert r.status_code == 201
        else:
            assert r.json()["detail"]["errors"][0]["field"] == "graph_id"

    @rule(target=runs)
    def start_run(self):
        body = {"graph": mlp(2, 4, 2), "dataset": {"name": "moons", "params": {"n": 40}}, "loss": "cross_entropy",
                "epochs": 1, "batch_size": 20}
        return ok(self.c.post("/api/runs", json=body), 201).json()["id"]

    @rule(rid=consumes(runs))
    def deletes_racing(self, rid):
        wait(self.c, rid, FINISHED)
        codes = sorted(r.status_code for r in together(*[lambda: self.c.delete(f"/api/runs/{rid}")] * 3))
        assert codes == [204, 404, 404]
        ok(self.c.get(f"/api/runs/{rid}"), 404)
        ok(self.c.get(f"/api/runs/{rid}/metrics"), 404)

    @rule(widths=st.lists(st.integers(1, 6), min_size=2, max_size=4))
    def concurrent_uploads_of_one_name(self, widths):
        name = f"ds{next(_names)}"

        def up(w):
            cols = [f"f{j}" for j in range(w)] + ["t"]
            text = "\n".join([",".join(cols)] + [",".join([str(i + j) for j in range(w)] + [str(i % 2)])
                                                 for i in range(40)])
            return self.c.post("/api/datasets", files={"file": (f"{name}.csv", text)}, data={"target": "t", "name": name})

        rs = together(*[lambda w=w: up(w) for w in widths])
        codes = sorted(r.status_code for r in rs)
        assert codes == [201] + [409] * (len(widths) - 1), [r.text[:200] for r in rs]
        self.datasets[name] = next(r for r in rs if r.status_code == 201).json()["input_shape"]

    @invariant()
    def reads_agree(self):
        listed = {d["id"] for d in ok(self.c.get("/api/graphs"), 200).json()}
        assert set(self.known) <= listed and not (self.gone & listed)
        for gid, d in self.known.items():
            assert shape_of(ok(self.c.get(f"/api/graphs/{gid}"), 200).json()) == shape_of(d)
        shapes = {d["name"]: d["input_shape"] for d in ok(self.c.get("/api/datasets"), 200).json()}
        for name, shape in self.datasets.items():
            assert shapes[name] == shape
            s = ok(self.c.get(f"/api/datasets/{name}/samples", params={"limit": 3}), 200).json()
            assert s["input_shape"] == shape and len(s["inputs"][0]) == shape[0]


Lab.TestCase.settings = settings(max_examples=8, stateful_step_count=8, deadline=None,
                                 suppress_health_check=list(HealthCheck))
test_designs_datasets_and_runs_with_concurrent_writers = Lab.TestCase
