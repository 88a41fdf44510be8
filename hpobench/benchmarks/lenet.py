"""The paper's LeNet on MNIST (Li et al. 2018, Section 3.3): real PyTorch training.

The network is the LeNet of the Theano tutorial the paper cites
(lisa-lab/DeepLearningTutorials ``code/convolutional_mlp.py``): conv(5x5, ``k1``) ->
max-pool 2 -> tanh -> conv(5x5, ``k2``) -> max-pool 2 -> tanh -> fully connected 500 ->
tanh (``hidden_activation``; ``relu`` on request) -> 10, trained with mini-batch SGD
(cross-entropy) on the 50,000 training digits.  The search space is
:func:`hpobench.benchmarks.spaces.lenet_space` (learning rate, batch size, k2, k1); ``val_loss`` and
``test_loss`` are classification error rates on the 10,000 validation and 10,000 test digits.

The unit of resource is a number of training examples, ``examples_per_unit`` (50,000 = one
epoch, the paper's: "one unit of resource corresponding to one epoch, i.e., a full pass
over the data set"), whatever the batch size.  The rule: after ``r`` units (cumulative) a
configuration with batch size ``b`` has taken ``steps(r) = floor(r * examples_per_unit / b
+ 1/2)`` SGD steps, i.e. ``r * examples_per_unit`` examples to the nearest whole mini-batch
(a half rounds up), computed exactly (:class:`fractions.Fraction`).  Because the target
depends only on the cumulative ``r``, the remainder ``r * examples_per_unit - steps * b``
(at most half a mini-batch, recorded as ``examples_owed`` in the checkpoint) carries over:
``r_(i-1)`` units then ``r_i - r_(i-1)`` more take exactly the steps of ``r_i`` in one go.

Resume: the checkpoint holds the model and optimizer state at the *last* step, the step
count, the resource reached and the data-order seed, so a promoted configuration trains
only ``r_i - r_(i-1)`` more units, and resuming gives exactly the run straight through.  Data order is a counter-based stream: the permutation of epoch ``e`` is drawn
from a generator seeded by ``(data_seed, e)``, so ``(data_seed, step)`` is the whole
data-order RNG state.  Weight initialisation draws from its own generator; nothing touches
torch's global random state.

A run that diverges (non-finite loss, or a weight beyond ``max_weight``) stops at the end
of that unit and is reported ``status=failed`` with the reason; the search goes on.

Data are loaded once per process (see :mod:`hpobench.benchmarks.mnist`) and kept as
tensors on the device; pickling the benchmark (process pools, Dask) carries only its
settings.

Example::

    >>> b = LeNetBenchmark(train_size=3000, val_size=1000, test_size=1000,
    ...                    examples_per_unit=500, max_batch_size=100)       # doctest: +SKIP
    >>> cfg = {"learning_rate": 0.05, "batch_size": 50, "k2": 20, "k1": 10}  # doctest: +SKIP
    >>> e1 = b.evaluate(cfg, 1, seed=0)                                     # doctest: +SKIP
    >>> e3 = b.evaluate(cfg, 3, seed=0, resume_from=e1.checkpoint)          # doctest: +SKIP
    >>> e3.resource_spent                                                   # doctest: +SKIP
    2.0
"""
from __future__ import annotations

import math
import os
import re
import time
from fractions import Fraction
from typing import Any, Optional

import numpy as np

from hpobench.benchmarks import mnist
from hpobench.benchmarks.base import Benchmark
from hpobench.benchmarks.lr_schedules import make_schedule
from hpobench import validate
from hpobench.benchmarks.spaces import lenet_space
from hpobench.errors import ConfigError
from hpobench.trial import Evaluation

HIDDEN = 500
ACTIVATIONS = ("tanh", "relu")
#: a unit may hold at most this many passes over the training set (more is a typo)
MAX_EPOCHS_PER_UNIT = 100
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")
_DATA: dict[tuple, dict] = {}  # per process: (directory, device, sizes) -> tensors
_THREADS_SET: Optional[int] = None


def _torch():
    try:
        import torch
    except ImportError:
        raise ConfigError("benchmark=lenet_mnist needs PyTorch: pip install -c constraints.txt "
                          "-e '.[lenet]'") from None
    return torch


def _int_or_none(field: str, v, lo: int, hi: Optional[int] = None) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rng = f"{lo} .. {hi}" if hi is not None else f">= {lo}"
        raise ConfigError(f"benchmark.{field}: must be null or an integer in {rng}, got {v!r}")
    return int(v)


