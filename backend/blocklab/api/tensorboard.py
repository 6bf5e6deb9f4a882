"""GET /api/runs/{id}/tensorboard: a run's TensorBoard event files, as a zip."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from blocklab.api.errors import responses
from blocklab.api.deps import Cfg
from blocklab.api.run_deps import Run
from blocklab.runs import checkpoints
from blocklab.runs.tensorboard import zip_events

router = APIRouter(tags=["runs"])


@router.get("/runs/{run_id}/tensorboard",
            responses={200: {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "the event files under <run id prefix>/"}, **responses(404, 409, 422)})
def download_events(run: Run, settings: Cfg) -> Response:
    """Unzip and run `tensorboard --logdir <folder>`; 409 while the run has written none."""
    prefix = run["id"][:8]
    data = zip_events(checkpoints.run_dir(settings.data_dir, run["id"]), prefix)
    if data is None:
        raise HTTPException(409, f"run '{run['id']}' has no TensorBoard event files (status {run['status']})")
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{prefix}_tensorboard.zip"'})
