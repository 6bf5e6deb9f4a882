"""Run storage: one row per run, one row per stream message (its exact JSON text)."""

from __future__ import annotations

import sqlalchemy as sa

from blocklab.store.metadata import metadata

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("config", sa.Text, nullable=False),  # TrainConfig JSON (+ init_weights)
    sa.Column("graph", sa.Text, nullable=False),  # the graph document JSON
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("started_at", sa.String(40)),
    sa.Column("finished_at", sa.String(40)),
    sa.Column("error", sa.Text),
    sa.Column("summary", sa.Text),  # final metrics JSON
    sa.Column("device", sa.String(16)),
    sa.Column("graph_id", sa.String(64), index=True),  # the saved design this run trained, if any
)

run_events = sa.Table(
    "run_events",
    metadata,
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # the message exactly as streamed
)
