"""Data layer: every database's label files land in one canonical model, :class:`RatingsDataset`.

``load_dataset(database, path, **options)`` reads a database in its published layout; ``read_ratings_csv`` reads
anyone's own ratings; ``read_traits_csv`` per-person traits. Malformed input raises
:class:`RatingsFormatError` naming the file, line and problem.
"""
import importlib

# names are imported on first use (PEP 562), so ``piaa.data.scale`` is importable without loading pandas
_LAZY = {
    "read_ratings_csv": "csv_reader", "read_traits_csv": "csv_reader", "RatingsFormatError": "errors",
    "AGGREGATE_USER": "ratings", "RatingsDataset": "ratings", "make_ratings": "ratings", "Scale": "scale",
    "READERS": "registry", "list_databases": "registry", "load_dataset": "registry",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AGGREGATE_USER", "READERS", "RatingsDataset", "RatingsFormatError", "Scale", "list_databases",
           "load_dataset", "make_ratings", "read_ratings_csv", "read_traits_csv"]
