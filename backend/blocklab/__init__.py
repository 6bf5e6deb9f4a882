"""Blocklab: a visual neural-network designer (draw, validate, train, export)."""

__version__ = "0.1.0"
