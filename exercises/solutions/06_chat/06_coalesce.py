"""参考答案: 练习 06_coalesce —— 按时间窗口合并输出, 第一片立刻发出。先自己做, 再来对照。

和第 06 课的 relay 是同一个结构 (去掉了保活和"种类"): 一个任务只管读, 这个循环按节奏交出。
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator


async def coalesce(source: AsyncGenerator[str, None], window: float) -> AsyncIterator[str]:
    buffer: list[str] = []
    wake = asyncio.Event()  # 有新的片, 或者上游结束了
    failure: list[Exception] = []
    done = False

    async def read() -> None:
        nonlocal done
        try:
            async for piece in source:
                buffer.append(piece)
                wake.set()
        except Exception as exc:
            failure.append(exc)
        finally:
            done = True
            wake.set()

    reader = asyncio.create_task(read())
    try:
        while True:
            await wake.wait()  # 安静时在这里等; 新的一片一到, 立刻醒来
            wake.clear()
            if buffer:
                text = "".join(buffer)
                buffer.clear()
                yield text
            if done and not buffer:
                break
            await asyncio.sleep(window)  # 交出一次, 歇一个窗口; 其间到达的片会合在一起
        if failure:
            raise failure[0]
    finally:
        reader.cancel()  # 消费者走了 (或者出错了): 停止读上游, 上游的 finally 随之执行
        await asyncio.gather(reader, return_exceptions=True)
