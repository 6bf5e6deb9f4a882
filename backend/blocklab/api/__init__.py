"""API modules, each exposing `router` (mounted under /api) and optionally startup/shutdown."""

from blocklab.api import (blocks, datasets, evaluation, export, graphs, interchange, options, run_outputs, run_stream,
                          runs, sweeps, templates, tensorboard, weights_upload)

API_MODULES = [blocks, options, graphs, export, templates, datasets, runs, run_outputs, run_stream, weights_upload,
               tensorboard, evaluation, sweeps, interchange]
