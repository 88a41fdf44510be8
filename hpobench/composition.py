"""Compose a sweep's job configurations once per structure, not once per job.

Hydra's basic sweeper composes every job's configuration from scratch twice (once to
check the batch, once to launch it): reading the YAMLs of the defaults list, merging
them and parsing the overrides costs ~0.1 s a job, which for a 70-trial sweep of
six lines (420 jobs of a few milliseconds each on a table) is most of the sweep.

Composition depends only on the *structural* overrides: those that choose config
groups (``method=successive_halving``, ``+experiment=...``), add, delete or touch
``hydra.*``.  The others (``seed=3``, ``method.bracket=2``, ``budget=50``) are plain
value changes that Hydra itself applies after composing
(``ConfigLoaderImpl._apply_overrides_to_config``).  :class:`CachingConfigLoader` composes
each distinct structure once with Hydra's own loader and builds a job's config from a
copy of it: the job's value changes applied by the same Hydra function, then the
fields Hydra derives from the job's overrides (``hydra.overrides.task``,
``hydra.job.override_dirname``) set as Hydra sets them.  The result equals Hydra's own
composition field for field (``tests/test_composition.py`` compares whole configs);
anything it does not recognise goes to Hydra's loader unchanged.

The cache is per process (a module global), so a joblib launcher's workers, which
receive a pickled loader, keep theirs between jobs.
"""
from __future__ import annotations

import copy
import os
from collections import OrderedDict
from typing import Any, List, Optional

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.config_loader import ConfigLoader
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from omegaconf import DictConfig, OmegaConf

#: composed structures kept per process (a sweep has a handful: one per method/bracket)
_MAX_BASES = 64
_BASES: "OrderedDict[tuple, DictConfig]" = OrderedDict()
_PARSED: dict[str, Override] = {}
_PARSER: Optional[OverridesParser] = None


def _parse(line: str) -> Override:
    global _PARSER
    hit = _PARSED.get(line)
    if hit is None:
        if _PARSER is None:
            _PARSER = OverridesParser.create()
        hit = _PARSED[line] = _PARSER.parse_override(line)
    return hit


class CachingConfigLoader(ConfigLoader):
    """A Hydra ``ConfigLoader`` that delegates to ``inner`` and caches compositions
    in :meth:`load_sweep_config` (the only method a sweep calls per job)."""

    def __init__(self, inner: ConfigLoader) -> None:
        self.inner = inner

    # -- per job -----------------------------------------------------------------------
    def load_sweep_config(self, master_config: DictConfig, sweep_overrides: List[str]) -> DictConfig:
        plan = self._split(master_config, list(sweep_overrides))
        if plan is None:
            return self.inner.load_sweep_config(master_config, list(sweep_overrides))
        structural, values, app = plan
        key = (master_config.hydra.job.config_name,
               tuple(master_config.hydra.overrides.hydra), tuple(structural), os.getcwd())
        base = _BASES.get(key)
        if base is None:
            base = self.inner.load_sweep_config(master_config, structural)
            _BASES[key] = base
            while len(_BASES) > _MAX_BASES:
                _BASES.popitem(last=False)
        else:
            _BASES.move_to_end(key)
        cfg = copy.deepcopy(base)
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        # what Hydra's _load_configuration_impl derives from the job's own overrides
        cfg.hydra.overrides.task = [o.input_line for o in app]
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=app,
            kv_sep=cfg.hydra.job.config.override_dirname.kv_sep,
            item_sep=cfg.hydra.job.config.override_dirname.item_sep,
            exclude_keys=cfg.hydra.job.config.override_dirname.exclude_keys,
        )
        OmegaConf.copy_cache(from_config=master_config, to_config=cfg)
        return cfg

    def _split(self, master_config: DictConfig, overrides: List[str]):
        """``(structural lines, value overrides, the job's app overrides)``, or None
        when the job is anything but plain: then Hydra composes it."""
        try:
            parsed = [_parse(line) for line in overrides]
        except Exception:  # noqa: BLE001 - Hydra's loader reports it its own way
            return None
        structural, values, edits = [], [], []
        for o in parsed:
            group = self.inner.repository.group_exists(o.key_or_group)
            if (o.is_hydra_override() or o.is_sweep_override() or o.type != OverrideType.CHANGE
                    or o.package is not None or isinstance(o.value(), (dict, list)) or group):
                structural.append(o)
                if not (o.is_hydra_override() or group):
                    edits.append(o.key_or_group)  # adds or deletes a key of the config
            else:
                values.append(o)
        changed = [o.key_or_group for o in values]
        if len(set(changed)) != len(changed):
            return None  # the same key twice: Hydra's order rules decide
        for e in edits:  # a key both added/deleted and changed: Hydra's order decides
            if any(k == e or k.startswith(e + ".") or e.startswith(k + ".") for k in changed):
                return None
        app = [o for o in parsed if not o.is_hydra_override()]
        return [o.input_line for o in structural], values, app

    # -- everything else: Hydra's own loader ---------------------------------------------
    def load_configuration(self, *args: Any, **kwargs: Any) -> DictConfig:
        return self.inner.load_configuration(*args, **kwargs)

    def get_search_path(self):
        return self.inner.get_search_path()

    def get_sources(self):
        return self.inner.get_sources()

    def list_groups(self, parent_name: str) -> List[str]:
        return self.inner.list_groups(parent_name)

    def get_group_options(self, *args: Any, **kwargs: Any) -> List[str]:
        return self.inner.get_group_options(*args, **kwargs)

    def compute_defaults_list(self, *args: Any, **kwargs: Any):
        return self.inner.compute_defaults_list(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # e.g. ``repository``
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
