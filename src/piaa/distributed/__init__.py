"""Distributed scoring on Ray Data (an interface layer, like the CLI and the service).

``run_distributed(SOURCE, "out.parquet", ...)`` -- what ``piaa score SOURCE --ray --output out.parquet`` runs.
Ray is imported only when a run starts.
"""
from piaa.distributed.pipeline import RunSummary, default_models, run_distributed  # noqa: F401
from piaa.distributed.sources import open_source  # noqa: F401
