"""API modules, each exposing `router` (mounted under /api) and optionally startup/shutdown."""

from blocklab.api import blocks, datasets, export, graphs, options, runs, templates

API_MODULES = [blocks, options, graphs, export, templates, datasets, runs]
