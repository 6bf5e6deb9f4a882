"""Runs: the manager that executes the training loop off the event loop, the stream hub that
fans its events out to viewers, and the run tables, written in batches."""
