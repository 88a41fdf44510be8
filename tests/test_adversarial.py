"""The harness under attack: bad input, lying benchmarks, damaged run directories,
planted files, killed workers.  One section per defect class of issue 15; every class
has at least one test that failed before its fix.  What each test shows is listed in
hpobench/docs/guarantees.md.
"""
from __future__ import annotations

import json
import math
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpobench.benchmarks.envelope import EnvelopeBenchmark
from hpobench.checkpoints import DiskStore
from hpobench.errors import ConfigError
from hpobench.executors import ProcessExecutor
from hpobench.experiment import build
from hpobench.results import Lock, atomic_write
from hpobench.run import run
from hpobench.trial import Evaluation
from tests.conftest import compose_cfg, missing_requirement

ROOT = Path(__file__).resolve().parents[1]


def sweep(*args, cwd=None, env=None, timeout=300):
    """``python -m runners.sweep ...`` as a user runs it (this checkout's code)."""
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "runners.sweep", *args], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=timeout, env=e)


def files_under(d: Path) -> set[str]:
    return {p.relative_to(d).as_posix() for p in d.rglob("*")}


def run_method(method: str, benchmark, *, budget=3, seed=0, executor=None, run_dir=None,
               R=None):
    R = benchmark.max_resource if R is None else R  # the method is built for the benchmark's R
    cfg = compose_cfg([f"method={method}", f"seed={seed}", f"benchmark.max_resource={R}"])
    _, opt, _ = build(cfg)
    return run(benchmark, opt, budget=budget, seed=seed, method_name=method,
               executor=executor, run_dir=run_dir)


# ---------------------------------------------------------------------------------------
# 1. Security: no path escapes, no code from files, no symlink followed, umask honoured
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("override", [
    "method.name=../../../escape", "benchmark.name=../..", "method.name=/tmp/abs",
])
def test_config_values_cannot_move_a_run_outside_results_dir(tmp_path, override):
    res = tmp_path / "a" / "b" / "results"
    p = sweep(override, "budget=1", f"results_dir={res}", cwd=tmp_path)
    outside = {f for f in files_under(tmp_path) if not f.startswith("a/b/results")}
    assert outside <= {"a", "a/b"}, (outside, p.stderr)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip().count("\n") == 0, p.stderr  # one line
    assert not list(res.rglob("run.json"))  # bad input: nothing left behind


def test_an_override_value_stays_one_path_component(tmp_path):
    """A value reaches the path through Hydra's override_dirname; Hydra creates that
    directory before hpobench runs, so it must be built safely (a planted file keeps an
    escaped directory from being cleaned up, so the test can see it)."""
    res = tmp_path / "a" / "b" / "results"
    target = tmp_path / "a" / "b" / "escape,budget=1" / "seed=0"  # where ../ would land
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("")
    p = sweep("benchmark.terminal=../../../../../escape", "budget=1", f"results_dir={res}",
              cwd=tmp_path)
    assert p.returncode == 2, p.stderr
    assert sorted(os.listdir(target)) == ["keep.txt"]
    assert not list(res.rglob("run.json"))


