"""练习 02_merge (★★★): 合并多条异步流 —— 有界队列与背压

比如同时问两个模型, 或者一边读模型一边读工具的进度: 谁先到就先转发谁。

任务:
    merge(*streams, maxsize=1) 同时读所有的流, 按到达的先后交出每一项; 所有流都结束后它才结束。

做完的样子:
    - 真的同时读: 两条各要 1 秒的流, 合起来大约 1 秒, 而不是 2 秒; 也不是轮流读 (先到先出);
    - 背压: 读到的项先放进一个 maxsize 的有界队列, 消费者慢时读的一方等着, 不会无限地往前读;
    - 某条流出错: 之前到达的项照常交出, 然后这个错误传给消费者, 其他流被取消;
    - merge 被提前关闭 (aclose) 或消费者的任务被取消: 所有读的任务都被取消,
      每条流的 finally 都已执行, 之后没有留下任何还在运行的任务。

运行:
    python exercises/check.py 02_merge
"""

from __future__ import annotations

import asyncio  # noqa: F401 (你会用到它)
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TypeVar

T = TypeVar("T")


async def merge(*streams: AsyncGenerator[T, None], maxsize: int = 1) -> AsyncIterator[T]:
    # TODO 1: 一个 asyncio.Queue(maxsize); 每条流一个任务, 把读到的项放进队列, 结束时放一个结束标记
    # TODO 2: 从队列里取出来交出, 数到和流一样多的结束标记就结束; 读的任务出错时, 把错误也送过来
    # TODO 3: 在 finally 里取消所有任务, 并等它们真正结束
    raise NotImplementedError("TODO: 实现 merge")
    yield  # 有了 yield, 这个函数才是异步生成器
