"""练习 06_relay (★★★): 转发给客户端, 断开时立刻取消上游

ASGI 服务器 (uvicorn) 给每个请求两个函数: await send(...) 往客户端写, await receive() 等客户端的消息 ——
客户端断开时, receive() 返回 {"type": "http.disconnect"}。

一个天真的转发循环只在下一次 send() 失败时才发现客户端走了。可是模型可能正在"思考",
一分钟都不说话: 这一分钟里, 上游的连接开着, token 照样计费。

任务:
    await relay(upstream, send, receive) 把上游的每一块立刻转发 (await send(块)), 直到:
        - 上游结束                                   -> 返回 "completed"
        - receive() 返回 {"type": "http.disconnect"} -> 立刻停止读上游 (正在等的那次读取也要取消), 返回 "disconnected"
        - send() 抛 ConnectionError (客户端已经走了)   -> 同上, 返回 "disconnected"
        - 上游出错                                   -> 异常继续往外抛
    receive() 在断开之前可能返回别的消息 (比如 {"type": "http.request", ...}): 忽略它们, 接着等。

做完的样子:
    - 无论哪种结局, relay 返回 (或抛出) 之前, 上游已经关闭 (它的 finally 已执行), 你启动的任务都已结束;
    - relay 自己被取消时 (服务器关闭) 也一样, 并且 CancelledError 继续往外传。

运行:
    python exercises/check.py 06_relay
"""

from __future__ import annotations

import asyncio  # noqa: F401 (你会用到它)
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

Send = Callable[[bytes], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


async def relay(upstream: AsyncGenerator[bytes, None], send: Send, receive: Receive) -> str:
    # TODO 1: 一个任务转发 (async for 块 in upstream: await send(块)), 另一个任务等断开
    # TODO 2: 谁先结束? asyncio.wait(..., return_when=asyncio.FIRST_COMPLETED)
    # TODO 3: 在 finally 里取消两个任务、等它们结束、关闭上游
    raise NotImplementedError("TODO: 实现 relay")
