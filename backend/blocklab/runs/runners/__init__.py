"""Runners: where a run's training happens. The run manager owns the run rows, the stream hub
and the batch writer; a runner only executes runs and reports back through a `Sink`.

- `local` (the default): one worker process per run, from warm slots (runners/local.py).
- `ray`: one Ray job per run on a Ray cluster (runners/ray.py), chosen by
  BLOCKLAB_RUNNER=http://<head>:8265 (the Ray dashboard) or ray://<head>.

Every runner implements the same small interface (`Runner` below). Events it reports are
numbered by the hub when published, so the stream, the metrics endpoint and the stored
history look the same whatever ran the run.
"""

from __future__ import annotations

from typing import Protocol

from blocklab.runs.plan import Plan


class Refused(Exception):
    """The runner cannot ever run this plan (e.g. the cluster has no GPU): reject it up front."""

    def __init__(self, message: str, errors: list[dict]):
        super().__init__(message)
        self.message, self.errors = message, errors


class Sink(Protocol):
    """What a runner reports to (the run manager). Every method is safe from any thread."""

    def started(self, run_id: str) -> None: ...
    def event(self, run_id: str, kind: str, event: dict) -> None: ...
    def event_text(self, run_id: str, kind: str, rest: str) -> None: ...  # protocol.Follower
    def progress(self, run_id: str, summary: dict) -> None: ...
    def finished(self, run_id: str, status: str, error: str | None, summary: dict) -> None: ...


class Runner(Protocol):
    name: str

    def start(self) -> None:
        """Begin accepting runs (threads, connections)."""

    def reconcile(self, leftover: list[str]) -> None:
        """At startup: the runs the previous server left queued/running (already marked
        `interrupted` in the database). A runner re-attaches what it can, or cleans up."""

    def cuda_available(self) -> bool:
        """Whether runs here can get a CUDA GPU (what device "auto"/"cuda" should be checked against)."""

    def check(self, plan: Plan) -> None:
        """Raise Refused when this plan can never run here; called before the run exists."""

    def submit(self, run_id: str, plan: Plan) -> None:
        """Queue the run; submitting the same run id again does nothing."""

    def cancel(self, run_id: str) -> bool:
        """Ask the run to stop; True when it was live here. It reports `finished` later."""

    def status(self, run_id: str) -> str | None:
        """queued/running while live here, else None."""

    def queued(self) -> int:
        """Runs waiting for a slot (for back-pressure)."""

    def forget(self, run_id: str) -> None:
        """The run's end is stored: drop what the runner still holds of it."""

    def purge(self, run_id: str) -> None:
        """The run is deleted: remove what the runner keeps of it elsewhere (a Ray job's record
        holds its design and config). Best effort: the run is gone from the API either way."""

    def shutdown(self, timeout: float) -> None:
        """Stop accepting runs; live local runs finish as `interrupted`."""


def make(settings, sink: Sink) -> Runner:
    target = (settings.runner or "local").strip()
    if target == "local":
        from blocklab.runs.runners.local import LocalRunner

        return LocalRunner(settings, sink)
    from blocklab.runs.runners.ray import RayRunner, dashboard_url

    return RayRunner(settings, sink, dashboard_url(target))
