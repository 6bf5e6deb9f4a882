"""API modules, each exposing `router` (mounted under /api) and optionally startup/shutdown."""

from blocklab.api import blocks, datasets, export, graphs, interchange, options, runs, templates
from blocklab.api import evaluation, sweeps, tensorboard

API_MODULES = [blocks, options, graphs, export, templates, datasets, runs, tensorboard, evaluation, sweeps, interchange]
