"""The Python client against a real server: design, train, stream, download, load."""

from __future__ import annotations

import io

import pytest
import torch
from safetensors.torch import load as load_safetensors

from blocklab.client import Blocklab, BlocklabError
from graphs import chain, load_exported, template
from live_server import live_server


@pytest.fixture
def bl(settings):
    with live_server(settings) as url, Blocklab(url) as client:
        yield client


def test_client_round_trip(bl):
    design = template("linear_regression")
    assert bl.validate(design)["ok"]
    saved = bl.save_graph(design)
    assert bl.get_graph(saved["id"])["graph"]["name"] == design["name"]
    run = bl.start_run(graph_id=saved["id"], dataset="synthetic_regression",
                       dataset_params={"w": [2, -3.4], "b": 4.2, "n": 1000, "noise": 0.01},
                       loss="mse", optimizer="sgd", lr=0.03, epochs=3, batch_size=10)
    msgs = list(run.stream())
    seqs = [m["seq"] for m in msgs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # gapless
    assert msgs[-1] == {**msgs[-1], "type": "status", "status": "completed"}
    assert run.wait()["status"] == "completed"

    Model = load_exported(bl.export_python(design))
    sd = load_safetensors(run.state_dict_bytes("safetensors"))
    model = Model()
    model.load_state_dict(sd, strict=True)
    torch.testing.assert_close(model.net.weight, torch.tensor([[2.0, -3.4]]), atol=0.05, rtol=0)
    pt = torch.load(io.BytesIO(run.state_dict_bytes("pt")), weights_only=True)
    Model().load_state_dict(pt, strict=True)
    out = run.predict([[1.0, 1.0]])
    assert abs(out["outputs"][0][0] - (2 - 3.4 + 4.2)) < 0.1


def test_client_errors_carry_the_servers_detail(bl):
    with pytest.raises(BlocklabError) as e:
        bl.start_run(chain([2], ("a", "Linear", {"in_features": 3})), dataset="moons")
    assert e.value.status == 422
    assert e.value.detail["errors"][0]["node"] == "a"
    with pytest.raises(BlocklabError) as e:
        bl.get_graph("nope")
    assert e.value.status == 404
