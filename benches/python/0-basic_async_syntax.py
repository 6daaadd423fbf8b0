#!/usr/bin/env python3
"""Task 0: wait_random, a coroutine that sleeps a random delay and returns it."""
import asyncio
import random


async def wait_random(max_delay: int = 10) -> float:
    """Wait a uniform random delay in [0, max_delay] seconds and return it."""
    delay = random.uniform(0, max_delay)
    await asyncio.sleep(delay)
    return delay
