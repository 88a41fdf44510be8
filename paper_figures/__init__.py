"""Paper-style figures and tables, one module per figure, regenerated from ``results/``.

    python -m paper_figures                       # results/ -> paper_figures/out/
    python -m paper_figures --results /tmp/r --out /tmp/figs

Modules (each also runs alone, e.g. ``python -m paper_figures.method_comparison``):

=====================  ==========================================================
``method_comparison``  1. mean test error of the incumbent vs total resource (x R)
``brackets``           2. each bracket s alone (successive halving) and Hyperband
``envelope``           3. learning curves in their envelope (no results needed)
``grid_vs_random``     4. nine trials of grid vs random search (Bergstra & Bengio)
``table1``             5. the bracket table for R=81, eta=3, both schedule variants
``summary``            6. final error, resource to reach random search, speed-up
=====================  ==========================================================

See hpobench/docs/figures.md for the sweep (``conf/experiment/*.yaml``) that feeds each one.
"""
