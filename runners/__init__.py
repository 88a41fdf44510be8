"""Thin command-line entry points: ``python -m runners.sweep``, ``python -m runners.bench``."""
