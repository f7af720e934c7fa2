"""Run every benchmark in bench/ on a throw-away database and print one table (`make bench`)."""

import importlib
import os
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_databourse")


def main() -> int:
    import django
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    django.setup()
    from bench.harness import print_table

    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    results = []
    try:
        for module_info in pkgutil.iter_modules([str(Path(__file__).parent)]):
            if module_info.name.startswith("bench_"):
                module = importlib.import_module(f"bench.{module_info.name}")
                results.extend(bench() for bench in module.BENCHMARKS)
    finally:
        teardown_databases(old, verbosity=0)
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
