"""Saved designs: the graph document is stored verbatim as JSON text."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from blocklab.store.metadata import metadata

designs = sa.Table(
    "designs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("doc", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _row(r) -> dict:
    return {"id": r.id, "name": r.name, "graph": json.loads(r.doc), "created_at": r.created_at, "updated_at": r.updated_at}


def create(engine: sa.Engine, name: str, doc: dict) -> dict:
    now = _now()
    values = {"id": uuid.uuid4().hex, "name": name, "doc": json.dumps(doc), "created_at": now, "updated_at": now}
    with engine.begin() as c:
        c.execute(designs.insert().values(**values))
    # What was written, not a second read: a DELETE racing in after the insert must not turn
    # this into None.
    return {"id": values["id"], "name": name, "graph": json.loads(values["doc"]), "created_at": now, "updated_at": now}


def get(engine: sa.Engine, design_id: str) -> dict | None:
    with engine.connect() as c:
        r = c.execute(designs.select().where(designs.c.id == design_id)).first()
    return _row(r) if r else None


def list_all(engine: sa.Engine) -> list[dict]:
    cols = [designs.c.id, designs.c.name, designs.c.created_at, designs.c.updated_at]
    with engine.connect() as c:
        rows = c.execute(sa.select(*cols).order_by(designs.c.updated_at.desc())).all()
    return [dict(r._mapping) for r in rows]


def update(engine: sa.Engine, design_id: str, name: str, doc: dict) -> dict | None:
    """The updated design, or None when there is no such row (any more): one transaction
    writes and reads back, so a concurrent DELETE is either before (None) or after."""
    with engine.begin() as c:
        n = c.execute(
            designs.update().where(designs.c.id == design_id).values(name=name, doc=json.dumps(doc), updated_at=_now())
        ).rowcount
        r = c.execute(designs.select().where(designs.c.id == design_id)).first() if n else None
    return _row(r) if r else None


def delete(engine: sa.Engine, design_id: str) -> bool:
    with engine.begin() as c:
        return c.execute(designs.delete().where(designs.c.id == design_id)).rowcount > 0
