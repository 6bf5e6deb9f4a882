"""A thin typed client for the Blocklab REST API and run stream.

    from blocklab.client import Blocklab

    bl = Blocklab("http://127.0.0.1:8000")            # token=... when BLOCKLAB_TOKEN is set
    report = bl.validate(design)                     # {"ok", "errors", "nodes", "total_params"}
    run = bl.start_run(design, dataset="moons", loss="cross_entropy", epochs=20)
    for msg in run.stream():                          # step / epoch / stats / status messages
        if msg["type"] == "epoch":
            print(msg["epoch"], msg["val_loss"])
    run.save_weights("moons.safetensors")
    open("model.py", "w").write(bl.export_python(design))
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator, Literal

import httpx

Graph = dict[str, Any]
Json = dict[str, Any]
FINAL = {"completed", "failed", "stopped", "interrupted"}


class BlocklabError(Exception):
    """A non-2xx answer: `status` and the server's `detail` (errors name node and field)."""

    def __init__(self, status: int, detail: Any):
        self.status, self.detail = status, detail
        super().__init__(f"HTTP {status}: {detail}")


class Blocklab:
    def __init__(self, url: str = "http://127.0.0.1:8000", token: str | None = None, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url + "/api", headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Blocklab":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw) -> httpx.Response:
        r = self.http.request(method, path, **kw)
        if r.status_code >= 400:
            try:
                detail = r.json().get("detail", r.text)
            except ValueError:
                detail = r.text
            raise BlocklabError(r.status_code, detail)
        return r

    # ---------------------------------------------------------------- catalog and designs
    def blocks(self) -> list[Json]:
        return self._call("GET", "/blocks").json()

    def options(self) -> Json:
        """The training options: {optimizers, losses, schedules, metrics}, each [{name, doc, params_schema, ...}]."""
        return self._call("GET", "/options").json()

    def templates(self) -> list[Json]:
        return self._call("GET", "/templates").json()

    def datasets(self) -> list[Json]:
        return self._call("GET", "/datasets").json()

    def validate(self, graph: Graph) -> Json:
        return self._call("POST", "/graphs/validate", json=graph).json()

    def export_python(self, graph: Graph) -> str:
        return self._call("POST", "/export/python", json=graph).text

    def save_graph(self, graph: Graph) -> Json:
        return self._call("POST", "/graphs", json=graph).json()

    def update_graph(self, graph_id: str, graph: Graph) -> Json:
        return self._call("PUT", f"/graphs/{graph_id}", json=graph).json()

    def get_graph(self, graph_id: str) -> Json:
        return self._call("GET", f"/graphs/{graph_id}").json()

    def list_graphs(self) -> list[Json]:
        return self._call("GET", "/graphs").json()

    def delete_graph(self, graph_id: str) -> None:
        self._call("DELETE", f"/graphs/{graph_id}")

    def upload_csv(self, path: str | Path, target: str, name: str | None = None,
                   task: Literal["auto", "regression", "classification"] = "auto") -> Json:
        p = Path(path)
        data = {"target": target, "task": task} | ({"name": name} if name else {})
        return self._call("POST", "/datasets", files={"file": (p.name, p.read_bytes(), "text/csv")}, data=data).json()

    # ---------------------------------------------------------------- runs
    def start_run(self, graph: Graph | None = None, *, graph_id: str | None = None, dataset: str = "moons",
                  dataset_params: Json | None = None, loss: str | Json = "cross_entropy", optimizer: str | None = None,
                  lr: float | None = None, epochs: int | None = None, batch_size: int | None = None,
                  device: str | None = None, seed: int | None = None, **extra: Any) -> "Run":
        """Queue a run; `extra` passes any other field of POST /api/runs (schedule, ...) and
        `optimizer_params` the optimizer's own (momentum, betas, ...). What is left out (None)
        gets the server's default: see its OpenAPI schema, and `options()` for the optimizer."""
        opt = extra.pop("optimizer_params", {}) | ({"name": optimizer} if optimizer else {}) | (
            {"lr": lr} if lr is not None else {})
        given = {"optimizer": opt or None, "epochs": epochs, "batch_size": batch_size, "device": device, "seed": seed}
        body = {"dataset": {"name": dataset, "params": dataset_params or {}}, "loss": loss,
                **{k: v for k, v in given.items() if v is not None}, **extra}
        body |= {"graph": graph} if graph is not None else {"graph_id": graph_id}
        return Run(self, self._call("POST", "/runs", json=body).json()["id"])

    def run(self, run_id: str) -> "Run":
        return Run(self, run_id)

    def runs(self) -> list[Json]:
        return self._call("GET", "/runs").json()

    def delete_run(self, run_id: str) -> None:
        """Delete a finished run with its history and weights. BlocklabError 404 for an unknown
        run, 409 while it is queued or running (stop it and wait for it first)."""
        self._call("DELETE", f"/runs/{run_id}")


class Run:
    """A handle on one run: status, stream, stop, weights and inference."""

    def __init__(self, client: Blocklab, run_id: str):
        self.client, self.id = client, run_id

    def __repr__(self) -> str:
        return f"Run({self.id!r})"

    def info(self) -> Json:
        return self.client._call("GET", f"/runs/{self.id}").json()

    @property
    def status(self) -> str:
        return self.info()["status"]

    def stop(self) -> Json:
        return self.client._call("POST", f"/runs/{self.id}/stop").json()

    def metrics(self, after: int = 0, type: str | None = None) -> list[Json]:
        params = {"after": after} | ({"type": type} if type else {})
        return self.client._call("GET", f"/runs/{self.id}/metrics", params=params).json()

    def stream(self, after: int = 0) -> Iterator[Json]:
        """Every message with seq > after, live, until the run's final status; resumes gaplessly
        from the last seq seen if the connection drops."""
        from websockets.exceptions import ConnectionClosed
        from websockets.sync.client import connect

        base = self.client.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        last = after
        while True:
            query = f"?after={last}" + (f"&token={self.client.token}" if self.client.token else "")
            try:
                with connect(f"{base}/api/runs/{self.id}/stream{query}", max_size=None) as ws:
                    for text in ws:
                        msg = json.loads(text)
                        last = msg["seq"]
                        yield msg
                        if msg["type"] == "status" and msg["status"] in FINAL:
                            return
            except (ConnectionClosed, OSError):
                time.sleep(0.2)
            if self.status in FINAL and not self.metrics(after=last):
                return

    def wait(self, timeout: float = 3600, poll: float = 0.25) -> Json:
        end = time.monotonic() + timeout
        while True:
            info = self.info()
            if info["status"] in FINAL:
                return info
            if time.monotonic() > end:
                raise TimeoutError(f"run {self.id} still {info['status']} after {timeout} s")
            time.sleep(poll)

    def state_dict_bytes(self, format: Literal["pt", "safetensors"] = "safetensors",
                         which: Literal["last", "best"] = "last") -> bytes:
        params = {"format": format, "which": which}
        return self.client._call("GET", f"/runs/{self.id}/state_dict", params=params).content

    def save_weights(self, path: str | Path, which: Literal["last", "best"] = "last") -> Path:
        """Write the weights; the format follows the suffix (.pt or .safetensors)."""
        p = Path(path)
        p.write_bytes(self.state_dict_bytes("pt" if p.suffix == ".pt" else "safetensors", which))
        return p

    def predict(self, inputs: list[Any]) -> Json:
        return self.client._call("POST", f"/runs/{self.id}/predict", json={"inputs": inputs}).json()
