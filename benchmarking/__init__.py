"""Measurements of the harness, outside the library (as syne-tune keeps its
``benchmarking/`` beside its package): one module per measurement, each returning
:class:`~benchmarking.common.Line` objects, every figure a ratio against a baseline
measured in the same process run.

=======================  ===============================================================
``hyperband_overhead``   1. one Hyperband iteration vs the bare objective and Optuna
``run_loop``             2. the run loop's cost per evaluation
``wrappers``             3. TPE / GP / forest adapters vs their libraries called directly
``paper_sweep``          4. every method x 20 seeds at 50 R through one Hydra multirun
``lenet_throughput``     5. LeNet training through the benchmark vs a bare PyTorch loop
``upkeep``               6. each micro-optimisation vs the plain library call it replaces
``peers``                7. the peer adapters' own work vs the time inside their libraries
``table_replay``         8. replaying the LeNet table vs the envelope table, simulated vs serial
``figure3_sweep``        9. the Figure 3 sweep from a table, hpobench's sweeper vs Hydra's
``synetune_sim``        10. ASHA on a table on simulated time vs syne-tune's simulator
=======================  ===============================================================

``python -m runners.bench`` runs them and prints the table; the library (``hpobench``)
never imports from here.  Not shipped in the wheel: it measures a checkout.
"""
