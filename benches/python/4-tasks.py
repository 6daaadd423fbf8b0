#!/usr/bin/env python3
"""Task 4: task_wait_n, wait_n over task_wait_random tasks."""
import asyncio
from typing import List

task_wait_random = __import__('3-tasks').task_wait_random


async def task_wait_n(n: int, max_delay: int) -> List[float]:
    """Run task_wait_random n times; return the delays ascending."""
    tasks = [task_wait_random(max_delay) for _ in range(n)]
    delays = [await done for done in asyncio.as_completed(tasks)]
    return sorted(delays)
