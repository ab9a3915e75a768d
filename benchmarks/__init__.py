"""Benchmarks: ``python -m benchmarks NAME [--quick]`` runs ``benchmarks/bench_NAME.py``.

Each ``bench_NAME`` module has ``run(quick: bool) -> Result``. Figures are ratios against a baseline
measured in the same run (machines are noisy); the last line printed is always
``RESULT name=NAME value=FIGURE unit=UNIT target=TARGET pass=yes|no``.
"""
