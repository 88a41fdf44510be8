"""Plotting helpers shared by the paper figures: one place for method styles
(:mod:`hpobench.plotting.styles`) and for drawing aggregated curves
(:mod:`hpobench.plotting.curves`).  matplotlib is imported only by ``curves``."""
