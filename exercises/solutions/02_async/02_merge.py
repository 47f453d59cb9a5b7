"""参考答案: 练习 02_merge —— 合并多条异步流, 有界队列与背压。先自己做, 再来对照。"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TypeVar

T = TypeVar("T")
ITEM, ERROR, DONE = "item", "error", "done"  # 队列里每一条是 (种类, 值)


async def merge(*streams: AsyncGenerator[T, None], maxsize: int = 1) -> AsyncIterator[T]:
    queue: asyncio.Queue = asyncio.Queue(maxsize)  # 有界: 消费者慢时, put() 在这里等

    async def pump(stream: AsyncGenerator[T, None]) -> None:
        # aclosing: 任务停在 put() 上被取消时, 流还暂停在 yield 处, 要替它 aclose()。
        async with aclosing(stream):
            try:
                async for item in stream:
                    await queue.put((ITEM, item))
            except Exception as exc:
                await queue.put((ERROR, exc))
                return
        await queue.put((DONE, None))

    tasks = [asyncio.create_task(pump(stream)) for stream in streams]
    try:
        running = len(tasks)
        while running:
            kind, value = await queue.get()
            if kind == DONE:
                running -= 1
            elif kind == ERROR:
                raise value
            else:
                yield value
    finally:
        # 正常结束、出错、被 aclose()、被取消: 停下所有读的任务, 并等它们的清理做完。
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
