"""Data layer: every database's label files land in one canonical model, :class:`RatingsDataset`.

``load_dataset(database, path, **options)`` reads a database in its published layout; ``read_ratings_csv`` reads
anyone's own ratings; ``read_traits_csv`` per-person traits. Malformed input raises
:class:`RatingsFormatError` naming the file, line and problem.
"""
from .csv_reader import read_ratings_csv, read_traits_csv
from .errors import RatingsFormatError
from .ratings import AGGREGATE_USER, RatingsDataset, Scale, make_ratings
from .registry import READERS, list_databases, load_dataset

__all__ = ["AGGREGATE_USER", "READERS", "RatingsDataset", "RatingsFormatError", "Scale", "list_databases",
           "load_dataset", "make_ratings", "read_ratings_csv", "read_traits_csv"]
