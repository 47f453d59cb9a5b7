"""练习 02_item_timeout (★): 每一片都有期限 —— 检测卡住的模型

整条流的期限 (第 02 课 §5) 限制的是总时长; 一个回答很长的模型可能写 60 秒, 却一直在正常输出。
真正要发现的是"很久没有新内容了": 给每一片设期限。

任务:
    with_item_timeout(stream, seconds) 原样交出上游的每一片;
    如果等下一片 (包括第一片) 超过 seconds 秒, 就抛 TimeoutError。

做完的样子:
    - 每片间隔都小于 seconds 的流, 总时长再长也不会超时;
    - 超时之前收到的片都已经交出 (一个都不丢);
    - 无论怎样结束 (读完、超时、消费者提前 aclose()), 上游都被关闭, 它的 finally 已经执行。
    Python 3.10 也要能运行: asyncio.timeout 是 3.11 才有的, asyncio.wait_for 两个版本都有。

运行:
    python exercises/check.py 02_item_timeout
"""

from __future__ import annotations

import asyncio  # noqa: F401 (你会用到它)
from collections.abc import AsyncGenerator, AsyncIterator


async def with_item_timeout(
    stream: AsyncGenerator[str, None], seconds: float
) -> AsyncIterator[str]:
    # TODO 1: 一片一片地等上游, 每次最多等 seconds 秒, 超时就抛 TimeoutError
    # TODO 2: 无论怎样结束, 都关闭上游 (await stream.aclose())
    raise NotImplementedError("TODO: 实现 with_item_timeout")
    yield  # 有了 yield, 这个函数才是异步生成器
