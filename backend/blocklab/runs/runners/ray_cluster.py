"""Talking to a Ray cluster's head: its address, job states, and short error texts (for the
Ray runner, runners/ray.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def dashboard_url(target: str) -> str:
    """http(s)://host:port as given; ray://host[:client port] -> http://host:8265 (the head's dashboard)."""
    parts = urlsplit(target if "://" in target else f"http://{target}")
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}".rstrip("/")
    if parts.scheme == "ray":
        return f"http://{parts.hostname}:8265"
    raise ValueError(f"BLOCKLAB_RUNNER must be 'local', http://<ray head>:8265 or ray://<ray head>; got {target!r}")


class ClusterDown(Exception):
    pass


def _tensors(data: bytes):
    from safetensors.torch import load as st_load

    return st_load(data)


def _status_name(status) -> str:
    return getattr(status, "value", str(status)).upper()


def _job_message(client, run_id: str) -> str:
    try:
        info = client.get_job_info(run_id)
        tail = client.get_job_logs(run_id).strip().splitlines()[-5:]
        return f": {info.message or ''} {' | '.join(tail)}"[:2000]
    except Exception:
        return ""


def _short(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[-1] if text else ''}"[:500]
