"""A run observer (sweeps use one) hears of a run's end only once its final row is stored, so
whatever it reads back agrees with what it was told (a sweep once reported a pruned trial
whose run still read `queued`)."""

from __future__ import annotations

import threading

from blocklab.runs import store
from runs_fixtures import create, long_run, wait


def test_observers_hear_of_the_end_after_it_is_stored(client):
    manager = client.app.state.runs
    seen, done = {}, threading.Event()

    def observe(rid, status, summary):
        if status != "running":
            seen[rid] = (status, store.get(client.app.state.engine, rid, full=False)["status"])
            done.set()

    manager.observers.append(observe)
    rid = create(client, long_run())
    client.post(f"/api/runs/{rid}/stop")  # stopped while queued or just started: the quickest end
    assert done.wait(30)
    assert seen[rid][0] == seen[rid][1] == "stopped", seen
    wait(client, rid)
