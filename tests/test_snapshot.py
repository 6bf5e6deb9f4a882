"""Statistics snapshots off the training thread (train/snapshot.py) give exactly what the same
statistics give on the training thread, for the step they were taken at, however far training
has gone on by the time they are read."""

import copy
import threading

import pytest
import torch
from torch import nn

from blocklab.train.snapshot import Snapshots
from blocklab.train.stats import ActivationProbe, ParamStats


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))


def _step(net, opt, x, y):
    opt.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(net(x), y).backward()


# 0: every snapshot on the statistics thread; inf: every one on the training thread (a cheap
# snapshot's way): the same messages either way.
BOTH = pytest.mark.parametrize("inline_max", [0.0, float("inf")], ids=["thread", "inline"])


@BOTH
def test_a_snapshot_is_the_step_it_was_taken_at(inline_max):
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    ref, live = _net(), _net()
    ref_opt, live_opt = (torch.optim.Adam(m.parameters(), lr=0.1) for m in (ref, live))
    sample = x[:8]

    # Reference: statistics on the training thread, as the loop used to take them.
    _step(ref, ref_opt, x, y)
    ps = ParamStats(ref)
    ps.before_step()
    ref_opt.step()
    want_layers = ps.after_step()
    want_nodes = ActivationProbe(ref, sample).run()

    snaps = Snapshots(live, sample, inline_max)
    try:
        _step(live, live_opt, x, y)
        snaps.before()
        live_opt.step()
        gate = threading.Event()
        if not inline_max:
            snaps.pool.submit(gate.wait)  # holds the statistics thread: it computes only after training went on
        snaps.after(1)
        for _ in range(5):  # weights, BatchNorm's running stats and grads all move on
            _step(live, live_opt, x, y)
            live_opt.step()
        gate.set()
        stats, acts = list(snaps.drain())
    finally:
        snaps.close()
    assert stats == {"type": "stats", "step": 1, "layers": want_layers}
    assert acts == {"type": "activations", "step": 1, "nodes": want_nodes}
    assert all(r["update_ratio"] is not None and r["grad_norm"] > 0 for r in stats["layers"])
    assert live.training  # the probe ran on the shadow copy: the live model never left train mode
    assert (snaps._pool is None) == (inline_max > 0)  # inline: no thread was started


def test_the_shadow_copy_keeps_tied_weights_once():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, nn.ReLU(), lin)
    snaps = Snapshots(net, torch.randn(2, 4))
    try:
        net(torch.randn(3, 4)).sum().backward()
        snaps.before()
        snaps.after(7)
        layers = next(iter(snaps.drain()))["layers"]
    finally:
        snaps.close()
    assert [r["name"] for r in layers] == ["0.weight", "0.bias"]
    assert snaps.shadow[0] is snaps.shadow[2]


def test_every_snapshot_arrives_before_its_epoch_ends():
    from blocklab.data import BUILTIN, load
    from blocklab.train.config import TrainConfig
    from blocklab.train.losses import LOSSES
    from blocklab.train.loop import Job, train

    kind = BUILTIN["moons"]
    data = load(kind, kind.params.model_validate({"n": 256}))
    net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    cfg = TrainConfig.model_validate({"dataset": {"name": "moons"}, "loss": "cross_entropy", "epochs": 2, "batch_size": 32, "device": "cpu",
                                      "stats_every": 1, "report_interval": 10})
    msgs = list(train(Job(copy.deepcopy(net), data, LOSSES["cross_entropy"], cfg, torch.device("cpu"), (2,)),
                      lambda: False))
    types = [m["type"] for m in msgs]
    steps = [m["step"] for m in msgs if m["type"] == "stats"]
    ends = [m["step"] for m in msgs if m["type"] == "epoch"]
    assert steps == list(range(1, ends[-1] + 1))  # stats_every=1: one per step, none skipped, in order
    for end, i in zip(ends, [k for k, t in enumerate(types) if t == "epoch"]):
        assert max(m["step"] for m in msgs[:i] if m["type"] == "stats") == end
    assert types.count("activations") == len(steps)


class _LongLoop(nn.Module):
    """A forward that loops as a built CustomLayer does (custom/cancel.rounds)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        from blocklab.custom import cancel

        for _ in cancel.rounds(2_000_000):
            x = x + 0
        return self.lin(x)


@BOTH
def test_a_stopped_run_drops_its_snapshot_instead_of_waiting_for_the_probe(inline_max):
    from blocklab.custom import cancel

    stop = False
    cancel.set_check(lambda: stop)  # as runs/worker.py sets it on the training thread
    try:
        net = _LongLoop()
        snaps = Snapshots(net, torch.randn(2, 2), inline_max)
        net.lin(torch.randn(3, 2)).sum().backward()
        snaps.before()
        stop = True  # Stop arrives while the snapshot is due
        snaps.after(1)
        assert list(snaps.drain()) == []  # the probe's loop asked the run's check and gave up
        snaps.close()
    finally:
        cancel.set_check(None)
