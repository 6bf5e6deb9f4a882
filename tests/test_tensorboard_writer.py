"""TensorBoard event files: a real run's messages written by TBWriter, read back with
TensorBoard's own EventAccumulator, and the download route's zip."""

from __future__ import annotations

import io
import zipfile

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from runs_fixtures import create, mlp, wait
from blocklab.graph.analyze import Limits
from blocklab.runs.plan import RunCreate, prepare
from blocklab.runs.tensorboard import SUBDIR, TBWriter, event_files
from blocklab.runs.worker import execute


def _body(**kw) -> dict:
    return {"graph": mlp(2, 8, 2), "dataset": {"name": "moons", "params": {"n": 200}}, "loss": "cross_entropy",
            "optimizer": {"name": "adam", "lr": 0.05}, "epochs": 3, "batch_size": 50, "device": "cpu",
            "stats_every": 2} | kw


def _read(folder) -> EventAccumulator:
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_a_runs_messages_become_scalars_histograms_and_text(tmp_path):
    body = RunCreate.model_validate(_body())
    plan = prepare(body, body.graph, Limits(), tmp_path)
    msgs: list[tuple[str, dict]] = []
    tb = TBWriter(tmp_path / SUBDIR, graph=plan.doc, source=plan.source, stats_interval=0)  # every stats message

    def emit(kind, ev):
        msgs.append((kind, dict(ev)))
        tb.write(kind, ev)

    out = execute(plan, lambda: False, emit, None)
    tb.close()
    assert out.status == "completed"
    acc = _read(tmp_path / SUBDIR)
    tags = acc.Tags()
    epochs = [ev for k, ev in msgs if k == "epoch" and ev["epoch"] > 0]
    got = acc.Scalars("epoch/val_loss")
    # One point per epoch message (epoch 0 has no train_loss), at the message's step.
    assert [s.step for s in got][-3:] == [ev["step"] for ev in epochs]
    assert [s.value for s in got][-3:] == pytest.approx([ev["val_loss"] for ev in epochs], rel=1e-6)
    assert [s.value for s in acc.Scalars("epoch/val_accuracy")][-1] == pytest.approx(epochs[-1]["val_accuracy"])
    steps = [ev for k, ev in msgs if k == "step"]
    assert [s.value for s in acc.Scalars("train/loss_step")] == pytest.approx([ev["loss"] for ev in steps], rel=1e-6)

    stats = [ev for k, ev in msgs if k == "stats"]
    assert stats, "stats_every=2 samples the layers"
    assert {"weights/hidden.weight", "weights/out.bias"} <= set(tags["histograms"])
    h = acc.Histograms("weights/hidden.weight")
    layer = next(l for l in stats[-1]["layers"] if l["name"] == "hidden.weight")
    assert len(h) == len(stats) and h[-1].step == stats[-1]["step"]
    assert list(h[-1].histogram_value.bucket) == pytest.approx(layer["hist"]["counts"])
    assert list(h[-1].histogram_value.bucket_limit) == pytest.approx(layer["hist"]["edges"][1:])
    assert h[-1].histogram_value.min == pytest.approx(layer["min"])
    assert "grad_norm/hidden.weight" in tags["scalars"]

    texts = {t: acc.Tensors(t)[0].tensor_proto.string_val[0].decode() for t in tags["tensors"]}
    assert '"out_features": 8' in texts["graph/document/text_summary"]
    assert "class Model(nn.Module)" in texts["graph/pytorch/text_summary"]


def test_layer_statistics_are_written_at_most_once_per_interval(tmp_path):
    tb = TBWriter(tmp_path, stats_interval=3600)
    layer = {"name": "w", "min": -1.0, "max": 1.0, "mean": 0.0, "std": 0.5, "grad_norm": 0.1,
             "hist": {"edges": [-1 + 2 * j / 24 for j in range(25)], "counts": [1] * 24}}
    for step in range(5):
        tb.write("stats", {"step": step, "layers": [layer]})
    tb.close()
    acc = _read(tmp_path)
    assert [h.step for h in acc.Histograms("weights/w")] == [0] and [s.step for s in acc.Scalars("grad_norm/w")] == [0]


def test_bad_messages_are_skipped_not_raised(tmp_path):
    tb = TBWriter(tmp_path)
    tb.write("epoch", {"epoch": 1, "step": 3, "train_loss": None, "val_loss": float("nan")})
    tb.write("stats", {"step": 3, "layers": [{"name": "w", "min": None, "max": None, "mean": None, "std": None,
                                              "hist": {"edges": [None] * 25, "counts": [0] * 24}}]})
    tb.write("grid", {"step": 3})
    tb.close()
    acc = _read(tmp_path)
    assert acc.Tags()["scalars"] == ["epoch/epoch"] and acc.Tags()["histograms"] == []


def test_runs_download_their_event_files(client, settings):
    rid = create(client, _body(epochs=1))
    assert wait(client, rid)["status"] == "completed"
    assert event_files(settings.data_dir / "runs" / rid)  # written by the run's worker (runs.worker.execute)
    r = client.get(f"/api/runs/{rid}/tensorboard")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(r.content))
    names = z.namelist()
    assert names and all(n.startswith(f"{rid[:8]}/events.out.tfevents.") for n in names)
    z.extractall(settings.data_dir / "unzipped")
    acc = _read(settings.data_dir / "unzipped" / rid[:8])
    assert acc.Scalars("epoch/val_loss")[-1].value == pytest.approx(wait(client, rid)["metrics"]["val_loss"])
    assert client.get("/api/runs/nope/tensorboard").status_code == 404


def test_a_run_without_event_files_answers_409(client, settings):
    rid = create(client, _body(epochs=1))
    wait(client, rid)
    for f in event_files(settings.data_dir / "runs" / rid):
        f.unlink()
    r = client.get(f"/api/runs/{rid}/tensorboard")
    assert r.status_code == 409 and "no TensorBoard event files" in r.json()["detail"]