def test_an_explicit_hydra_run_dir_may_lie_anywhere(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    p = sweep("budget=1", f"results_dir={tmp_path / 'results'}", f"hydra.run.dir={elsewhere}")
    assert p.returncode == 0, p.stderr
    assert (elsewhere / "run.json").exists()


class _Boom:
    """A pickle that runs a command when it is loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_checkpoint_never_runs_code_and_counts_as_missing(tmp_path, capsys):
    store = DiskStore(tmp_path / "checkpoints")
    marker = tmp_path / "PWNED"
    (tmp_path / "checkpoints" / "trial-3.ckpt").write_bytes(pickle.dumps(_Boom(marker)))
    (tmp_path / "checkpoints" / "trial-4.ckpt").write_bytes(b"not a pickle at all")
    assert store.get(3) is None and store.get(4) is None
    assert not marker.exists()
    assert store.unreadable == [3, 4]
    assert "unreadable" in capsys.readouterr().err
    # the run's own checkpoints still round-trip: containers, numbers, NumPy arrays
    ck = {"resource": 9.0, "w": np.arange(4.0), "n": np.int64(3), "t": (1, "a", None)}
    store.put(5, ck)
    got = store.get(5)
    assert got["resource"] == 9.0 and got["n"] == 3 and got["t"] == (1, "a", None)
    np.testing.assert_array_equal(got["w"], np.arange(4.0))


class PersistedEnvelope(EnvelopeBenchmark):
    """The envelope with its checkpoints on disk in the default format and no way to
    rebuild one: a lost checkpoint means training again from scratch."""

    persist_checkpoints = True

    def rebuild_checkpoint(self, config, resource, seed):
        return None


def _kill_after_rows(run_dir: Path, n: int, method="hyperband") -> None:
    code = (f"from tests.test_adversarial import PersistedEnvelope, run_method\n"
            f"run_method({method!r}, PersistedEnvelope(max_resource=27), run_dir={str(run_dir)!r})")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "HPOBENCH_FAULT": f"append:{n}"}, timeout=120)
    assert p.returncode == -9, p.stderr


def test_a_garbled_checkpoint_is_retrained_from_scratch_with_a_warning(tmp_path, capsys):
    d = tmp_path / "run"
    _kill_after_rows(d, 30)
    ckpts = sorted((d / "checkpoints").glob("trial-*.ckpt"))
    assert ckpts
    marker = tmp_path / "PWNED"
    for p in ckpts:
        p.write_bytes(pickle.dumps(_Boom(marker)))
    r = run_method("hyperband", PersistedEnvelope(max_resource=27), run_dir=d)
    assert r.status == "complete" and not marker.exists()
    err = capsys.readouterr().err
    assert "unreadable" in err and "retraining it from scratch" in err
    assert r.info["retrained_from_scratch"]
    assert json.loads((d / "run.json").read_text())["retrained_from_scratch"]
    assert r.total_resource <= 3 * 27
    first = {}  # each retrained trial's first row after the resume: trained from scratch
    for row in r.rows[29:]:
        first.setdefault(row["trial_id"], row)
    assert all(first[t]["resource_spent"] == first[t]["resource"] and first[t]["rung"] > 0
               for t in r.info["retrained_from_scratch"])


def test_the_lock_never_follows_a_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / ".lock").symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        Lock(run_dir).acquire()
    assert victim.read_text() == "precious\n"


def test_the_journal_is_never_appended_through_a_symlink(tmp_path):
    from hpobench.results import JOURNAL, Recorder

    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    run_dir = tmp_path / "run"
    rec = Recorder(run_dir)
    rec.open([])
    os.unlink(run_dir / JOURNAL)  # replaced by a link while the run holds the lock:
    (run_dir / JOURNAL).symlink_to(victim)  # only reopening would follow it
    rec.close()
    with pytest.raises(ConfigError, match="symbolic link"):
        from hpobench.results import open_in_place
        open_in_place(run_dir / JOURNAL, os.O_WRONLY | os.O_APPEND)
    assert victim.read_text() == "precious\n"


def test_checkpoints_are_never_written_through_a_linked_folder(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "checkpoints").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="symbolic link"):
        DiskStore(tmp_path / "checkpoints")


def test_result_files_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "run.json", b"{}")
        r = run_method("hyperband", PersistedEnvelope(max_resource=9), run_dir=tmp_path / "r")
        assert r.status == "complete"
        DiskStore(tmp_path / "ck").put(1, {"a": 1})
        modes = {p.name: stat.S_IMODE(p.stat().st_mode)
                 for p in [tmp_path / "run.json", *(tmp_path / "r").iterdir(),
                           *(tmp_path / "ck").iterdir()] if p.is_file()}
        assert modes and set(modes.values()) == {0o644}, modes
    finally:
        os.umask(old)


# ---------------------------------------------------------------------------------------
# 2. Evaluations that lie
# ---------------------------------------------------------------------------------------

def _liar(job_seed: int) -> bool:
    return job_seed % 4 == 0  # about one job in four, the same ones in every run


class LyingEnvelope(EnvelopeBenchmark):
    """The envelope, but some jobs report ``field`` as ``value``."""

    def __init__(self, field: str, value, **kw):
        super().__init__(**kw)
        self.field, self.value = field, value

    def evaluate(self, config, resource, seed, resume_from=None):
        ev = super().evaluate(config, resource, seed, resume_from)
        if _liar(seed):
            if self.field == "raise":
                raise self.value
            setattr(ev, self.field, self.value)
        return ev


class _Exotic(BaseException):
    pass


NOT_A_NUMBER = ["0.3", None, np.array([0.3], dtype=object), object(), True, [0.1]]


@pytest.mark.parametrize("method", ["hyperband", "successive_halving", "asha", "bohb"])
@pytest.mark.parametrize("value", NOT_A_NUMBER, ids=lambda v: type(v).__name__)
def test_a_loss_that_is_not_a_real_number_is_failed_like_nan(method, value):
    r = run_method(method, LyingEnvelope("val_loss", value, max_resource=27))
    assert r.status in ("complete", "finished")
    lies = [row for row in r.rows if row["status"] == "failed"]
    assert lies and all("val_loss is" in row["error"] for row in lies)
    assert all(isinstance(row["val_loss"], float) for row in r.rows)
    assert all(math.isnan(row["val_loss"]) for row in lies)
    assert math.isfinite(r.incumbent["val_loss"])


@pytest.mark.parametrize("value", [-5.0, math.nan, math.inf, -math.inf, "3", 1e6])
def test_a_lying_resource_spent_is_failed_and_charged_as_planned(value):
    b = LyingEnvelope("resource_spent", value, max_resource=27)
    r = run_method("hyperband", b, budget=5)
    lies = [row for row in r.rows if row["status"] == "failed"]
    assert lies and all("resource_spent" in row["error"] for row in lies)
    totals = [row["total_resource"] for row in r.rows]
    assert totals == sorted(totals)  # never decreases
    # every job is charged what the budget check planned for it: r_i on its first rung,
    # r_i - r_(i-1) when it resumed (the honest rows report exactly that)
    honest = run_method("hyperband", EnvelopeBenchmark(max_resource=27), budget=5)
    assert [row["resource_spent"] for row in r.rows] == [
        row["resource_spent"] for row in honest.rows]
    assert r.total_resource <= 5 * 27  # total_resource <= budget x R, always


def test_an_overclaim_never_breaks_the_budget_even_in_parallel():
    b = LyingEnvelope("resource_spent", 1e6, max_resource=27, sleep_per_unit=0.0001)
    r = run_method("hyperband", b, budget=5, executor=ProcessExecutor(2))
    assert r.total_resource <= 5 * 27


@pytest.mark.parametrize("exc", [SystemExit(3), SystemExit("bye"), _Exotic("odd"),
                                 GeneratorExit()], ids=lambda e: type(e).__name__)
def test_a_benchmark_that_exits_fails_only_its_own_evaluation(exc):
    r = run_method("hyperband", LyingEnvelope("raise", exc, max_resource=27))
    assert r.status == "complete"
    failed = [row for row in r.rows if row["status"] == "failed"]
    assert failed and all(type(exc).__name__ in row["error"] for row in failed)
    assert len(failed) < len(r.rows)


@pytest.mark.parametrize("value", [math.nan, math.inf, "x"])
def test_a_non_finite_test_loss_never_makes_the_reported_incumbent(value):
    class BestButBroken(LyingEnvelope):  # the liars also claim the best validation loss
        def evaluate(self, config, resource, seed, resume_from=None):
            ev = super().evaluate(config, resource, seed, resume_from)
            if _liar(seed):
                ev.val_loss = -1.0
            return ev

    r = run_method("hyperband", BestButBroken("test_loss", value, max_resource=27))
    assert r.incumbent is not None and math.isfinite(r.incumbent["test_loss"])
    assert r.incumbent["val_loss"] > -1.0
    assert all(row["status"] == "failed" for row in r.rows if row["val_loss"] == -1.0)


class DyingEnvelope(EnvelopeBenchmark):
    """Kills its worker process on a few jobs (as the OOM killer would); slow enough
    that other workers have jobs in flight at that moment."""

    def evaluate(self, config, resource, seed, resume_from=None):
        if seed % 5 == 0 and resource >= 3:
            os._exit(1)
        return super().evaluate(config, resource, seed, resume_from)


def test_a_dead_worker_fails_only_its_own_job():
    b = DyingEnvelope(max_resource=27, sleep_per_unit=0.002)
    r = run_method("hyperband", b, budget=5, executor=ProcessExecutor(2))
    failed = [row for row in r.rows if row["status"] == "failed"]
    died = {(row["trial_id"], row["resource"]) for row in r.rows
            if trial_seed_of(row) % 5 == 0 and row["resource"] >= 3}
    assert died and {(row["trial_id"], row["resource"]) for row in failed} == died
    assert all("worker process died" in row["error"] for row in failed)


def trial_seed_of(row) -> int:
    from hpobench.seeding import trial_seed
    return trial_seed(row["seed"], row["trial_id"])


# ---------------------------------------------------------------------------------------
# 3. Damaged run directories
# ---------------------------------------------------------------------------------------

def _complete_run(tmp_path: Path) -> Path:
    p = sweep("budget=2", f"results_dir={tmp_path}")
    assert p.returncode == 0, p.stderr
    [d] = [f.parent for f in tmp_path.rglob("run.json")]
    return d


def test_a_complete_run_without_its_table_says_so(tmp_path):
    d = _complete_run(tmp_path)
    (d / "evaluations.parquet").unlink()
    p = sweep("budget=2", f"results_dir={tmp_path}")
    assert p.returncode == 2
    assert "0 evaluations" not in p.stdout + p.stderr
    assert p.stderr.count("\n") == 1 and "evaluations.parquet holds none (missing)" in p.stderr


def test_a_truncated_table_next_to_a_garbled_run_json_is_one_line(tmp_path):
    d = _complete_run(tmp_path)
    t = d / "evaluations.parquet"
    t.write_bytes(t.read_bytes()[: t.stat().st_size // 2])
    (d / "run.json").write_text('{"status": "comp')
    p = sweep("budget=2", f"results_dir={tmp_path}")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.count("\n") == 1 and "evaluations.parquet: unreadable" in p.stderr


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory) -> Path:
    """A run killed (SIGKILL) after its 20th result was told, made once per module."""
    return _interrupted_run(tmp_path_factory.mktemp("interrupted"))


def _copy_of(d: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(d, tmp_path / "run"))


def _interrupted_run(tmp_path: Path, n: int = 20) -> Path:
    d = tmp_path / "run"
    code = ("from hpobench.benchmarks.envelope import EnvelopeBenchmark\n"
            "from tests.test_adversarial import run_method\n"
            f"run_method('hyperband', EnvelopeBenchmark(max_resource=27), run_dir={str(d)!r})")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "HPOBENCH_FAULT": f"commit:{n}"}, timeout=120)
    assert p.returncode == -9, p.stderr
    return d


@pytest.mark.parametrize("bad", [b"[1, 2]", b"42", b'"row"', b"null", b"{}", b'{"trial_id": 1}',
                                 b"\xff\xfe garbage"])
@pytest.mark.parametrize("where", ["middle", "last"])
def test_a_damaged_journal_line_is_a_one_line_error(tmp_path, bad, where, interrupted_run):
    d = _copy_of(interrupted_run, tmp_path)
    j = d / "evaluations.jsonl"
    lines = j.read_bytes().splitlines(keepends=True)
    lines.insert(5 if where == "middle" else len(lines), bad + b"\n")
    j.write_bytes(b"".join(lines))
    with pytest.raises(ConfigError, match=r"evaluations.jsonl: line \d+ .*altered"):
        run_method("hyperband", EnvelopeBenchmark(max_resource=27), run_dir=d)


def test_a_torn_last_journal_line_is_dropped_and_the_run_resumes(tmp_path, interrupted_run):
    d = _copy_of(interrupted_run, tmp_path)
    j = d / "evaluations.jsonl"
    j.write_bytes(j.read_bytes() + b'{"trial_id": 3, "job_')  # a write cut by a kill
    r = run_method("hyperband", EnvelopeBenchmark(max_resource=27), run_dir=d)
    fresh = run_method("hyperband", EnvelopeBenchmark(max_resource=27))
    assert [x["val_loss"] for x in r.rows] == [x["val_loss"] for x in fresh.rows]


def test_a_corrupt_mnist_cache_is_rebuilt_not_a_traceback(tmp_path, capsys):
    from hpobench.benchmarks import mnist

    for junk in (b"not a zip at all", b"PK\x03\x04 truncated zip", b""):
        cache = tmp_path / "mnist.npz"
        cache.write_bytes(junk)
        assert mnist._read_cache(cache) is None
        assert "ignoring unreadable MNIST cache" in capsys.readouterr().err


def test_joblib_workers_die_with_a_killed_sweep_and_a_relaunch_takes_over(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    import signal
    import time

    args = [sys.executable, "-m", "runners.sweep", "-m", "hydra/launcher=local",
            "hydra.launcher.n_jobs=2", "seed=0,1", "budget=3", "benchmark.sleep_per_unit=0.01",
            f"results_dir={tmp_path}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sweep_p = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while len(list(tmp_path.rglob(".lock"))) < 2 and time.time() < deadline:
            time.sleep(0.1)
        owners = [json.loads(p.read_text() or "{}").get("pid") for p in tmp_path.rglob(".lock")]
        assert len(owners) == 2 and all(owners), owners
    finally:
        sweep_p.send_signal(signal.SIGKILL)
        sweep_p.wait()
    time.sleep(2)  # the workers notice within 0.5 s

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False

    survivors = [pid for pid in owners if alive(pid)]
    for pid in survivors:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors
    p = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and "in use" not in p.stderr, p.stderr
    assert p.stdout.count("complete: ") == 2


# ---------------------------------------------------------------------------------------
# 4. The command line: one line per problem, one exit-code convention, sweeps go on
# ---------------------------------------------------------------------------------------

def test_ctrl_c_prints_one_line_and_the_same_command_resumes(tmp_path):
    import signal
    import time

    args = [sys.executable, "-m", "runners.sweep", "budget=4", "benchmark.sleep_per_unit=0.02",
            f"results_dir={tmp_path}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not list(tmp_path.rglob("evaluations.jsonl")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert err.strip() == "interrupted; rerun the same command to resume"
    [meta] = tmp_path.rglob("run.json")
    assert json.loads(meta.read_text())["status"] == "interrupted"
    again = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "resuming" in again.stderr, again.stderr
    assert json.loads(meta.read_text())["status"] == "complete"


@pytest.mark.parametrize("override", ["method=hyperbnd", "method.etaa=2", "method.eta=1"])
def test_bad_input_exits_2_whether_hydra_or_hpobench_finds_it(tmp_path, override):
    p = sweep(override, f"results_dir={tmp_path}")
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert not list(tmp_path.rglob("run.json"))


def test_a_multirun_runs_the_other_jobs_and_lists_the_bad_one(tmp_path):
    p = sweep("-m", "method.eta=3,1,2", "budget=1", f"results_dir={tmp_path}")
    assert p.returncode == 3, p.stderr
    assert len(list(tmp_path.rglob("run.json"))) == 2
    summary = p.stderr[p.stderr.index("sweep: 1 job(s) failed"):]
    assert "method.eta=1" in summary and "method.eta: must be" in summary


def test_a_multirun_runs_the_other_jobs_when_one_is_refused(tmp_path):
    busy = tmp_path / "envelope" / "hyperband" / "budget=1" / "seed=0"
    busy.mkdir(parents=True)
    lock = Lock(busy).acquire()  # another process is running seed 0
    try:
        p = sweep("-m", "seed=0,1", "budget=1", f"results_dir={tmp_path}")
    finally:
        lock.release()
    assert p.returncode == 3, p.stderr
    assert [m.parent.name for m in tmp_path.rglob("run.json")] == ["seed=1"]
    assert "in use by pid" in p.stderr[p.stderr.index("sweep: 1 job(s) failed"):]


@pytest.mark.parametrize("kind", ["file", "long_name", "long_path", "cannot_create"])
def test_a_results_dir_that_cannot_hold_runs_is_one_line(tmp_path, kind):
    where = {"file": tmp_path / "afile", "long_name": tmp_path / ("x" * 300),
             "long_path": tmp_path.joinpath(*["d" * 200] * 21), "cannot_create": "/proc/hpobench"}
    (tmp_path / "afile").write_text("")
    for mode in ([], ["-m"]) if kind == "file" else ([],):  # a sweep checks it the same way
        p = sweep(*mode, "budget=1", f"results_dir={where[kind]}")
        assert p.returncode == 2, p.stderr
        assert p.stderr.startswith("error: results_dir: ") and p.stderr.count("\n") == 1, p.stderr


# ---------------------------------------------------------------------------------------
# 5. Bad input for every field of every group: one line naming the field, before any work
# ---------------------------------------------------------------------------------------

#: keys that name or describe a group (not settings) or are composition machinery
_NOT_SETTINGS = {"_target_", "name", "label", "description", "defaults"}
#: bad values (as Hydra parses them from the command line: ``abc``, ``nan``, ``true``,
#: ``[1]``, ``{a:1}``) by the kind of the shipped default; a ``None`` default means
#: "optional <something>", and none of these is any setting's something
_BAD = {
    "number": ["abc", math.nan, math.inf, -math.inf, True, [1], {"a": 1}],
    "bool": ["abc", 1, 0.5, [True]],
    "str": [123, True, ["a"], {"a": 1}],
    "none": [True, {"a": 1}],
}
#: values of the lists above that are legal for one field
_LEGAL = {("executor.batch", "True"), ("progress", "True")}


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "str"
    return "none" if value is None else "other"


_COMPOSED: dict = {}


def _composed(group: str, option: str) -> dict:
    """The plain config of ``group=option`` (composed once: Hydra takes ~0.1 s a time)."""
    from omegaconf import OmegaConf

    key = (group, option)
    if key not in _COMPOSED:
        pick = [f"{group}={option}"] if group else []
        if group == "benchmark" and option == "table":
            pick.append("method=random")
        _COMPOSED[key] = OmegaConf.to_container(compose_cfg(pick), resolve=True)
    return _COMPOSED[key]


def _group_fields():
    """(group, option, dotted field, shipped default) for every setting of every
    conf/benchmark, conf/method and conf/executor file, nested factories included (a new
    field in a YAML file is covered without touching this test)."""
    out = []
    for group in ("benchmark", "method", "executor"):
        for f in sorted((ROOT / "conf" / group).glob("*.yaml")):
            def walk(d, prefix):
                for k, v in d.items():
                    if k in _NOT_SETTINGS:
                        continue
                    if isinstance(v, dict):
                        walk(v, f"{prefix}.{k}")
                    else:
                        out.append((group, f.stem, f"{prefix}.{k}", v))
            walk(_composed(group, f.stem)[group], group)
    for key in ("seed", "budget", "reuse", "progress"):
        out.append(("", "", key, _composed("", "")[key]))
    return out


_FIELDS = _group_fields()
_CASES = [pytest.param(g, opt, field, bad, id=f"{opt or 'run'}:{field}={bad!r}")
          for g, opt, field, default in _FIELDS for bad in _BAD.get(_kind(default), [])
          if (field, repr(bad)) not in _LEGAL]


@pytest.mark.parametrize("group, option, field, bad", _CASES)
def test_every_field_rejects_bad_values_with_one_line_naming_it(group, option, field, bad,
                                                                 monkeypatch):
    import copy

    from hpobench.experiment import run_from_config

    need = missing_requirement(option) if group == "method" else None
    if need:  # a peer method (the optional `peers` extra) not installed here
        pytest.skip(f"method={option} needs {need!r}")
    monkeypatch.setattr(_run_loop(), "execute", _no_work)
    cfg = copy.deepcopy(_composed(group, option))
    *path, last = field.split(".")
    node = cfg
    for k in path:
        node = node[k]
    node[last] = bad
    with pytest.raises(ConfigError) as e:
        run_from_config(cfg, run_dir=None)
    msg = str(e.value)
    if "needs the peers extra" in msg:  # checked where the peer libraries are installed
        pytest.skip(msg)
    assert msg.startswith(f"{field}:") and "\n" not in msg, msg


def _run_loop():
    """The run loop's class (patched so that bad input reaching it fails the test)."""
    from hpobench.loop import Loop

    return Loop


def _no_work(self, *a, **k):
    raise AssertionError("bad input reached the run loop")


def test_the_field_list_covers_every_group_file():
    covered = {(g, o) for g, o, _, _ in _FIELDS}
    for group in ("benchmark", "method", "executor"):
        for f in (ROOT / "conf" / group).glob("*.yaml"):
            # a group without settings (random search) has nothing to break
            text = [ln for ln in f.read_text().splitlines()
                    if ln.strip() and not ln.lstrip().startswith("#")]
            settings = [ln for ln in text if ln.split(":")[0].strip() not in _NOT_SETTINGS]
            assert (group, f.stem) in covered or not settings, f


@pytest.mark.parametrize("overrides, field", [
    (["benchmark.max_resource=1e12"], "benchmark.max_resource"),
    (["benchmark.max_resource=1000000000000"], "benchmark.max_resource"),
    (["executor=dask", "executor.workers=0"], "executor.workers"),
    (["executor=processes", "executor.workers=0"], "executor.workers"),
    (["executor=processes", "executor.workers=100000"], "executor.workers"),
    (["benchmark.weights=[nan,1,1,1]"], "benchmark.weights"),
    (["benchmark.weights=[1,1,1]"], "benchmark.weights"),
    (["method=grid", "method.points=100000"], "method.points"),
    (["benchmark.optimum=[2,0.5,0.5,0.5]"], "benchmark.optimum"),
    (["seed=1.5"], "seed"), (["seed=true"], "seed"),
    (["progress=-2"], "progress"), (["progress=yes"], "progress"),  # progress=2: log every 2 s
])
def test_absurd_and_out_of_range_values_are_one_line(overrides, field, monkeypatch):
    monkeypatch.setattr(_run_loop(), "execute", _no_work)
    from hpobench.experiment import run_from_config

    with pytest.raises(ConfigError) as e:
        run_from_config(compose_cfg(overrides), run_dir=None)
    assert str(e.value).startswith(f"{field}:"), str(e.value)


# ---------------------------------------------------------------------------------------
# 6. "Same rows serial or parallel": what `submitted` is
# ---------------------------------------------------------------------------------------

def test_submitted_is_an_execution_trace_outside_the_same_rows_claim():
    from hpobench.results import TIMING_COLUMNS

    b = EnvelopeBenchmark(max_resource=27)
    serial = run_method("hyperband", b, budget=2)  # batched: a whole rung at once
    parallel = run_method("hyperband", b, budget=2, executor=ProcessExecutor(2))
    strip = lambda rows: [{k: v for k, v in r.items() if k not in TIMING_COLUMNS} for r in rows]
    assert strip(serial.rows) == strip(parallel.rows)
    assert [r["submitted"] for r in serial.rows] != [r["submitted"] for r in parallel.rows]
    # so the documentation says so, next to wall_time, wherever it promises "same rows"
    assert "submitted" in TIMING_COLUMNS
    readme = (ROOT / "README.md").read_text()
    assert "`submitted` are an execution trace" in readme
    assert "same rows, serial or parallel\n  (apart from the execution trace: `wall_time`, " \
           "`optimizer_time`, `elapsed`, `submitted`)" in readme
