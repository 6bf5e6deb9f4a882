"""Runtime settings, read once from the environment (BLOCKLAB_*) or the CLI."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("BLOCKLAB_DATA_DIR", "data")))
    # A full SQLAlchemy URL (e.g. postgresql+psycopg://...) overrides the SQLite file.
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    max_nodes: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_NODES", 5000))
    max_params: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_PARAMS", 100_000_000))
    max_concurrent_runs: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_CONCURRENT_RUNS", 2))
    max_queued_runs: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_QUEUED_RUNS", 64))
    # Training threads share the cores: by default each concurrent run gets its share as
    # torch intra-op threads (oversubscribed OpenMP threads spin and slow small models 10x).
    torch_threads: int = field(default_factory=lambda: _int("BLOCKLAB_TORCH_THREADS", 0))
    flush_interval: float = field(default_factory=lambda: float(os.environ.get("BLOCKLAB_FLUSH_INTERVAL", 0.25)))
    checkpoint_interval: float = field(default_factory=lambda: float(os.environ.get("BLOCKLAB_CHECKPOINT_INTERVAL", 30)))
    stream_queue: int = field(default_factory=lambda: _int("BLOCKLAB_STREAM_QUEUE", 256))
    stream_hopeless_after: float = field(default_factory=lambda: float(os.environ.get("BLOCKLAB_STREAM_HOPELESS_AFTER", 15)))
    max_upload_bytes: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))
    max_body_bytes: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_BODY_BYTES", 16 * 1024 * 1024))
    # Wall-clock seconds a run may train (0: no limit); past it the run fails, weights kept.
    max_run_seconds: float = field(default_factory=lambda: float(os.environ.get("BLOCKLAB_MAX_RUN_SECONDS", 6 * 3600)))
    # Live websocket viewers per run; more get close code 4429.
    max_viewers_per_run: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_VIEWERS_PER_RUN", 64))
    # Training memory estimated from shapes (weights, grads, optimizer state, activations).
    max_train_bytes: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_TRAIN_BYTES", 8 * 1024**3))
    # Address space a local CPU run's worker process may add beyond its data (0: four times
    # the design's training-memory estimate, at least 512 MiB); past it the run fails.
    max_worker_bytes: int = field(default_factory=lambda: _int("BLOCKLAB_MAX_WORKER_BYTES", 0))
    # When set, every /api call and stream needs `Authorization: Bearer <token>`.
    token: str | None = field(default_factory=lambda: os.environ.get("BLOCKLAB_TOKEN") or None)
    # Comma-separated origins allowed by CORS; empty means CORS stays off.
    cors_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.strip() for o in os.environ.get("BLOCKLAB_CORS_ORIGINS", "").split(",") if o.strip())
    )
    # Where runs train: "local" (worker threads in this server, the default), or a Ray cluster:
    # "http://<head>:8265" (its dashboard, which serves the Jobs API) or "ray://<head>[:port]"
    # (the same head; Blocklab talks to its dashboard on port 8265, never as a Ray Client).
    runner: str = field(default_factory=lambda: os.environ.get("BLOCKLAB_RUNNER", "").strip() or "local")
    # The Python that Ray jobs run `-m blocklab.runs.ray_job` with, on the cluster's nodes.
    ray_python: str = field(default_factory=lambda: os.environ.get("BLOCKLAB_RAY_PYTHON", "python"))
    # How long the Ray cluster may stay unreachable before a live run there is marked failed.
    ray_lost_after: float = field(default_factory=lambda: float(os.environ.get("BLOCKLAB_RAY_LOST_AFTER", 30)))
    # The data dir is the same path on every Ray node (one machine, NFS): jobs read uploaded
    # datasets and write checkpoints there instead of sending the weights back in their log.
    ray_shared_data_dir: bool = field(
        default_factory=lambda: os.environ.get("BLOCKLAB_RAY_SHARED_DATA_DIR", "").lower() in ("1", "true", "yes"))

    def __post_init__(self):
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'blocklab.db'}"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)
