"""检查 06_relay: 逐块转发、上游沉默时断开、send 失败、上游出错、relay 被取消。计时只比较比值。"""

from __future__ import annotations

import asyncio

from checklib import (
    AsyncSource,
    cancel_and_wait,
    expect_equal,
    expect_no_leftover_tasks,
    fail,
    now,
    see,
)

SEE = see("06_complete_chat", "5. 断开即取消")
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")
DISCONNECT_AT = 0.1  # 客户端在第几秒断开


class Client:
    """假的 ASGI 客户端: 记录收到的每一块和时刻; 可以在某个时刻断开, 或者让 send 失败。"""

    def __init__(self, disconnect_at: float | None = None, fail_send: bool = False):
        self.disconnect_at, self.fail_send = disconnect_at, fail_send
        self.received: list[bytes] = []
        self.times: list[float] = []
        self.receive_calls = 0

    async def send(self, chunk: bytes) -> None:
        if self.fail_send:
            raise ConnectionResetError("客户端已经走了")
        self.received.append(chunk)
        self.times.append(now())

    async def receive(self) -> dict:
        self.receive_calls += 1
        if self.receive_calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}  # 先来的是请求体
        if self.disconnect_at is None:
            await asyncio.sleep(3600)
        await asyncio.sleep(self.disconnect_at)
        return {"type": "http.disconnect"}


async def check_forwards_and_completes(ex):
    """逐块转发 (一到就发), 上游结束时返回 "completed" """
    source = AsyncSource([b"a", b"b", b"c"], delay=0.1)
    client = Client()
    result = await ex.relay(source.gen(), client.send, client.receive)
    expect_equal(result, "completed", "relay 的返回值")
    expect_equal(client.received, [b"a", b"b", b"c"], "客户端收到的块")
    lag = (
        max(sent - made for sent, made in zip(client.times, source.times, strict=True))
        / source.delay
    )
    if lag > 0.5:
        fail("每一块一到就转发 (晚不到半个间隔)", f"有一块晚了 {lag:.1f} 个间隔才发出")
    if not source.closed:
        fail("返回之前, 上游已经关闭", "上游没有关闭", CANCEL)
    await expect_no_leftover_tasks("relay 返回")


async def check_disconnect_while_upstream_silent(ex):
    """上游沉默时客户端断开: 立刻返回 "disconnected", 上游被取消"""
    source = AsyncSource([b"a"], hang=True)  # 说了一句, 然后"思考"很久
    client = Client(disconnect_at=DISCONNECT_AT)
    start = now()
    try:
        result = await asyncio.wait_for(ex.relay(source.gen(), client.send, client.receive), 2)
    except asyncio.TimeoutError:
        fail(
            f"客户端在 {DISCONNECT_AT}s 断开后, relay 立刻返回",
            "2 秒后还在等上游的下一块: 要同时等 receive() 的 http.disconnect",
        )
    took = (now() - start) / DISCONNECT_AT
    expect_equal(result, "disconnected", "relay 的返回值")
    expect_equal(client.received, [b"a"], "客户端收到的块")
    if took > 3:
        fail("断开之后很快返回 (小于断开时刻的 3 倍)", f"用了 {took:.1f} 倍")
    if not source.closed:
        fail(
            "返回之前, 上游已经关闭 (正在等的读取被取消)", "上游还开着, 模型还在生成、计费", CANCEL
        )
    await expect_no_leftover_tasks("relay 返回")


async def check_send_fails(ex):
    """send() 抛 ConnectionError: 返回 "disconnected", 上游关闭"""
    source = AsyncSource([b"a", b"b"], hang=True)
    client = Client(fail_send=True)
    result = await ex.relay(source.gen(), client.send, client.receive)
    expect_equal(result, "disconnected", "relay 的返回值")
    if not source.closed:
        fail("返回之前, 上游已经关闭", "上游没有关闭", CANCEL)
    await expect_no_leftover_tasks("relay 返回")


async def check_upstream_error(ex):
    """上游出错: 异常原样抛出, 不留下任务"""
    source = AsyncSource([b"a"], error=RuntimeError("模型出错"))
    client = Client()
    try:
        await ex.relay(source.gen(), client.send, client.receive)
    except RuntimeError:
        expect_equal(client.received, [b"a"], "出错之前客户端收到的块")
        await expect_no_leftover_tasks("上游出错")
        return
    fail("上游的 RuntimeError 从 relay 抛出", "relay 正常返回了")


async def check_relay_cancelled(ex):
    """relay 自己被取消: 上游关闭, 不留下任务, CancelledError 继续往外传"""
    source = AsyncSource([b"a"], hang=True)
    client = Client()
    task = asyncio.create_task(ex.relay(source.gen(), client.send, client.receive))
    await asyncio.sleep(0.05)
    await cancel_and_wait(task)
    if not task.cancelled():
        fail("relay 以 CancelledError 结束", "CancelledError 被吞掉了", CANCEL)
    if not source.closed:
        fail("relay 被取消之后, 上游已经关闭", "上游没有关闭", CANCEL)
    await expect_no_leftover_tasks("relay 被取消")
