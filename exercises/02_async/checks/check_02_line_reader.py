"""检查 02_line_reader: 任意切开的字节、凑齐就交出、各种结束方式都恰好关闭一次、不吞取消。"""

from __future__ import annotations

import asyncio
from contextlib import aclosing

from checklib import cancel_and_wait, expect_equal, fail, see, splits

SEE = see("02_async_generator", "4. 提前停止: aclose() 与取消")
DECODE = see("03_http_chunked", "5. 客户端: 逐块读, 增量解码")
TEXT = "你好, 世界\r\n第二行 🚀\n\n最后一行没有换行"
LINES = ["你好, 世界", "第二行 🚀", "", "最后一行没有换行"]


class FakeConnection:
    """按顺序交出 pieces, 然后: 返回 b"" (对方关闭)、抛 error, 或者一直等 (hang)。"""

    def __init__(self, pieces, *, error=None, hang=False):
        self.pieces, self.error, self.hang = list(pieces), error, hang
        self.recv_calls = 0
        self.closes = 0
        self.log: list[str] = []

    async def recv(self) -> bytes:
        self.recv_calls += 1
        await asyncio.sleep(0)
        if self.pieces:
            return self.pieces.pop(0)
        if self.error:
            raise self.error
        if self.hang:
            await asyncio.sleep(3600)
        return b""

    async def aclose(self) -> None:
        self.closes += 1


async def check_lines_from_any_split(ex):
    """不管字节怎么切 (包括切在汉字中间), 行都一样"""
    for how, pieces in splits(TEXT.encode()):
        conn = FakeConnection(pieces)
        got = [line async for line in ex.read_lines(conn)]
        expect_equal(got, LINES, f"{how}时读到的行", DECODE)


async def check_line_yielded_when_complete(ex):
    """一行凑齐就交出, 不等下一段字节"""
    conn = FakeConnection([b"a\nb", b"c\n"])
    async with aclosing(ex.read_lines(conn)) as lines:
        first = await anext(lines)
        expect_equal(first, "a", "第一行")
        expect_equal(conn.recv_calls, 1, "交出第一行时 recv() 被调用的次数")


async def check_closed_once_after_reading(ex):
    """读完: 连接关闭, 而且只关闭一次"""
    conn = FakeConnection([b"x\n"])
    got = [line async for line in ex.read_lines(conn)]
    expect_equal(got, ["x"], "读到的行")
    expect_equal(conn.closes, 1, "conn.aclose() 被调用的次数")


async def check_closed_on_early_stop(ex):
    """消费者读到一行就停下 (aclose): 连接被关闭"""
    conn = FakeConnection([b"1\n2\n3\n"])
    async with aclosing(ex.read_lines(conn)) as lines:
        async for _ in lines:
            break
    expect_equal(conn.closes, 1, "提前停下之后 conn.aclose() 被调用的次数")


async def check_closed_and_cancel_propagates(ex):
    """读的任务被取消: 连接被关闭, 任务确实以"已取消"结束"""
    conn = FakeConnection([b"1\n"], hang=True)
    first_line = asyncio.Event()

    async def reader():
        async for _ in ex.read_lines(conn):
            first_line.set()

    task = asyncio.create_task(reader())
    await first_line.wait()
    await asyncio.sleep(0.02)  # 现在它停在 recv() 里
    await cancel_and_wait(task)
    expect_equal(conn.closes, 1, "任务被取消后 conn.aclose() 被调用的次数")
    if not task.cancelled():
        fail(
            "任务以 CancelledError 结束 (取消继续往外传)",
            "任务正常结束了: CancelledError 被吞掉了, 调用者以为取消成功, 其实没有",
        )


async def check_closed_on_error(ex):
    """recv() 出错: 错误传给消费者, 连接照样关闭"""
    conn = FakeConnection([b"ok\n"], error=ConnectionResetError("对方重置了连接"))
    got: list[str] = []
    try:
        async for line in ex.read_lines(conn):
            got.append(line)
    except ConnectionResetError:
        expect_equal(got, ["ok"], "出错之前读到的行")
        expect_equal(conn.closes, 1, "出错后 conn.aclose() 被调用的次数")
        return
    fail("recv() 抛出的 ConnectionResetError 传到消费者", f"没有异常, 读到 {got!r}")
