"""参考答案: 练习 06_relay —— 转发给客户端, 断开时立刻取消上游。先自己做, 再来对照。

Starlette 的 StreamingResponse 内部就是这个结构: 一个任务发送, 另一个任务监听 http.disconnect。
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

Send = Callable[[bytes], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


async def relay(upstream: AsyncGenerator[bytes, None], send: Send, receive: Receive) -> str:
    async def forward() -> None:
        async for chunk in upstream:
            await send(chunk)  # 一块一到就转发

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass  # http.request 之类的消息: 继续等

    forwarding = asyncio.create_task(forward())
    watching = asyncio.create_task(disconnected())
    try:
        await asyncio.wait({forwarding, watching}, return_when=asyncio.FIRST_COMPLETED)
        if not forwarding.done():
            return "disconnected"  # 上游可能正在沉默: finally 取消那次读取
        try:
            forwarding.result()  # 上游出错: 原样抛出
        except ConnectionError:
            return "disconnected"
        return "completed"
    finally:
        # 任何结局 (包括 relay 自己被取消): 停下两个任务, 等它们真正结束, 再关闭上游。
        for task in (forwarding, watching):
            task.cancel()
        await asyncio.gather(forwarding, watching, return_exceptions=True)
        await upstream.aclose()
