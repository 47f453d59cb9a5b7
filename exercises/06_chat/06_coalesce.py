"""练习 06_coalesce (★★★): 按时间窗口合并输出, 第一片立刻发出

模型每秒可能吐出上百个 token; 每个 token 一个事件, 浏览器和服务器的 CPU 都浪费在事件本身上。
合并是对的, 但要按时间合并 (第 06 课 §8): "每攒 10 片发一次" 会让首字时间乘以 10。

任务:
    coalesce(source, window) 是一个异步生成器: source 交出一片一片的文本, 你交出合并后的文本。

做完的样子:
    - 第一片立刻交出;
    - 每交出一次, 至少过 window 秒才交出下一次; 其间到达的片拼成一片;
    - 但也不能拖: 一片到达之后, 最多大约 window 秒就要交出 —— 即使上游接下来很久没有新的片
      (只在"下一片到来时"才检查时间是不够的: 上游安静下来时, 最后攒下的那些会一直等着);
    - 安静了一阵之后新来的一片, 立刻交出;
    - 上游结束: 交出还攒着的, 然后结束; 上游出错: 先交出还攒着的, 再把错误抛出去;
    - 消费者提前关闭 (aclose) 或被取消: 停止读上游 (上游的 finally 执行), 不留下任何任务。
    提示: 读上游和交出结果是两件独立的事 —— 第 02 课的生产者和消费者。

运行:
    python exercises/check.py 06_coalesce
"""

from __future__ import annotations

import asyncio  # noqa: F401 (你会用到它)
from collections.abc import AsyncGenerator, AsyncIterator


async def coalesce(source: AsyncGenerator[str, None], window: float) -> AsyncIterator[str]:
    # TODO 1: 一个后台任务只管读 source, 把文本攒进缓冲区, 并叫醒交出的一方 (asyncio.Event)
    # TODO 2: 交出的一方: 等到有东西, 交出缓冲区里的全部; 然后歇 window 秒; 循环
    # TODO 3: 上游结束或出错时的收尾; 在 finally 里取消后台任务并等它结束
    raise NotImplementedError("TODO: 实现 coalesce")
    yield  # 有了 yield, 这个函数才是异步生成器
