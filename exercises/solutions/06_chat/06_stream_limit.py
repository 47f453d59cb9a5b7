"""参考答案: 练习 06_stream_limit —— 并发名额留到流结束才归还。先自己做, 再来对照。"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator


class Busy(Exception):
    """名额满了: handler 应该回 503 和 Retry-After。"""


class StreamLimit:
    """同时进行的流的名额 (和第 06 课一样; 直接用)。"""

    def __init__(self, size: int) -> None:
        self.size, self.active = size, 0

    def try_acquire(self) -> bool:
        if self.active >= self.size:
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active -= 1


class LimitedStream:
    """拿着一个名额的流。是一个类而不是异步生成器: 没开始读就 aclose() 时, 也能归还名额。"""

    def __init__(self, limit: StreamLimit, source: AsyncGenerator[str, None]) -> None:
        self._limit, self._source = limit, source
        self._holding = True

    def __aiter__(self) -> LimitedStream:
        return self

    async def __anext__(self) -> str:
        if not self._holding:
            raise StopAsyncIteration  # 已经结束或关闭了
        try:
            return await anext(self._source)
        except BaseException:  # 读完 (StopAsyncIteration)、出错、被取消: 都归还, 再原样抛出
            self._release()
            raise

    async def aclose(self) -> None:
        self._release()  # 先归还, 再做可能被打断的 await
        await self._source.aclose()

    def _release(self) -> None:
        if self._holding:  # 只归还一次
            self._holding = False
            self._limit.release()


def open_limited(limit: StreamLimit, source: AsyncGenerator[str, None]) -> AsyncIterator[str]:
    if not limit.try_acquire():
        raise Busy("同时进行的回答已达上限")
    return LimitedStream(limit, source)
