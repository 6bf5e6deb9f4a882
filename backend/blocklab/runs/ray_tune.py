"""The entry point of the Ray job that runs one sweep with Ray Tune (a sweep on a Ray cluster):

    python -m blocklab.runs.ray_tune <payload>

<payload> is what `ray_job.encode_payload` makes of the sweep (its run body, space, budget,
metric and direction; see runs/sweep_tune.py), or `@<path>` to a file holding it. This process
is the Tune driver: a `tune.Tuner` with Optuna's TPE as the searcher (OptunaSearch, asking the
space through the same `sweep_space.suggest` as local sweeps), ASHA pruning on the epoch
metric when the sweep prunes, and as many trials at once as the cluster has slots (1 CPU
each, or 1 GPU on CUDA). Each trial trains one Blocklab run (runs/ray_tune_trial.py).

It prints protocol lines (runs/protocol.py) of its own: "trial" (a trial's run id and point
of the space, before any line of that run), "end" (the sweep's status); and each trial's run
lines as `@run <run id> <the run's own line>`, which the server routes to that run.
The server stops the sweep with a small job, `--stop-sweep <sweep id>`, that tells the driver's
named relay actor: every trial stops at its next check and still sends its weights and end,
Tune starts no more, and the driver exits. `--stop-run <sweep id> <run id>` stops one trial's
run the same way. SIGTERM (stop_job: a server shutting down, or the fallback when the job does
not end) stops Tune too, but Ray kills the job a few seconds later, weights sent or not.
"""

from __future__ import annotations

import signal
import sys
import tempfile
import threading
import time
import traceback

from ray.tune import Stopper

from blocklab.runs.ray_job import decode_payload, stdout_printer
from blocklab.runs.ray_train import Relay

RUN_TAG = "@run "
NAMESPACE = "blocklab"


def relay_name(sweep_id: str) -> str:
    return f"blocklab-sweep-{sweep_id}"


class SweepRelay(Relay):
    """ray_train.Relay (the trials' lines, in order, for the driver to print; `set_stop` for the
    whole sweep), plus the runs the server asked to stop one by one. A named actor, so that a
    small job (`--stop-run`, `--stop-sweep`) can reach it: the server never joins the cluster."""

    def __init__(self):
        super().__init__()
        self.halted: set[str] = set()

    def stop_run(self, run_id: str) -> None:
        self.halted.add(run_id)

    def run_stopped(self, run_id: str) -> bool:
        return self.stop or run_id in self.halted

    def poll(self) -> tuple[list, bool]:
        return self.take(), self.stop


def tell(sweep_id: str, run_id: str | None) -> int:
    """`python -m blocklab.runs.ray_tune --stop-run <sweep id> <run id>` or `--stop-sweep <sweep id>`:
    the trial's run, or every trial, stops at its next check and sends its weights and end."""
    import ray

    ray.init(log_to_driver=False)
    relay = ray.get_actor(relay_name(sweep_id), namespace=NAMESPACE)
    ray.get(relay.stop_run.remote(run_id) if run_id else relay.set_stop.remote())
    return 0


def relay_lines(relay, emit, out, done: threading.Event, stop: threading.Event) -> None:
    """Print what the trials put on the relay, in order, until `done` and the relay is empty;
    set `stop` when the sweep was told to stop through the relay."""
    import ray

    while True:
        finished = done.is_set()
        items, stopping = ray.get(relay.poll.remote())
        if stopping:
            stop.set()
        for kind, event in items:
            if kind == "trial":
                emit("trial", event)
            elif kind == "line":
                out.write(f"{RUN_TAG}{event['run_id']} {event['text']}")
                out.flush()
        if finished:
            return
        time.sleep(0.05)


class StopAll(Stopper):
    """Tune's experiment stopper (a tune.Stopper): every trial stops once the sweep is stopped.
    Tune pickles it with the experiment's state, so it holds no lock: the stop lives in STOPS."""

    def __init__(self, stop: threading.Event):
        self.key = id(stop)
        STOPS[self.key] = stop

    def __call__(self, trial_id, result) -> bool:
        return False

    def stop_all(self) -> bool:
        stop = STOPS.get(self.key)
        return stop is not None and stop.is_set()


