"""Run directories: train a config into one (``train``), its files and loading (``files``),
evaluation (``evaluate``), figures (``figures``, drawn with ``plots``) and the HTML page (``report``)."""

from aae.runs.evaluate import (
    classification_metrics,
    encode_split,
    evaluate,
    evaluate_validation,
    parzen_run,
    predict_split,
    run_splits,
    split_tensors,
)
from aae.runs.figures import draw_figures
from aae.runs.files import RUN_FILES, Run, load_run, resume_config, timestamp_dir, update_summary
from aae.runs.train import TrainingStopped, train_run

__all__ = [
    "RUN_FILES",
    "Run",
    "TrainingStopped",
    "classification_metrics",
    "draw_figures",
    "encode_split",
    "evaluate",
    "evaluate_validation",
    "load_run",
    "parzen_run",
    "predict_split",
    "resume_config",
    "run_splits",
    "split_tensors",
    "timestamp_dir",
    "train_run",
    "update_summary",
]
