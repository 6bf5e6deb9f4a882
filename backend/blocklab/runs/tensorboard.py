"""TensorBoard event files for a run, written from the same messages the run streams.

The run manager writes them in the server, from the protocol lines its workers send (local
processes and Ray jobs alike), so they cost the training process nothing:

    tb = TBWriter(run_dir / "tensorboard", graph=plan.doc, source=plan.source)  # text: the graph, its source
    tb.write("epoch", {"epoch": 1, "step": 50, "train_loss": 0.4, "val_loss": 0.5})
    tb.close()

Scalars come from `step` and `epoch` messages (x axis: the training step), histograms from the
`stats` messages the trainer already samples, so TensorBoard costs no extra pass over the
weights. The files are the `tensorboard` package's own format, written through its writer
(torch.utils.tensorboard wraps tensorboard's EventFileWriter and protobufs).

`blocklab tensorboard` (serve) opens TensorBoard on every run of a data dir; `zip_events`
packs one run's files for download.
"""

from __future__ import annotations

import io
import json
import logging
import math
import time
import zipfile
from pathlib import Path
from typing import Any

# At import, not per run: a worker forked after importing this module writes at once (~0.2 s saved).
from torch.utils.tensorboard import SummaryWriter

log = logging.getLogger("blocklab.runs")

SUBDIR = "tensorboard"  # <data dir>/runs/<run id>/tensorboard/events.out.tfevents.*
EPOCH_SCALARS = ("train_loss", "val_loss", "val_accuracy", "lr")
LAYER_SCALARS = ("grad_norm", "update_ratio")


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


class TBWriter:
    """One run's event files. Never raises from `write`: TensorBoard output must not fail a run."""

    def __init__(self, log_dir: Path, graph: Any = None, source: str | None = None, flush_secs: int = 5,
                 stats_interval: float = 1.0):
        """stats_interval: seconds between the `stats` messages written (a run may sample its
        layers 5 times a second; each layer costs three events)."""
        self.log_dir = Path(log_dir)
        self.stats_interval, self.last_stats = stats_interval, -math.inf
        # A deep queue: with the default (10) every add blocks until the writer thread catches up.
        self.w = SummaryWriter(log_dir=str(self.log_dir), max_queue=10_000, flush_secs=flush_secs)
        self.broken = False
        self._text(graph, source)

    @classmethod
    def open(cls, run_dir: Path | None, graph: Any = None, source: str | None = None) -> "TBWriter | _Off":
        """The writer for a run whose files go in run_dir (its checkpoint folder); one that writes
        nothing when run_dir is None or the folder cannot be written."""
        if run_dir is None:
            return _Off()
        try:
            return cls(Path(run_dir) / SUBDIR, graph, source)
        except Exception:
            log.exception("no TensorBoard event files for this run")
            return _Off()

    def _text(self, graph: Any, source: str | None) -> None:
        if graph is not None:
            doc = graph.model_dump(mode="json", exclude_none=True) if hasattr(graph, "model_dump") else graph
            # Markdown: indenting by 4 spaces makes TensorBoard show the JSON as a code block.
            self.w.add_text("graph/document", _code(json.dumps(doc, indent=1)), 0)
        if source:  # the plan's generated source (never generated here: a worker does not analyse)
            self.w.add_text("graph/pytorch", _code(source), 0)

    def wants(self, kind: str) -> bool:
        """Whether a message of this kind would be written now (asked before decoding it)."""
        if self.broken or kind not in _HANDLERS:
            return False
        return kind != "stats" or time.monotonic() - self.last_stats >= self.stats_interval

    def write(self, kind: str, ev: dict) -> None:
        if self.broken:
            return
        if kind == "stats":
            now = time.monotonic()
            if now - self.last_stats < self.stats_interval:
                return
            self.last_stats = now
        try:
            handler = _HANDLERS.get(kind)
            if handler is not None:
                handler(self.w, ev)
        except Exception:  # a full disk or a closed writer: stop writing, keep training
            log.exception("writing TensorBoard events failed; this run writes no more")
            self.broken = True

    def close(self) -> None:
        try:
            self.w.close()
        except Exception:
            log.exception("closing the TensorBoard writer failed")


class _Off:
    def wants(self, kind: str) -> bool:
        return False

    def write(self, kind: str, ev: dict) -> None:
        pass

    def close(self) -> None:
        pass


def _code(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _step(w, ev: dict) -> None:
    loss = _num(ev.get("loss"))
    if loss is not None:
        w.add_scalar("train/loss_step", loss, int(ev["step"]))


def _epoch(w, ev: dict) -> None:
    step = int(ev.get("step") or 0)
    for k in EPOCH_SCALARS:
        v = _num(ev.get(k))
        if v is not None:
            w.add_scalar(f"epoch/{k}", v, step)
    w.add_scalar("epoch/epoch", float(ev.get("epoch") or 0), step)


def _stats(w, ev: dict) -> None:
    step = int(ev["step"])
    for layer in ev.get("layers", []):
        name = layer["name"]
        for k in LAYER_SCALARS:
            v = _num(layer.get(k))
            if v is not None:
                w.add_scalar(f"{k}/{name}", v, step)
        h = layer.get("hist") or {}
        edges, counts = h.get("edges") or [], h.get("counts") or []
        lo, hi, mean, std = (_num(layer.get(k)) for k in ("min", "max", "mean", "std"))
        if len(edges) != len(counts) + 1 or None in edges or None in (lo, hi, mean, std) or not sum(counts):
            continue  # non-finite weights: no meaningful histogram
        # The counts are of a strided sample (train.stats); sum and sum of squares follow from
        # the exact mean and std at the sample's size, so TensorBoard's summary line is right.
        n = float(sum(counts))
        w.add_histogram_raw(f"weights/{name}", min=lo, max=hi, num=n, sum=mean * n,
                            sum_squares=(std * std + mean * mean) * n,
                            bucket_limits=[float(e) for e in edges[1:]], bucket_counts=[float(c) for c in counts],
                            global_step=step)


def _status(w, ev: dict) -> None:
    if ev.get("status") in ("completed", "failed", "stopped", "interrupted"):
        w.add_text("run/status", ev["status"] + (f": {ev['error']}" if ev.get("error") else ""), 0)
        w.flush()


_HANDLERS = {"step": _step, "epoch": _epoch, "stats": _stats, "status": _status}


def event_files(run_dir: Path) -> list[Path]:
    folder = Path(run_dir) / SUBDIR
    return sorted(p for p in folder.rglob("events.out.tfevents.*") if p.is_file()) if folder.is_dir() else []


def zip_events(run_dir: Path, prefix: str) -> bytes | None:
    """The run's event files in a zip (paths `<prefix>/<file>`: unzip and point TensorBoard at
    the folder), or None when it has none."""
    files = event_files(run_dir)
    if not files:
        return None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            try:
                z.writestr(f"{prefix}/{f.relative_to(Path(run_dir) / SUBDIR).as_posix()}", f.read_bytes())
            except FileNotFoundError:  # the run was deleted meanwhile
                return None
    return buf.getvalue()


def serve(data_dir: Path, host: str = "127.0.0.1", port: int = 6006) -> int:
    """Run TensorBoard on every run of the data dir (one TensorBoard "run" per Blocklab run id)."""
    from tensorboard import program

    logdir = Path(data_dir) / "runs"
    logdir.mkdir(parents=True, exist_ok=True)
    tb = program.TensorBoard()
    tb.configure(argv=[None, "--logdir", str(logdir), "--host", host, "--port", str(port)])
    return tb.main()