def _positive(field: str, v, allow_zero: bool = False) -> float:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (
        v >= 0 if allow_zero else v > 0)
    if not ok:
        raise ConfigError(f"benchmark.{field}: must be a finite number "
                          f"{'>= 0' if allow_zero else '> 0'}, got {v!r}")
    return float(v)


def build_model(k1: int, k2: int, generator, hidden_activation: str = "tanh"):
    """LeNet with the Theano tutorial's initialisation, drawn from ``generator``:
    uniform +-sqrt(6 / (fan_in + fan_out)) (fan_out over the pooled area for the conv
    layers), zero biases, zero output layer; ``hidden_activation`` after the 500-unit
    layer (the tutorial's tanh, or relu)."""
    torch = _torch()
    nn = torch.nn
    if hidden_activation not in ACTIVATIONS:
        raise ConfigError(f"benchmark.hidden_activation: {hidden_activation!r} is not one of "
                          f"{list(ACTIVATIONS)}")
    hidden = torch.tanh if hidden_activation == "tanh" else torch.relu

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, k1, 5)
            self.conv2 = nn.Conv2d(k1, k2, 5)
            self.fc1 = nn.Linear(k2 * 16, HIDDEN)
            self.fc2 = nn.Linear(HIDDEN, 10)
            self.hidden_activation = hidden_activation

        def forward(self, x):
            f = torch.nn.functional
            x = torch.tanh(f.max_pool2d(self.conv1(x), 2))
            x = torch.tanh(f.max_pool2d(self.conv2(x), 2))
            return self.fc2(hidden(self.fc1(x.flatten(1))))

    model = LeNet()
    with torch.no_grad():
        for conv, cin, cout in ((model.conv1, 1, k1), (model.conv2, k1, k2)):
            bound = math.sqrt(6.0 / (cin * 25 + cout * 25 / 4))
            conv.weight.uniform_(-bound, bound, generator=generator)
            conv.bias.zero_()
        bound = math.sqrt(6.0 / (k2 * 16 + HIDDEN))
        model.fc1.weight.uniform_(-bound, bound, generator=generator)
        model.fc1.bias.zero_()
        model.fc2.weight.zero_()
        model.fc2.bias.zero_()
    return model


