"""Run configuration: plain dataclasses, TOML/JSON files and ``--set key=value`` overrides.

A config is fully described by :class:`Config` (``schema``): what every run has (data, networks,
prior, one optimizer per training phase, schedule, epochs...) plus one table of settings per
model family that has some (``cfg.wae``, ``cfg.semisupervised``, ...), read only by the models
that need it. Each such table is declared by its family, in ``aae/models/<family>/config.py``,
with its defaults and its rules; ``aae.models`` registers it in :data:`FAMILY_TABLES`, so this
package names no family. :meth:`Config.validate` checks every value (the shared rules are in
``checks``) before anything is written. ``files`` reads and writes configs, applies ``--set``
overrides and converts configs written by earlier versions (flat keys such as ``regularizer``,
``mmd_lambda`` or ``recon``) on reading (:func:`upgrade`). Presets (``aae.presets``) are
functions that return one.
"""

from aae.config.checks import (
    ARCHS,
    ENCODER_KINDS,
    ON_NAN,
    OPTIMIZERS,
    OUTPUTS,
    PRECISIONS,
    RECON_LOSSES,
    SCHEDULES,
    STANDARDIZE_NEEDS_LINEAR,
    Rule,
    at_least,
    below,
    each,
    one_of,
)
from aae.config.files import apply_overrides, from_dict, load_config_file, parse_value, save_config, upgrade
from aae.config.schema import (
    FAMILY_TABLES,
    Config,
    DataConfig,
    FamilyTable,
    NetworkConfig,
    OptimConfig,
    ScheduleConfig,
    default_optimizers,
)


def __getattr__(name: str) -> type[FamilyTable]:
    # the families' tables by class name as well (from aae.config import WAEConfig, as before they
    # moved to aae.models.<family>.config): looked up in the registry, since this package imports no model
    for table in FAMILY_TABLES.values():
        if table.__name__ == name:
            return table
    raise AttributeError(f"module 'aae.config' has no attribute {name!r}")


__all__ = [
    "ARCHS",
    "ENCODER_KINDS",
    "FAMILY_TABLES",
    "ON_NAN",
    "OPTIMIZERS",
    "OUTPUTS",
    "PRECISIONS",
    "RECON_LOSSES",
    "SCHEDULES",
    "STANDARDIZE_NEEDS_LINEAR",
    "Config",
    "DataConfig",
    "FamilyTable",
    "NetworkConfig",
    "OptimConfig",
    "Rule",
    "ScheduleConfig",
    "apply_overrides",
    "at_least",
    "below",
    "default_optimizers",
    "each",
    "from_dict",
    "load_config_file",
    "one_of",
    "parse_value",
    "save_config",
    "upgrade",
]
