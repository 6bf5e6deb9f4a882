"""Following a Ray job's log through the Jobs API until the job ends (the Ray runner's runs,
and a Ray Tune sweep's driver job)."""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from blocklab.runs.runners.ray_cluster import TERMINAL, _short, _status_name


class Lost(Exception):
    """The cluster could not be reached for longer than allowed."""


def follow_job(client, job_id: str, on_line: Callable[[str], None], lost_after: float) -> str:
    """Feed each line the job prints to `on_line` until the job ends; its terminal status
    (SUCCEEDED, FAILED, STOPPED). A tail that reconnects replays the log from the start, and
    the whole log is read once more at the end (the tail may miss its last chunk), so
    `on_line` sees lines again and must drop repeats (protocol lines carry a seq for that).
    Raises Lost after `lost_after` seconds without contact."""
    lost_since = None
    while True:
        try:
            asyncio.run(_tail_once(client, job_id, on_line))
            status = _status_name(client.get_job_status(job_id))
            lost_since = None
        except Exception as e:
            lost_since = lost_since or time.monotonic()
            if time.monotonic() - lost_since > lost_after:
                raise Lost(_short(e)) from None
            time.sleep(1.0)
            continue
        if status in TERMINAL:
            try:
                for line in client.get_job_logs(job_id).splitlines():
                    on_line(line)
            except Exception:
                pass
            return status
        time.sleep(0.5)  # the tail closed early (e.g. the job is still PENDING): tail again


async def _tail_once(client, job_id: str, on_line: Callable[[str], None]) -> None:
    buf = ""
    async for chunk in client.tail_job_logs(job_id):
        buf += chunk
        *lines, buf = buf.split("\n")
        for line in lines:
            on_line(line)
    if buf:
        on_line(buf)
