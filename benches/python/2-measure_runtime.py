#!/usr/bin/env python3
"""Task 2: measure_time, the average time per coroutine of wait_n."""
import asyncio
import time

wait_n = __import__('1-concurrent_coroutines').wait_n


def measure_time(n: int, max_delay: int) -> float:
    """Time wait_n(n, max_delay) and return total_time / n."""
    start = time.perf_counter()
    asyncio.run(wait_n(n, max_delay))
    return (time.perf_counter() - start) / n
