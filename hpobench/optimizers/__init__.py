"""Optimizers (methods): ask/tell state machines that know nothing about execution."""
from hpobench.optimizers.base import Optimizer
from hpobench.optimizers.hyperband import Hyperband
from hpobench.optimizers.promotion import top_k
from hpobench.optimizers.random_search import RandomSearch
from hpobench.optimizers.successive_halving import SHBracket, SuccessiveHalving

__all__ = ["Optimizer", "Hyperband", "RandomSearch", "SHBracket", "SuccessiveHalving", "top_k"]

from hpobench.optimizers.asha import ASHA, promotable  # noqa: E402  (numpy only)

__all__ += ["ASHA", "promotable"]
# baselines (Optuna / scikit-optimize are imported lazily, when one is constructed)
from hpobench.optimizers.grid import GridSearch  # noqa: E402
from hpobench.optimizers.optuna_hyperband import OptunaHyperband  # noqa: E402
from hpobench.optimizers.skopt_bo import ForestBO, GPBO  # noqa: E402
from hpobench.optimizers.tpe import TPE  # noqa: E402

__all__ += ["ForestBO", "GPBO", "GridSearch", "OptunaHyperband", "TPE"]
