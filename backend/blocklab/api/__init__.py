"""API modules, each exposing `router` (mounted under /api) and optionally startup/shutdown."""

from blocklab.api import blocks, datasets, export, graphs, interchange, runs, templates

API_MODULES = [blocks, graphs, export, templates, datasets, runs, interchange]
