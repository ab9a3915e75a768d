"""Package list only; all metadata lives in pyproject.toml.

The top-level resources/ folder is installed as ``lms_console.resources``
(mapped in pyproject's ``[tool.setuptools.package-dir]``), which automatic
discovery cannot find on its own.
"""

from setuptools import find_packages, setup

setup(packages=find_packages(include=["lms_console", "lms_console.*"]) + ["lms_console.resources"])
