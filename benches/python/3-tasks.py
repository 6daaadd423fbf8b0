#!/usr/bin/env python3
"""Task 3: task_wait_random, wait_random as an asyncio.Task."""
import asyncio

wait_random = __import__('0-basic_async_syntax').wait_random


def task_wait_random(max_delay: int) -> asyncio.Task:
    """Schedule wait_random(max_delay) as a task and return it."""
    return asyncio.create_task(wait_random(max_delay))
