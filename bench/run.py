"""Run every benchmark in bench/ on a throw-away database and print one table (`make bench`).

`make bench ARGS="--full"` runs the full-size profiling benchmark (10M rows, about 1 GB of CSV);
`ARGS="--only profiling"` runs only the benchmark modules whose name contains that word.
"""

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_databourse")
FULL_PROFILE_ROWS = "10000000"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="profiling at full size: 10M rows, about 1 GB of CSV")
    parser.add_argument("--only", metavar="WORD", default="", help="run only bench_<module>s whose name has WORD")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.full:
        # Read by bench_profiling when it is imported below; an explicit BENCH_PROFILE_ROWS still wins.
        os.environ.setdefault("BENCH_PROFILE_ROWS", FULL_PROFILE_ROWS)
    import django
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    django.setup()
    from bench.harness import print_table

    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    results = []
    try:
        for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
            if module_info.name.startswith("bench_") and args.only in module_info.name:
                module = importlib.import_module(f"bench.{module_info.name}")
                results.extend(bench() for bench in module.BENCHMARKS)
    finally:
        teardown_databases(old, verbosity=0)
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
