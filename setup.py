"""Build hook: ship the Hydra configs inside the package.

Users edit the checkout's top-level ``conf/``; a wheel has no checkout, so ``build_py``
copies ``conf/`` to ``hpobench/conf/`` in the build (never into the source tree), where
:func:`hpobench.configs.config_dir` finds it after a normal install.  Everything else
is declared in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithConf(build_py):
    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "conf"
        target = Path(self.build_lib) / "hpobench" / "conf"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithConf})
