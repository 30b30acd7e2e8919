"""Evaluation: the papers' protocols as one command (``piaa evaluate EXPERIMENT.toml``).

Modules, in the order a run uses them: ``experiment`` (the TOML file), ``piaa.data.sources`` (ratings, traits,
folds) and ``piaa.data.traits_filter`` (``where`` populations), ``protocol`` (folds, test people, seeded
supports), ``features`` (cached backbone features for methods), ``runner`` (the loop, checkpoints,
aggregation), ``report`` (Markdown table and gain plot); ``methods`` holds the contract and the compared methods.
Format: ``docs/experiments.md``.
"""
from piaa.evaluation.experiment import Experiment, ExperimentError, load_experiment  # noqa: F401
from piaa.evaluation.runner import RunOptions, run_experiment  # noqa: F401
