"""Run configuration: plain dataclasses, TOML/JSON files and ``--set key=value`` overrides.

A config is fully described by :class:`Config` (``schema``): what every run has (data, networks,
prior, one optimizer per training phase, schedule, epochs...) plus one table of settings per
model family (``aae``, ``wae``, ``vae``, ``semisupervised``, ``dimred``), read only by the models
of that family. :meth:`Config.validate` checks every value (the rules are in ``checks``) before
anything is written. ``files`` reads and writes configs, applies ``--set`` overrides and converts
configs written by earlier versions (flat keys such as ``regularizer``, ``mmd_lambda`` or
``recon``) on reading (:func:`upgrade`). Presets (``aae.presets``) are functions that return one.
"""

from aae.config.checks import (
    ARCHS,
    ENCODER_KINDS,
    HEADS,
    MMD_KERNELS,
    ON_NAN,
    OPTIMIZERS,
    OUTPUTS,
    PRECISIONS,
    RECON_LOSSES,
    SCHEDULES,
)
from aae.config.files import apply_overrides, from_dict, load_config_file, parse_value, save_config, upgrade
from aae.config.schema import (
    AAEConfig,
    ClusteringConfig,
    Config,
    DataConfig,
    DimredConfig,
    NetworkConfig,
    OptimConfig,
    ScheduleConfig,
    SemiSupervisedConfig,
    SupervisedConfig,
    VAEConfig,
    WAEConfig,
    default_optimizers,
)

__all__ = [
    "ARCHS",
    "ENCODER_KINDS",
    "HEADS",
    "MMD_KERNELS",
    "ON_NAN",
    "OPTIMIZERS",
    "OUTPUTS",
    "PRECISIONS",
    "RECON_LOSSES",
    "SCHEDULES",
    "AAEConfig",
    "ClusteringConfig",
    "Config",
    "DataConfig",
    "DimredConfig",
    "NetworkConfig",
    "OptimConfig",
    "ScheduleConfig",
    "SemiSupervisedConfig",
    "SupervisedConfig",
    "VAEConfig",
    "WAEConfig",
    "apply_overrides",
    "default_optimizers",
    "from_dict",
    "load_config_file",
    "parse_value",
    "save_config",
    "upgrade",
]
