"""hpobench: compare hyperparameter-optimization methods the way the Hyperband paper does.

The four nouns: :class:`~hpobench.space.SearchSpace`, :class:`~hpobench.benchmarks.Benchmark`,
:class:`~hpobench.optimizers.Optimizer` (ask/tell) and the run loop.  The front door::

    import hpobench
    result = hpobench.run(my_function_or_benchmark, "hyperband", space=..., max_resource=81)

``hpobench.run`` is :func:`hpobench.api.run`; the loop itself stays importable as
``from hpobench.run import run`` (the module of the same name).
"""
__version__ = "0.1.0"

# imported after the module hpobench.run has been loaded (by hpobench.api), so the name
# `hpobench.run` is this function while `from hpobench.run import ...` still finds the module
from hpobench.api import FunctionBenchmark, method_names, run  # noqa: E402
from hpobench.loading import load  # noqa: E402  (hpobench.load(DIR): every run under DIR, one frame)

__all__ = ["FunctionBenchmark", "load", "method_names", "run"]
