"""参考答案: 练习 02_item_timeout —— 每一片都有期限。先自己做, 再来对照。"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator


async def with_item_timeout(
    stream: AsyncGenerator[str, None], seconds: float
) -> AsyncIterator[str]:
    try:
        while True:
            try:
                # 期限只包住"等下一片"这一步。超时时 wait_for 取消这次等待,
                # CancelledError 穿过上游的 await, 上游的 finally 执行。
                item = await asyncio.wait_for(anext(stream), seconds)
            except StopAsyncIteration:
                return
            except asyncio.TimeoutError:  # 3.10 上它还不是内置的 TimeoutError
                raise TimeoutError(f"{seconds} 秒内没有等到下一片") from None
            yield item
    finally:
        await stream.aclose()  # 消费者提前停下时, 上游还暂停在 yield 处: 关掉它
