#!/usr/bin/env python3
"""Task 1: wait_n, n concurrent wait_random coroutines, delays ascending."""
import asyncio
from typing import List

wait_random = __import__('0-basic_async_syntax').wait_random


async def wait_n(n: int, max_delay: int) -> List[float]:
    """Run wait_random n times concurrently; return the delays ascending."""
    delays = [await done for done in
              asyncio.as_completed([wait_random(max_delay) for _ in range(n)])]
    # Completion order is nearly, not exactly, ascending.
    return sorted(delays)
