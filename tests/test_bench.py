"""runners.bench runs end to end and writes its table as JSON (no timing is asserted:
these machines are noisy; the figures are for people to read)."""
from __future__ import annotations

import json
import math
import subprocess
import sys

from tests.conftest import ROOT

PARTS_IN_QUICK = {  # every line --quick must name, whatever this machine has installed
    "hyperband_iteration", "hyperband_iteration_vs_optuna", "hyperband_iteration_in_memory",
    "hyperband_iteration_cold", "hyperband_iteration_in_memory_vs_optuna",
    "hyperband_bare_batched", "hyperband_loop_in_memory_vs_bare_batched",
    "random_loop_overhead_per_eval",
    "random_loop_overhead_per_eval_in_memory", "wrapper_overhead_tpe", "wrapper_overhead_gp",
    "wrapper_overhead_rf", "lenet_throughput", "upkeep_trial_seeds", "upkeep_rows_to_table",
    "upkeep_evaluate_many",
    # part 7: one line per peer method, "not available" without the peers extra
    "peer_overhead_smac", "peer_overhead_smac_hyperband", "peer_overhead_hpbandster_bohb",
    "peer_overhead_hyperopt_tpe", "peer_overhead_synetune_asha", "peer_overhead_synetune_bohb",
    "peer_overhead_kerastuner_hyperband", "peer_overhead_raytune_hyperband",
    "peer_overhead_raytune_asha",
    # part 8: replaying tables
    "table_replay_lenet_vs_envelope_per_eval", "table_replay_simulated_vs_serial_per_eval",
    # part 9: the Figure 3 sweep, hpobench's sweeper against Hydra's basic one
    "figure3_sweep_vs_basic_sweeper", "figure3_sweep_wall",
    # part 10: ASHA on simulated time against syne-tune's simulator ("not available" without it)
    "synetune_sim_asha_per_eval", "synetune_sim_asha_per_eval_16_workers",
    "synetune_sim_asha_per_eval_run_dir", "synetune_sim_asha_per_eval_default_sleep",
    "synetune_sim_trace_evaluations", "synetune_sim_trace_end_time",
}


def test_quick_bench_writes_every_ratio_as_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "runners.bench", "--quick", "--smoke",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    lines = {l["name"]: l for l in doc["lines"]}
    assert set(lines) == PARTS_IN_QUICK
    for name, l in lines.items():
        assert set(l) >= {"measured", "baseline", "unit", "ratio", "goal", "met", "note"}
        assert name in proc.stdout  # printed in the table too
        if l["note"].startswith("not available"):
            assert l["ratio"] is None and l["met"] is None
            continue
        assert l["measured"] is not None and l["baseline"] > 0
        assert math.isclose(l["ratio"], l["measured"] / l["baseline"])
        assert l["met"] in (True, False, None)
        assert (l["met"] is None) == (l["goal"] == "-")
    # the two goals of part 1 are judged, whatever the outcome on this machine
    assert lines["hyperband_iteration"]["met"] is not None
    assert lines["hyperband_iteration_vs_optuna"]["met"] is not None
    assert lines["hyperband_iteration_in_memory_vs_optuna"]["met"] is not None
    assert "R=81 eta=3: 206 evaluations, 1581 units" in lines["hyperband_iteration"]["note"]