class LeNetBenchmark(Benchmark):
    """LeNet on MNIST; every setting is a constructor argument (and a Hydra key).

    ``examples_per_unit``: training examples per unit of resource (50,000 = one epoch).
    ``max_batch_size`` (None: off) clips the configuration's batch size for training (the
    tiny test preset uses it); the batch size actually used is recorded per evaluation
    (``info.batch_size_used``), with the examples trained (``info.examples``) and the
    evaluation's CPU seconds in this process (``info.cpu_seconds``).
    ``train_size``/``val_size``/``test_size`` (None: all) keep the first digits of each
    split (the tiny test preset).
    """

    supports_resume = True
    persist_checkpoints = True

    def __init__(self, name: str = "lenet_mnist", max_resource: int = 81,
                 examples_per_unit: int = 50000, max_batch_size: Optional[int] = None,
                 hidden_activation: str = "tanh",
                 lr_schedule: str = "constant", decay_start: int = 10, decay_rate: float = 0.1,
                 step_size: int = 400, max_factor: float = 4.0, momentum: float = 0.0,
                 train_size: Optional[int] = None, val_size: Optional[int] = None,
                 test_size: Optional[int] = None, device: str = "auto",
                 threads: Optional[int] = None, data_dir: Optional[str] = None,
                 download: bool = True, eval_batch_size: int = 500,
                 max_weight: float = 1e4):
        self.name = str(name)
        self.space = lenet_space()
        self.max_resource = validate.integer("benchmark.max_resource", max_resource, low=1,
                                             high=validate.MAX_RESOURCE)
        self.max_batch_size = _int_or_none("max_batch_size", max_batch_size, 1)
        self.train_size = _int_or_none("train_size", train_size, 1, mnist.SIZES["train"])
        if hidden_activation not in ACTIVATIONS:
            raise ConfigError(f"benchmark.hidden_activation: {hidden_activation!r} is not one "
                              f"of {list(ACTIVATIONS)}")
        self.hidden_activation = hidden_activation
        self.val_size = _int_or_none("val_size", val_size, 1, mnist.SIZES["val"])
        self.test_size = _int_or_none("test_size", test_size, 1, mnist.SIZES["test"])
        self.lr_schedule = lr_schedule
        self.schedule_options = {"decay_start": decay_start, "decay_rate": decay_rate,
                                 "step_size": step_size, "max_factor": max_factor}
        self._schedule = None  # made once examples_per_unit is checked, below
        self.momentum = _positive("momentum", momentum, allow_zero=True)
        if self.momentum >= 1:
            raise ConfigError(f"benchmark.momentum: must be in [0, 1), got {momentum!r}")
        if not isinstance(device, str) or not _DEVICE_RE.match(device):
            raise ConfigError(f"benchmark.device: {device!r} is not one of auto, cpu, cuda, "
                              "cuda:<index>, mps")
        self.device = device
        self.threads = _int_or_none("threads", threads, 1)
        self.data_dir = validate.optional(validate.text, "benchmark.data_dir", data_dir)
        if not isinstance(download, bool):
            raise ConfigError(f"benchmark.download: must be true or false, got {download!r}")
        self.download = download
        self.eval_batch_size = _int_or_none("eval_batch_size", eval_batch_size, 1)
        self.max_weight = _positive("max_weight", max_weight)
        # a batch larger than the training set: refuse before any training
        largest = self.space.params[self.space.names.index("batch_size")].high
        if self.max_batch_size is not None:
            largest = min(largest, self.max_batch_size)
        n_train = self.train_size or mnist.SIZES["train"]
        if largest > n_train:
            raise ConfigError(
                f"benchmark.train_size: {n_train} training digits are fewer than the largest "
                f"batch size this benchmark may train with ({largest}); allowed: train_size >= "
                f"{largest}, or max_batch_size <= {n_train}")
        self.examples_per_unit = _examples_per_unit(examples_per_unit, largest, n_train)
        self.resource_unit = (f"{self.examples_per_unit} training examples"
                              + (" (one epoch)" if self.examples_per_unit == n_train else ""))
        self._schedule = make_schedule(lr_schedule, examples_per_unit=self.examples_per_unit,
                                       **self.schedule_options)
        self._check_device_available()
        mnist.ensure_available(self.data_dir, self.download)  # missing data: an error now

    # -- runtime: device, threads, data ------------------------------------------------------
    def _check_device_available(self) -> None:
        if self.device.startswith("cuda") or self.device == "mps":
            torch = _torch()
            ok = (torch.cuda.is_available() and (":" not in self.device or int(
                self.device.split(":")[1]) < torch.cuda.device_count())) \
                if self.device.startswith("cuda") else torch.backends.mps.is_available()
            if not ok:
                raise ConfigError(f"benchmark.device: {self.device!r} is not available on this "
                                  "machine; use device=auto or device=cpu")

    def torch_device(self):
        """The device training runs on (``auto``: CUDA when present, else CPU)."""
        torch = _torch()
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def runtime(self):
        """(torch, device) for this process, with ``threads`` applied once."""
        global _THREADS_SET
        torch = _torch()
        if self.threads is not None and _THREADS_SET != self.threads:
            torch.set_num_threads(self.threads)
            _THREADS_SET = self.threads
        return torch, self.torch_device()

    def data(self, device=None) -> dict:
        """The splits as tensors on ``device`` (images (N, 1, 28, 28) float32, labels
        int64), loaded once per process and shared by every evaluation."""
        torch = _torch()
        device = device if device is not None else self.torch_device()
        key = (str(mnist.data_dir(self.data_dir)), str(device), self.train_size, self.val_size,
               self.test_size)
        if key not in _DATA:
            arrays = mnist.load_mnist(self.data_dir, download=self.download)
            out = {}
            for split, n in (("train", self.train_size), ("val", self.val_size),
                             ("test", self.test_size)):
                x, y = arrays[f"{split}_x"][:n], arrays[f"{split}_y"][:n]
                out[f"{split}_x"] = torch.from_numpy(np.ascontiguousarray(x)).reshape(
                    -1, 1, 28, 28).to(device).contiguous(memory_format=torch.channels_last)
                out[f"{split}_y"] = torch.from_numpy(np.ascontiguousarray(y)).to(device)
            _DATA[key] = out
        return _DATA[key]

    # -- the pieces of one evaluation --------------------------------------------------------
    def _check_config(self, config: dict) -> tuple[float, int, int, int]:
        missing = [n for n in self.space.names if n not in config]
        if missing:
            raise ConfigError(f"config: missing {missing}; a LeNet configuration has "
                              f"{list(self.space.names)}")
        if not self.space.contains(config):
            raise ConfigError(f"config: {config} lies outside the LeNet space {self.space}")
        lr, b = float(config["learning_rate"]), int(config["batch_size"])
        if self.max_batch_size is not None:
            b = min(b, self.max_batch_size)
        n_train = self.train_size or mnist.SIZES["train"]
        if b > n_train:
            raise ConfigError(f"config.batch_size: {b} is larger than the training set "
                              f"({n_train}); allowed: <= {n_train}")
        return lr, b, int(config["k1"]), int(config["k2"])

    def steps_for(self, resource: float, batch_size: int) -> int:
        """SGD steps after ``resource`` units (cumulative) at ``batch_size``: the whole
        number of mini-batches nearest to ``resource * examples_per_unit`` examples (a half
        rounds up), computed exactly."""
        exact = Fraction(repr(float(resource))) * self.examples_per_unit / int(batch_size)
        return math.floor(exact + Fraction(1, 2))

    def examples_owed(self, resource: float, steps: int, batch_size: int) -> float:
        """``resource * examples_per_unit - steps * batch_size``: what the nearest whole
        mini-batch left over (or took in advance), carried to the next evaluation."""
        return float(Fraction(repr(float(resource))) * self.examples_per_unit
                     - steps * int(batch_size))

    @staticmethod
    def _streams(seed: int) -> tuple[int, int]:
        """(weight-init seed, data-order seed), independent streams of the trial seed."""
        a, b = np.random.SeedSequence([int(seed), 0x1E7E7]).generate_state(2, np.uint64)
        return int(a) >> 1, int(b) >> 1

    @staticmethod
    def epoch_permutation(data_seed: int, epoch: int, n: int, device):
        """Order of the training digits in epoch ``epoch``: a pure function of the seed."""
        torch = _torch()
        s = int(np.random.SeedSequence([int(data_seed), int(epoch)]).generate_state(
            1, np.uint64)[0]) >> 1
        g = torch.Generator().manual_seed(s)
        return torch.randperm(n, generator=g).to(device)

    def error_rate(self, model, x, y) -> float:
        torch = _torch()
        model.eval()
        wrong = 0
        with torch.inference_mode():
            for i in range(0, x.shape[0], self.eval_batch_size):
                pred = model(x[i:i + self.eval_batch_size]).argmax(1)
                wrong += int((pred != y[i:i + self.eval_batch_size]).sum())
        model.train()
        return wrong / x.shape[0]

    # -- Benchmark interface -----------------------------------------------------------------
    def evaluate(self, config: dict, resource: float, seed: int,
                 resume_from: Optional[Any] = None) -> Evaluation:
        cpu0 = time.process_time()
        torch, device = self.runtime()
        lr, b, k1, k2 = self._check_config(config)
        target = self.steps_for(resource, b)
        if target < 1:
            raise ConfigError(f"resource: {resource} units of {self.examples_per_unit} examples "
                              f"is less than one mini-batch of {b}")
        data = self.data(device)
        init_seed, data_seed = self._streams(seed)
        model = build_model(k1, k2, torch.Generator().manual_seed(init_seed),
                            self.hidden_activation).to(
            device, memory_format=torch.channels_last)  # about 2x faster convs on CPU
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=self.momentum)
        start, start_resource = 0, 0.0
        if resume_from is not None:
            start, data_seed = self._restore(resume_from, model, opt, (k1, k2, b), device)
            start_resource = float(resume_from["resource"])
            if target < start or float(resource) < start_resource:
                raise ValueError(f"cannot train to {resource} units from a checkpoint at "
                                 f"{resume_from['resource']}")
        reason, loss = self._train(model, opt, data, lr, b, data_seed, start, target)
        if reason is not None:
            done = reason[1]
            return Evaluation.failed(reason[0], (done - start) * b / self.examples_per_unit)
        val = self.error_rate(model, data["val_x"], data["val_y"])
        test = self.error_rate(model, data["test_x"], data["test_y"])
        checkpoint = {
            "resource": float(resource), "step": target, "data_seed": data_seed,
            "arch": [k1, k2, b], "examples_per_unit": self.examples_per_unit,
            "examples_owed": self.examples_owed(resource, target, b),
            "model": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
            "optimizer": _to_cpu(opt.state_dict()),
        }
        return Evaluation(val, test, float(resource) - start_resource, checkpoint,
                          info={"batch_size_used": b, "train_loss": loss,
                                "examples": target * b,
                                "cpu_seconds": time.process_time() - cpu0})

    def _restore(self, ck: dict, model, opt, arch: tuple, device) -> tuple[int, int]:
        if list(ck.get("arch", [])) != list(arch):
            raise ValueError(f"checkpoint was trained with (k1, k2, batch) = {ck.get('arch')}, "
                             f"not {list(arch)}")
        if ck.get("examples_per_unit") != self.examples_per_unit:
            raise ValueError(f"checkpoint was trained with examples_per_unit = "
                             f"{ck.get('examples_per_unit')}, not {self.examples_per_unit}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        for state in opt.state.values():  # optimizer buffers follow the model's device
            for k, v in state.items():
                if hasattr(v, "to"):
                    state[k] = v.to(device)
        return int(ck["step"]), int(ck["data_seed"])

    def _train(self, model, opt, data, lr: float, b: int, data_seed: int, start: int,
               target: int):
        """SGD from iteration ``start`` to ``target``; returns (failure or None, last loss).

        Divergence is checked at the step that completes each unit's examples (and the
        last step), so the hot loop never waits on the device."""
        torch = _torch()
        f = torch.nn.functional
        x_all, y_all = data["train_x"], data["train_y"]
        n = x_all.shape[0]
        per_epoch = n // b
        epu = self.examples_per_unit
        sched = self._schedule
        params = list(model.parameters())
        epoch, perm, loss = -1, None, None
        group = opt.param_groups[0]
        model.train()
        for step in range(start, target):
            e, pos = divmod(step, per_epoch)
            if e != epoch:
                epoch, perm = e, self.epoch_permutation(data_seed, e, n, x_all.device)
            idx = perm[pos * b:(pos + 1) * b]
            if not sched.constant:
                group["lr"] = sched(step, lr, b)
            loss = f.cross_entropy(model(x_all.index_select(0, idx)), y_all.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if (step + 1) * b // epu > step * b // epu or step + 1 == target:
                value = float(loss.detach())
                if not math.isfinite(value):
                    return (f"diverged: training loss is {value} at iteration {step + 1} "
                            f"(learning rate {group['lr']:.4g})", step + 1), value
                biggest = float(torch.stack([p.detach().abs().max() for p in params]).max())
                if not biggest <= self.max_weight:
                    return (f"diverged: largest weight {biggest:.3g} exceeds max_weight "
                            f"{self.max_weight:g} at iteration {step + 1}", step + 1), value
        return None, (float(loss.detach()) if loss is not None else math.nan)

    # -- checkpoints on disk -----------------------------------------------------------------
    @staticmethod
    def save_checkpoint(obj: dict, path: str | os.PathLike) -> None:
        with open(path, "wb") as f:  # a file object: torch rejects some temp-file names
            _torch().save(obj, f)

    @staticmethod
    def load_checkpoint(path: str | os.PathLike) -> dict:
        with open(path, "rb") as f:
            return _torch().load(f, map_location="cpu", weights_only=True)

    def settings(self) -> dict:
        return {"max_resource": self.max_resource,
                "examples_per_unit": self.examples_per_unit,
                "max_batch_size": self.max_batch_size,
                "hidden_activation": self.hidden_activation, "lr_schedule": self.lr_schedule,
                **(self.schedule_options if self.lr_schedule != "constant" else {}),
                "momentum": self.momentum, "train_size": self.train_size,
                "val_size": self.val_size, "test_size": self.test_size, "device": self.device,
                "threads": self.threads, "max_weight": self.max_weight}


def _examples_per_unit(v, largest_batch: int, n_train: int) -> int:
    """``examples_per_unit``, checked: an integer from the largest batch the benchmark may
    train with (so one unit is at least one whole mini-batch for every configuration) to
    ``MAX_EPOCHS_PER_UNIT`` passes over the training set."""
    hi = MAX_EPOCHS_PER_UNIT * n_train
    if isinstance(v, bool) or not isinstance(v, int) or not largest_batch <= v <= hi:
        raise ConfigError(
            f"benchmark.examples_per_unit: must be an integer from {largest_batch} (the "
            f"largest batch this benchmark trains with: a unit holds at least one mini-batch) "
            f"to {hi} ({MAX_EPOCHS_PER_UNIT} passes over {n_train} training digits), got {v!r}")
    return int(v)


def _to_cpu(obj):
    """A copy of a (nested) optimizer state with every tensor on the CPU."""
    if hasattr(obj, "detach"):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj
