"""Random search with twice the budget ("random 2x" in the paper's figures).

The paper draws it as two random searches run in parallel: at ``x`` units of resource on
the common axis, random 2x has spent ``2x``.  Here it is one random search whose run gets
``budget_scale = 2`` times the budget (the run loop multiplies the limit and records
``budget_scale`` in every row; aggregation divides ``total_resource`` by it).  Two
independent i.i.d. streams merged are again an i.i.d. stream, so one generator is the
same thing as two.

Example::

    >>> import numpy as np
    >>> from hpobench.benchmarks.spaces import lenet_space
    >>> RandomSearch2x(lenet_space(), 81, rng=np.random.default_rng(0)).budget_scale
    2
"""
from __future__ import annotations

from hpobench.optimizers.random_search import RandomSearch


class RandomSearch2x(RandomSearch):
    """:class:`RandomSearch` given twice the budget (``budget_scale = 2``)."""

    budget_scale = 2
