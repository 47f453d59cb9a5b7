"""参考答案: 练习 07_by_sentence —— 按句子发, 但一段文字最多攒 max_wait 秒。先自己做, 再来对照。

和第 07 课的 by_sentence 是同一个思路, 只是一项一项地处理 (课上是一批一批):
- "下一项"是一个一直挂着的读取任务, 用 asyncio.wait(..., timeout=剩下的时间) 等它:
  超时只是不再等, 读取本身不取消 (wait_for 会取消它, 上游的生成器随之结束, 后面的文字都丢了)。
- finish 之类不越过攒着的文字: 先交出文字, 顺序不变。
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

SENTENCE_END = re.compile(r"[。！？!?\n]")

Item = tuple[str, Any]  # ("content", "你好。")、("finish", "stop")……
END = object()  # 上游读完了


async def by_sentence(source: AsyncGenerator[Item, None], max_wait: float) -> AsyncIterator[Item]:
    loop = asyncio.get_running_loop()
    pending, deadline = "", 0.0  # 攒着的文字, 和它最晚什么时候要交出
    reading: asyncio.Task[Any] | None = None  # 正在等的"下一项"

    async def next_item() -> Any:
        return await anext(source, END)

    try:
        while True:
            if reading is None:
                reading = asyncio.create_task(next_item())
            timeout = max(0.0, deadline - loop.time()) if pending else None
            done, _ = await asyncio.wait({reading}, timeout=timeout)
            if not done:  # 到期了, 上游还没来: 没说完也先交出; 读取任务接着挂着
                yield ("content", pending)
                pending = ""
                continue
            task, reading = reading, None
            try:
                item = task.result()
            except Exception:
                if pending:
                    yield ("content", pending)  # 先交出已经有的, 再报错
                    pending = ""
                raise
            if item is END:
                break
            kind, value = item
            if kind != "content":
                if pending:
                    yield ("content", pending)  # 顺序不变: 文字在前
                    pending = ""
                yield item
                continue
            if not value:
                continue
            if not pending:
                deadline = loop.time() + max_wait  # 期限从最早的那个字算起
            pending += value
            cut = max((m.end() for m in SENTENCE_END.finditer(pending)), default=0)
            if cut:
                yield ("content", pending[:cut])
                pending = pending[cut:]
                deadline = loop.time() + max_wait  # 剩下的字是刚才到的
        if pending:
            yield ("content", pending)
    finally:
        if reading is not None:  # 消费者走了 (或出错了), 读取还挂着: 取消它, 等它结束
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
        await source.aclose()