STOPS: dict[int, threading.Event] = {}


class Define:
    """OptunaSearch's define-by-run space: the same `suggest` as local sweeps, so the keys stay
    flat ("nodes.hidden.out_features"). A class, not a closure: the searcher is pickled."""

    def __init__(self, space: dict):
        self.space = space

    def __call__(self, trial) -> None:
        from blocklab.runs.sweep_space import suggest

        suggest(trial, self.space)


def slots(job: dict) -> int:
    """Trials at once: as many as fit on the cluster (its GPUs for CUDA runs, else its CPUs),
    or fewer when the sweep says `parallel`."""
    import ray

    have = int(ray.cluster_resources().get("GPU" if job["cuda"] else "CPU", 1))
    return max(1, min(job["trials"], have, job.get("parallel") or have))


def tune_sweep(job: dict, emit, out, stop: threading.Event) -> tuple[str, str | None]:
    import optuna
    import ray
    from pydantic import TypeAdapter
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler
    from ray.tune.search.optuna import OptunaSearch

    from blocklab.runs.ray_tune_trial import VALUE, Trial
    from blocklab.runs.sweep_space import Choices, Range

    ray.init(log_to_driver=False)  # the cluster this job runs on (RAY_ADDRESS is set by the Jobs API)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = TypeAdapter(dict[str, Range | Choices]).validate_python(job["space"])
    mode = "max" if job["direction"] == "maximize" else "min"

    sampler = optuna.samplers.TPESampler(seed=job["seed"], n_startup_trials=min(10, max(2, job["trials"] // 3)))
    searcher = OptunaSearch(space=Define(space), metric=VALUE, mode=mode, sampler=sampler)
    scheduler = (ASHAScheduler(max_t=max(1, job["epochs"]), grace_period=1, reduction_factor=2) if job["prune"]
                 else FIFOScheduler())

    relay = ray.remote(num_cpus=0)(SweepRelay).options(name=relay_name(job["sweep_id"]), namespace=NAMESPACE).remote()
    need = {"cpu": 1} | ({"gpu": 1} if job["cuda"] else {})
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(Trial, job=job, relay=relay), need),
        tune_config=tune.TuneConfig(metric=VALUE, mode=mode, search_alg=searcher, scheduler=scheduler,
                                    num_samples=job["trials"], max_concurrent_trials=slots(job), reuse_actors=True),
        run_config=tune.RunConfig(name=f"blocklab-sweep-{job['sweep_id']}", verbose=0, stop=StopAll(stop),
                                  storage_path=tempfile.mkdtemp(prefix="blocklab-tune-"),
                                  failure_config=tune.FailureConfig(max_failures=0),
                                  checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False)))  # runs keep theirs
    done = threading.Event()
    printer = threading.Thread(target=relay_lines, args=(relay, emit, out, done, stop), daemon=True, name="blocklab-relay")
    printer.start()
    try:
        tuner.fit()  # a trial that fails is one failed trial, not the sweep's failure
    finally:
        done.set()
        printer.join()
    return ("stopped", None) if stop.is_set() else ("completed", None)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--stop-run":
        return tell(argv[1], argv[2])
    if len(argv) == 2 and argv[0] == "--stop-sweep":
        return tell(argv[1], None)
    if len(argv) != 1:
        print("usage: python -m blocklab.runs.ray_tune <payload | @file> | --stop-run <sweep id> <run id> | "
              "--stop-sweep <sweep id>", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emit = stdout_printer()
    try:
        status, error = tune_sweep(decode_payload(argv[0]), emit, sys.stdout, stop)
    except Exception as e:
        traceback.print_exc()  # the whole story in the job's log
        status, error = "failed", f"Ray Tune failed: {type(e).__name__}: {e}"[:2000]
    emit("end", {"status": status, "error": error})
    return 0 if status in ("completed", "stopped") else 1


if __name__ == "__main__":
    # Run the module under its own name, not as __main__: Tune pickles the experiment (the
    # stopper, the searcher's space), and cloudpickle would copy __main__'s objects by value.
    from blocklab.runs import ray_tune

    sys.exit(ray_tune.main(sys.argv[1:]))
