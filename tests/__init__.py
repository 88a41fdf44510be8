"""hpobench's test suite.  A package (not a namespace): some PyPI projects (autorank,
baycomp) install a top-level ``tests`` package, which would otherwise shadow this one."""
