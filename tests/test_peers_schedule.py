"""``python -m runners.schedule --peers``: each installed peer's schedule, computed by its
own code, next to Algorithm 1 and Table 1, with the difference named.  Expected values
are hand-computed (the paper's Table 1; R=243 with one bracket lost)."""
from __future__ import annotations

import pytest

from hpobench.optimizers import peer_schedules as ps
from runners.schedule import main, peers_text

NEEDS = "the peers extra is not installed (pip install -c constraints.txt -e '.[peers]')"
TABLE1_81 = [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)], [(27, 3), (9, 9), (3, 27), (1, 81)],
             [(9, 9), (3, 27), (1, 81)], [(6, 27), (2, 81)], [(5, 81)]]
ALG1_81 = [[(81, 1), (27, 3), (9, 9), (3, 27), (1, 81)], [(34, 3), (11, 9), (3, 27), (1, 81)],
           [(15, 9), (5, 27), (1, 81)], [(8, 27), (2, 81)], [(5, 81)]]


def test_smac3_plans_algorithm1_at_81_and_loses_a_bracket_at_243():
    pytest.importorskip("smac", reason=NEEDS)
    assert ps.smac3(81, 3) == ALG1_81
    assert ps.compare(ps.smac3(81, 3), 81, 3) == "same as Algorithm 1"
    at243 = ps.smac3(243, 3)
    assert at243 == [[(n, 3 * r) for n, r in b] for b in ALG1_81]
    text = ps.compare(at243, 243, 3)
    assert "5 brackets instead of 6" in text and "Algorithm 1 for R=81" in text


def test_hpbandster_plans_the_printed_table_and_loses_a_bracket_at_243():
    pytest.importorskip("hpbandster", reason=NEEDS)
    assert ps.hpbandster(81, 3) == TABLE1_81
    assert ps.compare(ps.hpbandster(81, 3), 81, 3) == "same as the printed Table 1"
    assert ps.hpbandster(243, 3) == [[(n, 3 * r) for n, r in b] for b in TABLE1_81]
    assert "the printed Table 1 for R=81" in ps.compare(ps.hpbandster(243, 3), 243, 3)


def test_cli_prints_the_peers_after_both_tables(capsys):
    pytest.importorskip("smac", reason=NEEDS)
    pytest.importorskip("hpbandster", reason=NEEDS)
    assert main(["--R", "243", "--peers"]) == 0
    out = capsys.readouterr().out
    assert out.index("paper_table") < out.index("SMAC3 HyperbandFacade: differs") < out.index(
        "HpBandSter HyperBand: differs")
    assert "  81/3, 27/9, 9/27, 3/81, 1/243" in out


def test_a_peer_that_is_not_installed_is_named(monkeypatch):
    def missing(R, eta):
        raise ModuleNotFoundError("No module named 'keras_tuner'", name="keras_tuner")

    monkeypatch.setattr(ps, "PEERS", {"Keras Tuner Hyperband": ("keras_tuner", missing)})
    text = peers_text(81, 3)
    assert "Keras Tuner Hyperband: not installed (keras_tuner)" in text


def test_compare_names_a_schedule_that_is_neither():
    # Keras Tuner's per-rung ceil at R=81 (from the ANCHORS notes): 34/12/4/2 in bracket 3
    kt = [list(b) for b in ALG1_81]
    kt[1] = [(34, 3), (12, 9), (4, 27), (2, 81)]
    text = ps.compare(kt, 81, 3)
    assert text.startswith("differs") and "81/34/15/8/5" in text


def test_keras_tuner_rounds_up_at_every_round():
    """R=81, eta=3: bracket 3 runs 34/12/4/2 (Algorithm 1: 34/11/3/1), ANCHORS.md."""
    pytest.importorskip("keras_tuner", reason=NEEDS)
    pytest.importorskip("torch", reason="Keras 3 runs on the torch backend here")
    kt = ps.keras_tuner(81, 3)
    assert kt[0] == ALG1_81[0] and kt[4] == ALG1_81[4]
    assert kt[1] == [(34, 3), (12, 9), (4, 27), (2, 81)]
    assert ps.compare(kt, 81, 3).startswith("differs")
