"""Optimizers (methods): ask/tell state machines that know nothing about execution."""
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers.hyperband import Hyperband
from hpobench.optimizers.promotion import top_k
from hpobench.optimizers.random_search import RandomSearch
from hpobench.optimizers.successive_halving import SHBracket, SuccessiveHalving

__all__ = ["Optimizer", "Hyperband", "RandomSearch", "SHBracket", "SuccessiveHalving", "top_k"]

from hpobench.optimizers.asha import ASHA, promotable  # noqa: E402  (numpy only)

__all__ += ["ASHA", "promotable"]
