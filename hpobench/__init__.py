"""hpobench: compare hyperparameter-optimization methods the way the Hyperband paper does.

The four nouns: :class:`~hpobench.space.SearchSpace`, :class:`~hpobench.benchmarks.Benchmark`,
:class:`~hpobench.optimizers.Optimizer` (ask/tell) and :func:`~hpobench.run.run`.
"""
__version__ = "0.1.0"
