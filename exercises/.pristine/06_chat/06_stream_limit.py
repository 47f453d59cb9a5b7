"""练习 06_stream_limit (★★): 并发名额留到流结束才归还

handler return 的那一刻, 流还没有开始 (第 06 课 §7)。所以名额不能在 handler 里 "async with" 一下就还,
要跟着流走: 流怎样结束, 名额就在那时归还。

任务:
    open_limited(limit, source) 占一个名额, 返回一条流 (异步迭代器): 原样交出 source 的每一片;
    满了就抛 Busy (handler 会把它变成 503)。

做完的样子:
    - open_limited 是普通函数 (def): 调用的那一刻就决定给不给名额, 满了立刻抛 Busy, 不碰 source;
    - 名额在流结束时归还, 无论怎样结束: 读完、source 出错、被 aclose()、读它的任务被取消;
    - 从没开始读就被 aclose(): 也要归还 (handler 返回了响应, 客户端却在第一个字节之前就走了);
      小心: 一个异步生成器在第一次 anext() 之前被 aclose(), 它的函数体 (包括 finally) 根本不会执行;
    - 只归还一次: aclose() 两次、读完之后再 aclose(), 名额也只还一次;
    - aclose() 时也关闭 source (await source.aclose())。

运行:
    python exercises/check.py 06_stream_limit
"""

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


def open_limited(limit: StreamLimit, source: AsyncGenerator[str, None]) -> AsyncIterator[str]:
    # TODO 1: 拿不到名额就 raise Busy
    # TODO 2: 返回一个异步迭代器 (一个有 __aiter__、__anext__、aclose 的类), 名额跟着它走
    raise NotImplementedError("TODO: 实现 open_limited")
