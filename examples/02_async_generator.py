"""第 02 课: 异步生成器 —— 一个线程同时服务很多条流

你将学到:
- async def + yield 写出异步生成器, 用 async for 消费它
- 实测: 两条异步流在一个线程里交替前进; 同步的 time.sleep 会卡住所有人
- 异步推导式; 取消 (cancel) 与 aclose(), 以及 finally 里的清理; asyncio.timeout
- 有界 asyncio.Queue 的背压 (生产者等消费者), 以及"永不结束"的错误队列写法

运行:
    python examples/02_async_generator.py
    python examples/02_async_generator.py --delay 0.05   # 更快跑完
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

DEFAULT_DELAY = 0.3  # 每一片之间等待的秒数 (模拟模型生成一个 token 的时间)
QUEUE_SIZE = 2  # 背压演示里队列最多放几个

console = Console(highlight=False)


@dataclass
class Timeline:
    """记录"什么时候发生了什么"; echo=True 时同时打印出来。"""

    echo: bool = False
    start: float = field(default_factory=time.perf_counter)
    events: list[tuple[float, str]] = field(default_factory=list)

    def add(self, text: str) -> None:
        t = time.perf_counter() - self.start
        self.events.append((t, text))
        if self.echo:
            console.print(f"  {t:5.2f}s  {text}")


# --8<-- [start:ticker]
async def ticker(name: str, count: int, delay: float) -> AsyncIterator[str]:
    """异步生成器: async def 里有 yield。"""
    for i in range(1, count + 1):
        await asyncio.sleep(delay)  # 等待时把线程让给别的任务
        yield f"{name}{i}"


# --8<-- [end:ticker]


# --8<-- [start:blocking]
def sync_ticker(name: str, count: int, delay: float) -> Iterator[str]:
    """普通 (同步) 生成器, 用 time.sleep 等待, 就像同步的 HTTP 客户端。"""
    for i in range(1, count + 1):
        time.sleep(delay)  # 整个线程停在这里, 事件循环也跟着停
        yield f"{name}{i}"


async def wrapped(items: Iterator[str]) -> AsyncIterator[str]:
    """错误示范: 套一层 async, 看起来是异步的, 每次 next() 照样卡住线程。"""
    for item in items:
        yield item


async def in_thread(items: Iterator[str]) -> AsyncIterator[str]:
    """正确做法: 把每次阻塞的 next() 放到线程里, 事件循环继续服务别人。"""
    done = object()
    while (item := await asyncio.to_thread(next, items, done)) is not done:
        yield item


# --8<-- [end:blocking]


# --8<-- [start:consume]
async def consume(stream: AsyncIterator[str], timeline: Timeline) -> None:
    async for item in stream:  # 每拿到一片就记下时间
        timeline.add(f"收到 {item}")


async def two_streams(make: Callable[[str], AsyncIterator[str]], timeline: Timeline) -> float:
    """同时消费 A、B 两条流, 返回总用时。"""
    start = time.perf_counter()
    await asyncio.gather(consume(make("A"), timeline), consume(make("B"), timeline))
    return time.perf_counter() - start


# --8<-- [end:consume]


def arrival_order(timeline: Timeline) -> str:
    return " ".join(text.removeprefix("收到 ") for _, text in timeline.events)


async def demo_basics(delay: float) -> None:
    console.rule("1. async def + yield, 用 async for 消费")
    # --8<-- [start:async_for]
    async for word in ticker("词", 3, delay):
        console.print(f"  拿到 {word}")
    # --8<-- [end:async_for]


async def demo_concurrency(delay: float, count: int = 3) -> None:
    console.rule("2. 两条流同时跑: 异步 vs 同步阻塞")
    modes = [
        ("异步生成器 (await asyncio.sleep)", lambda n: ticker(n, count, delay)),
        ("同步生成器套 async (time.sleep)", lambda n: wrapped(sync_ticker(n, count, delay))),
        ("同步生成器 + asyncio.to_thread", lambda n: in_thread(sync_ticker(n, count, delay))),
    ]
    table = Table(title="同一个线程, 两条流 A、B, 各 3 片")
    for column in ("写法", "到达顺序", "总用时", "相对异步"):
        table.add_column(column)
    baseline = None
    for name, make in modes:
        console.print(f"{name}:")
        timeline = Timeline(echo=True)
        total = await two_streams(make, timeline)
        baseline = baseline or total
        table.add_row(name, arrival_order(timeline), f"{total:.2f}s", f"{total / baseline:.1f}×")
    console.print(table)
    console.print(
        "time.sleep 卡住了整个事件循环: B 只能等 A 全部结束。这就是在异步服务里用同步客户端的后果。"
    )


async def demo_comprehension(delay: float) -> None:
    console.rule("3. 异步推导式")
    # --8<-- [start:comprehension]
    odd = [w async for w in ticker("奇", 4, delay) if w[-1] in "13"]
    # --8<-- [end:comprehension]
    console.print(f"  [w async for w in ticker(...) if ...] -> {odd}", markup=False)


# --8<-- [start:guarded]
async def guarded(timeline: Timeline, delay: float) -> AsyncIterator[int]:
    """一条"连接": 打开时记录, 无论怎样结束都在 finally 里关闭。"""
    timeline.add("打开连接")
    try:
        n = 0
        while True:
            n += 1
            await asyncio.sleep(delay)
            yield n
    except asyncio.CancelledError:
        timeline.add("被取消 (CancelledError)")
        raise  # 取消必须继续往外传, 不能吞掉
    finally:
        timeline.add("关闭连接 (finally)")


# --8<-- [end:guarded]


async def stop_with_aclose(timeline: Timeline, delay: float) -> list[int]:
    # --8<-- [start:aclosing]
    got = []
    async with aclosing(guarded(timeline, delay)) as stream:
        async for n in stream:
            got.append(n)
            if n == 3:
                break  # 离开 async with 时自动 await stream.aclose()
    # --8<-- [end:aclosing]
    return got


async def stop_with_cancel(timeline: Timeline, delay: float) -> None:
    # --8<-- [start:cancel]
    async def reader() -> None:
        async for n in guarded(timeline, delay):
            timeline.add(f"读到 {n}")

    task = asyncio.create_task(reader())
    await asyncio.sleep(delay * 2.5)
    task.cancel()  # 在生成器正在 await 的地方抛出 CancelledError
    try:
        await task
    except asyncio.CancelledError:
        timeline.add("读者任务已取消")
    # --8<-- [end:cancel]


async def demo_cancellation(delay: float) -> None:
    console.rule("4. 提前停止: aclose() 与取消, finally 一定会执行")
    console.print("用 aclosing() 读到 3 就 break:")
    got = await stop_with_aclose(Timeline(echo=True), delay)
    console.print(f"  拿到 {got}")
    console.print("在读取途中取消任务 (用户按了停止 / 客户端断开):")
    await stop_with_cancel(Timeline(echo=True), delay)


# --8<-- [start:timeout]
async def collect_within(stream: AsyncIterator[str], seconds: float) -> list[str]:
    """最多等 seconds 秒; 到点就停, 返回已经收到的部分 (一个都不丢)。"""
    got: list[str] = []

    async def read_all() -> None:
        async for item in stream:
            got.append(item)

    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(seconds):
                await read_all()
        else:  # asyncio.timeout 是 3.11 新增的; 3.10 用 wait_for
            await asyncio.wait_for(read_all(), seconds)
    except asyncio.TimeoutError:  # 3.11 起它就是内置的 TimeoutError
        pass
    finally:
        await stream.aclose()  # 超时后关闭这条流, 它的 finally 会执行
    return got


# --8<-- [end:timeout]


async def demo_timeout(delay: float) -> None:
    console.rule("5. asyncio.timeout: 给整条流设期限")
    got = await collect_within(ticker("片", 10, delay), delay * 3.5)
    console.print(f"  期限 {delay * 3.5:.2f}s, 共 10 片, 到期前收到: {got}")


# --8<-- [start:queue]
DONE = object()  # 结束标记: 生产者用它告诉消费者"没有更多了"


async def producer(queue: asyncio.Queue, items: list[str], timeline: Timeline) -> None:
    try:
        for item in items:
            await queue.put(item)  # 队列满了就在这里等: 这就是背压
            timeline.add(f"生产者 放入 {item} (队列里 {queue.qsize()} 个)")
    finally:
        await queue.put(DONE)  # 即使出错也要发结束标记, 否则消费者永远等下去


async def consumer(queue: asyncio.Queue, delay: float, timeline: Timeline) -> list[str]:
    got = []
    while (item := await queue.get()) is not DONE:
        await asyncio.sleep(delay)  # 慢消费者: 比如一个网速很慢的浏览器
        timeline.add(f"消费者 处理完 {item}")
        got.append(item)
    return got


# --8<-- [end:queue]


# --8<-- [start:queue_wrong]
async def consumer_without_end(queue: asyncio.Queue, got: list[str]) -> None:
    while True:  # 常见错误: 没有结束标记, 队列空了就只能永远等下去
        got.append(await queue.get())


# --8<-- [end:queue_wrong]


async def run_pipeline(items: list[str], delay: float, timeline: Timeline) -> list[str]:
    # --8<-- [start:queue_run]
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)  # 有界: 最多 QUEUE_SIZE 个
    _, got = await asyncio.gather(
        producer(queue, items, timeline), consumer(queue, delay, timeline)
    )
    # --8<-- [end:queue_run]
    return got


async def demo_queue(delay: float) -> None:
    console.rule(f"6. 有界队列 (maxsize={QUEUE_SIZE}): 快生产者 + 慢消费者 = 背压")
    items = [f"块{i}" for i in range(1, 6)]
    got = await run_pipeline(items, delay, Timeline(echo=True))
    console.print(f"  消费者收到 {got}")
    console.print(
        f"  生产者最多领先 {QUEUE_SIZE + 1} 个 (队列里 {QUEUE_SIZE} 个 + 消费者手里 1 个),"
        "之后每放一个都要等消费者腾出位置: 内存不会无限增长。"
    )

    console.print("错误写法: 消费者不知道何时结束")
    queue: asyncio.Queue = asyncio.Queue()
    for item in items[:2]:
        queue.put_nowait(item)
    got = []
    try:
        await asyncio.wait_for(consumer_without_end(queue, got), timeout=delay * 2)
    except asyncio.TimeoutError:
        console.print(f"  收到 {got} 之后一直在等: 没有超时的话, 它永远不会结束。")


async def run_all(delay: float) -> None:
    await demo_basics(delay)
    await demo_concurrency(delay)
    await demo_comprehension(delay)
    await demo_cancellation(delay)
    await demo_timeout(delay)
    await demo_queue(delay)


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(description="第 02 课: 异步生成器")
    parser.add_argument(
        "--delay",
        type=float,
        default=DEFAULT_DELAY,
        help=f"每一片之间等待的秒数 (默认 {DEFAULT_DELAY})",
    )
    args = parser.parse_args(argv)
    asyncio.run(run_all(args.delay))
    console.rule("小结")
    console.print("一个线程 + 事件循环 + 异步生成器 = 同时服务很多条流。")
    console.print("下一课: python examples/03_http_chunked.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
