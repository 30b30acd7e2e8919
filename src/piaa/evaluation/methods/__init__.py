"""Methods compared by the evaluation runner (see ``base.py`` for the contract)."""
from piaa.evaluation.methods.base import FeatureProvider, FoldData, Method, TaskSource  # noqa: F401
from piaa.evaluation.methods.registry import get_method_class, list_methods, make_method, register_method  # noqa: F401
