"""hpobench's default Hydra sweeper: the basic sweeper (same grid, same batches, same
launchers), with a config loader that composes each structure of the sweep once
(:mod:`hpobench.composition`).  ``hydra/sweeper=basic`` gives Hydra's own back.

Hydra instantiates sweepers only from the ``hydra_plugins`` package, hence this module.
"""
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.types import HydraContext


class HpobenchSweeper(BasicSweeper):
    def setup(self, *, hydra_context: HydraContext, task_function, config) -> None:
        from hpobench.composition import CachingConfigLoader

        loader = hydra_context.config_loader
        if not isinstance(loader, CachingConfigLoader):
            loader = CachingConfigLoader(loader)
        super().setup(hydra_context=HydraContext(config_loader=loader,
                                                 callbacks=hydra_context.callbacks),
                      task_function=task_function, config=config)
