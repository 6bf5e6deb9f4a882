"""API modules, each exposing `router` (mounted under /api) and optionally startup/shutdown."""

from blocklab.api import blocks, datasets, export, graphs, runs, templates
from blocklab.api import evaluation, sweeps, tensorboard

API_MODULES = [blocks, graphs, export, templates, datasets, runs, tensorboard, evaluation, sweeps]
