"""A tiny benchmark harness: each figure is timed next to its baseline in the same run, and reported as a ratio.

Machines here are shared and noisy, so absolute times mean little; the ratio of two measurements taken
back to back, each the best of several repeats, is what we watch.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One benchmark: what was measured, its baseline, and the goal for their ratio."""

    name: str
    seconds: float
    baseline_name: str
    baseline_seconds: float
    goal: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.baseline_seconds if self.baseline_seconds else float("inf")

    @property
    def ok(self) -> bool:
        return self.ratio <= self.goal


def best_of(fn: Callable[[], object], *, repeat: int = 5) -> float:
    """The fastest of `repeat` runs, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(name: str, fn: Callable, baseline_name: str, baseline: Callable, *, goal: float, repeat: int = 5) -> Result:
    """Time `fn` and `baseline` alternately and return both with the goal for their ratio."""
    fn(), baseline()  # warm caches and connections once
    runs, base_runs = [], []
    for _ in range(repeat):
        runs.append(best_of(fn, repeat=1))
        base_runs.append(best_of(baseline, repeat=1))
    return Result(name, min(runs), baseline_name, min(base_runs), goal)


def print_table(results: list[Result]) -> None:
    header = f"{'benchmark':<58} {'figure':>10} {'baseline':<34} {'base':>10} {'ratio':>7} {'goal':>6}  ok"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<58} {r.seconds * 1000:>8.2f}ms {r.baseline_name:<34} {r.baseline_seconds * 1000:>8.2f}ms "
            f"{r.ratio:>6.2f}x {r.goal:>5.1f}x  {'yes' if r.ok else 'NO'}"
        )
