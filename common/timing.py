"""Timing helper shared by the benchmark commands."""

import statistics
import time


def median_ms(action, repeat: int) -> float:
    """Median wall time of `action` in milliseconds, after one untimed warm-up run."""
    action()  # warm up: imports, fonts, templates, caches filled once
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)
