"""``python -m benchmarks NAME [--quick]`` / ``python -m benchmarks --list``.

Exit status 0 when the benchmark meets its target, 1 when it does not, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from pathlib import Path

import benchmarks


def available() -> list[str]:
    here = Path(benchmarks.__file__).parent
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", help="benchmark to run (see --list)")
    parser.add_argument("--quick", action="store_true", help="reduced size, finishes in under a minute")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    names = available()
    if args.list:
        for name in names:
            doc = (importlib.import_module(f"benchmarks.bench_{name}").__doc__ or "").strip().splitlines()
            print(f"{name:16s} {doc[0] if doc else ''}")
        return 0
    if not args.name:
        parser.error("give a benchmark name or --list")
    if args.name not in names:
        parser.error(f"unknown benchmark {args.name!r}; available: {', '.join(names)}")
    module = importlib.import_module(f"benchmarks.bench_{args.name}")
    result = module.run(quick=args.quick)
    for line in result.details:
        print(line)
    print(result.line(), flush=True)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
