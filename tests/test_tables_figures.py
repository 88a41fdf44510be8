"""The simulated-time figure draws from simulated runs and says its n (issue #14)."""
from __future__ import annotations

import numpy as np

from hpobench.experiment import run_from_config
from paper_figures._common import Results
from paper_figures.simulated_time import make, time_curves
from tests.conftest import compose_cfg


def test_simulated_time_figure_from_table_runs(tmp_path):
    for w in (1, 4):
        for method in ("hyperband", "random"):
            for seed in (0, 1):
                cfg = compose_cfg(["+experiment=table_simulated", f"method={method}",
                                   f"executor.workers={w}", f"seed={seed}", "budget=3"])
                run_from_config(cfg, run_dir=tmp_path / f"table_envelope_w{w}" / method /
                                f"seed={seed}")
    res = Results(tmp_path)
    curves = time_curves(res)
    assert sorted(curves["workers"].unique()) == [1, 4]
    assert set(curves["table"]) == {"table_envelope"}
    for _, c in curves.groupby("run_dir"):
        assert np.all(np.diff(c["x"].to_numpy()) >= 0)  # simulated completion order
    # 4 workers finish the same budget sooner than 1 (random search: every job costs 81 s)
    end = curves.groupby(["workers", "method", "seed"])["x"].max()
    assert end[(4, "random", 0)] < end[(1, "random", 0)] == 3 * 81
    out = make(res, tmp_path / "figs")
    assert [p.name for p in out.written] == ["simulated_time_table_envelope.png",
                                             "simulated_time_table_envelope.pdf"]
    empty = make(Results(tmp_path / "none"), tmp_path / "figs")
    assert not empty.written and "table_simulated" in empty.missing[0].commands[0]
