"""检查 08_follow: 存着的与新追加的、一批好几条、停在 yield 处时的追加、随机交错、保活、取消与关闭。

检查用自己的日志 (SpyLog, 和练习里的 RunLog 一样, 只是多数了一件事: 现在有几个读者在等 log.changed)。
计时只比较同一次运行里的比值。
"""

from __future__ import annotations

import asyncio
import random
from contextlib import aclosing

from checklib import cancel_and_wait, expect_no_leftover_tasks, fail, now, see

SEE = see("08_resumable_streams", "3. 读者: 从日志读, 哪个 worker 都行")
LOG_API = see("08_resumable_streams", "4. 两种日志, 同一套语义")
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")
KEEPALIVE = 0.1  # 保活的间隔 (秒); 其他时间都以它为单位
PATIENCE = 0.5  # 等你交出下一条, 最多等几秒 (不测保活时, 保活设得比它长)
TERMINAL = ("done", "error")


class CountingEvent(asyncio.Event):
    """和 asyncio.Event 一样, 只是记下有几个 wait() 还没有返回。"""

    def __init__(self, log: SpyLog) -> None:
        super().__init__()
        self.log = log

    async def wait(self) -> bool:
        self.log.waiting += 1
        try:
            return await super().wait()
        finally:
            self.log.waiting -= 1


class SpyLog:
    """和练习里的 RunLog 一样的日志。waiting: 现在有几个读者在等 log.changed。"""

    def __init__(self) -> None:
        self.entries: list[tuple[int, str, str]] = []
        self.finished = False
        self.waiting = 0
        self.changed = CountingEvent(self)
        self.times: list[float] = []  # 每一条是什么时候追加的

    def append(self, records: list[tuple[str, str]]) -> int:
        assert not self.finished, "检查本身的错误: 结束之后又追加"
        start = len(self.entries)
        self.entries += [(start + i + 1, name, data) for i, (name, data) in enumerate(records)]
        self.times += [now()] * len(records)
        self.finished = bool(records) and records[-1][0] in TERMINAL
        self.changed.set()
        self.changed = CountingEvent(self)
        return len(self.entries)

    def fill(self, n: int, finish: bool = False) -> None:
        """n 条 delta, 一条一批; finish: 再加一条 done。"""
        for _ in range(n):
            self.append([("delta", f'{{"text": "{len(self.entries) + 1}"}}')])
        if finish:
            self.append([("done", "{}")])


def positions(items) -> list:
    return [item if item is None else item[0] for item in items]


def difference(got: list, want: list, after: int = 0) -> str:
    """给学习者看: 收到的位置和应该收到的位置差在哪里。"""
    got_ids, want_ids = positions(got), positions(want)
    repeated = sorted({i for i in got_ids if i is not None and got_ids.count(i) > 1})
    old = sorted({i for i in got_ids if i is not None and i <= after})
    missing = [i for i in want_ids if i not in got_ids]
    parts = [f"交出了位置 {got_ids}"]
    if old:
        parts.append(
            f"多了 {old}: 读者的 Last-Event-ID 是 {after}, 它已经有了 (after 是收到的最后一条)"
        )
    if repeated:
        parts.append(f"重复了 {repeated}")
    if missing:
        parts.append(f"漏掉了 {missing}")
    if not (old or repeated or missing or None in got_ids):
        parts.append("顺序不对")
    return "; ".join(parts)


async def pull(stream, log: SpyLog, got: list, patience: float = PATIENCE):
    """取下一条。StopAsyncIteration 照常抛出; 等太久就 fail。"""
    try:
        return await asyncio.wait_for(anext(stream), patience)
    except asyncio.TimeoutError:
        last = max((item[0] for item in got if item is not None), default=0)
        pending = [e[0] for e in log.entries if e[0] > last]
        if pending:
            actual = f"收到 {positions(got)} 之后就一直在等, 可是日志里已经有 {pending} 了"
        else:
            actual = f"收到 {positions(got)} 之后就一直在等, 可是日志已经结束, 不会再有新的了"
        fail(f"{patience:g} 秒内交出下一条, 或者结束", actual)


async def read_all(ex, log: SpyLog, after: int, keepalive: float = 5.0) -> list:
    got: list = []
    stream = ex.follow(log, after, keepalive)
    try:
        while True:
            got.append(await pull(stream, log, got))
    except StopAsyncIteration:
        return got
    finally:
        await stream.aclose()


async def check_finished_log(ex):
    """已经结束的日志: 交出 after 之后的每一条, 交出 done 之后结束"""
    log = SpyLog()
    log.fill(5, finish=True)
    for after in (0, 2, 5):
        got = await read_all(ex, log, after)
        want = log.entries[after:]
        if got != want:
            fail(f"after={after}: 交出位置 {positions(want)}", difference(got, want, after))
    stream = ex.follow(log, 6, 5.0)
    try:
        extra = await asyncio.wait_for(anext(stream), PATIENCE)
    except StopAsyncIteration:
        return
    except asyncio.TimeoutError:
        extra = "一直在等 (日志已经结束, 不会再有新的了)"
    finally:
        await stream.aclose()
    fail("after=6, 已经是最后一条 (done): 什么都不交出, 立刻结束", f"{extra}")


async def check_live_appends(ex):
    """还在生成: 读完存着的, 接着等; 新的一条追加之后立刻交出"""
    log = SpyLog()
    log.fill(2)
    gap = KEEPALIVE / 4

    async def produce():
        for _ in range(4):
            await asyncio.sleep(gap)
            log.fill(1)
        await asyncio.sleep(gap)
        log.append([("done", "{}")])

    task = asyncio.create_task(produce())
    got, times = [], []
    stream = ex.follow(log, 1, KEEPALIVE * 20)
    try:
        async for item in stream:
            got.append(item)
            times.append(now())
    finally:
        await stream.aclose()
        await task
    want = log.entries[1:]
    if got != want:
        fail(f"after=1: 交出位置 {positions(want)}", difference(got, want, 1))
    lag = max(t - log.times[e[0] - 1] for e, t in zip(got[1:], times[1:], strict=True)) / gap
    if lag > 0.5:
        fail(
            "新的一条追加之后立刻交出 (晚不到半个追加间隔)",
            f"有一条晚了 {lag:.1f} 个追加间隔: 你在等 log.changed 吗? 醒来之后有没有马上再看一遍日志?",
            LOG_API,
        )


async def check_batches(ex):
    """一次追加好几条 (一个时间窗口一批): 每一条都交出, 不是只交出最后一条"""
    log = SpyLog()
    log.fill(1)

    async def produce():
        await asyncio.sleep(0.02)
        log.append([("delta", '{"text": "a"}'), ("delta", '{"text": "b"}'), ("delta", "{}")])
        await asyncio.sleep(0.02)
        log.append([("delta", '{"text": "c"}'), ("usage", "{}"), ("done", "{}")])

    task = asyncio.create_task(produce())
    try:
        got = await read_all(ex, log, 1)
    finally:
        await task
    want = log.entries[1:]
    if got != want:
        fail(f"两批 (3 条、3 条) 追加之后, 交出位置 {positions(want)}", difference(got, want, 1))


async def check_appends_while_paused(ex):
    """你停在 yield 处时, 生成者又追加了 (正在读存着的那几条时也一样): 一条都不漏, 而且不用等下一次追加"""
    log = SpyLog()
    log.fill(3)  # 存着的: 1, 2, 3
    stream = ex.follow(log, 0, PATIENCE * 4)  # 保活比检查等的时间还长: 不能靠保活醒来
    got: list = []
    try:
        while len(log.entries) < 11:
            got.append(await pull(stream, log, got))
            log.fill(2)  # 消费者还在处理刚收到的那一条, 生成者追加了两条
        log.append([("done", "{}")])  # 结尾也是在你停在 yield 处时追加的
        while True:
            got.append(await pull(stream, log, got))
    except StopAsyncIteration:
        pass
    finally:
        await stream.aclose()
    want = log.entries
    if got != want:
        fail(
            f"交出位置 {positions(want)} (其中 4 以后的, 都是在你停在 yield 处时追加的)",
            difference(got, want),
        )


async def check_random_interleavings(ex):
    """随机的交错 (40 种): 生成者一批批地追加, 读者时快时慢, 从不同的位置开始; 交出的恰好是日志"""
    for seed in range(40):
        rng = random.Random(seed)
        producer_rng, reader_rng = random.Random(rng.random()), random.Random(rng.random())
        log = SpyLog()
        log.fill(rng.randint(0, 4))
        after = rng.randint(0, len(log.entries))
        batches = rng.randint(2, 7)

        async def pause(r: random.Random) -> None:
            kind = r.randint(0, 3)
            if kind == 1:
                await asyncio.sleep(0)
            elif kind == 2:
                for _ in range(r.randint(2, 5)):
                    await asyncio.sleep(0)
            elif kind == 3:
                await asyncio.sleep(0.001)

        async def produce(log=log, r=producer_rng, batches=batches) -> None:
            for b in range(batches):
                await pause(r)
                records = [("delta", f'{{"text": "{b}.{i}"}}') for i in range(r.randint(1, 4))]
                if b == batches - 1:
                    records.append(("done", "{}"))
                log.append(records)

        task = asyncio.create_task(produce())
        got: list = []
        stream = ex.follow(log, after, PATIENCE * 4)
        try:
            while True:
                got.append(await pull(stream, log, got))
                await pause(reader_rng)
        except StopAsyncIteration:
            pass
        finally:
            await stream.aclose()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        want = log.entries[after:]
        if got != want:
            fail(
                f"第 {seed} 种交错, after={after}: 交出位置 {positions(want)}",
                difference(got, want, after),
            )


async def check_keepalive(ex):
    """安静了 keepalive 秒就交出 None, 然后接着等; 事件不断时不交出 None"""
    log = SpyLog()
    log.fill(1)
    start = now()
    got, times = [], []

    async def quiet_then_done():
        await asyncio.sleep(KEEPALIVE * 2.5)
        log.append([("done", "{}")])

    task = asyncio.create_task(quiet_then_done())
    stream = ex.follow(log, 1, KEEPALIVE)
    try:
        async for item in stream:
            got.append(item)
            times.append((now() - start) / KEEPALIVE)
    finally:
        await stream.aclose()
        await task
    marks = [round(t, 1) for t in times]
    if positions(got) != [None, None, 2]:
        fail(
            f"安静 {2.5:g} 个保活间隔, 然后追加 done: 交出 [None, None, 2] (两次保活, 然后结尾)",
            f"交出了 {positions(got)} (时刻, 以保活间隔为单位: {marks})",
        )
    if not (0.7 <= times[0] <= 1.8 and 0.7 <= times[1] - times[0] <= 1.8):
        fail("两次保活大约在第 1、第 2 个保活间隔时交出", f"在 {marks} (以保活间隔为单位)")
    lag = times[2] - (log.times[-1] - start) / KEEPALIVE
    if lag > 0.5:
        fail("done 追加之后立刻交出, 不等保活的计时", f"晚了 {lag:.1f} 个保活间隔")

    log = SpyLog()  # 每 0.4 个间隔就有一条: 一次保活也不需要
    task = asyncio.create_task(steady(log, KEEPALIVE * 0.4, 6))
    try:
        got = await read_all(ex, log, 0, KEEPALIVE)
    finally:
        await task
    if None in got:
        fail(
            "每 0.4 个保活间隔就有一条新事件时, 不交出 None (保活从最后一条事件算起)",
            f"交出了 {positions(got)}",
        )


async def steady(log: SpyLog, gap: float, n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(gap)
        log.fill(1)
    log.append([("done", "{}")])


async def check_cancelled_while_waiting(ex):
    """读它的任务在等新事件时被取消 (浏览器走了): 取消往外传, 没有留下还在等日志的东西"""
    log = SpyLog()
    log.fill(2)
    stream = ex.follow(log, 2, KEEPALIVE)

    async def reader():
        async for _ in stream:
            pass

    task = asyncio.create_task(reader())
    await asyncio.sleep(KEEPALIVE * 1.5)  # 已经交出过一次保活, 正在等第二次
    await cancel_and_wait(task)
    if not task.cancelled():
        fail(
            "读者的任务以 CancelledError 结束 (取消继续往外传)",
            "CancelledError 被吞掉了: 调用者以为读者正常读完了",
            CANCEL,
        )
    await stream.aclose()
    await asyncio.sleep(0)
    if log.waiting:
        fail(
            "取消之后, 没有还在等 log.changed 的东西",
            f"还有 {log.waiting} 个在等: 被遗忘的 log.changed.wait() (在 Redis 里, 就是一个永远还不回去的连接)",
            CANCEL,
        )
    await expect_no_leftover_tasks("读者被取消", CANCEL)
    log.append([("done", "{}")])  # 结束之后再追加: 不应该叫醒任何东西
    await asyncio.sleep(0)


async def check_aclose(ex):
    """消费者 aclose() (收到保活之后、收到一条事件之后): 没有留下还在等日志的东西"""
    log = SpyLog()
    log.fill(1)
    async with aclosing(ex.follow(log, 1, KEEPALIVE / 3)) as stream:
        first = await pull(stream, log, [])
        second = await pull(stream, log, [])
    if (first, second) != (None, None):
        fail("安静的日志: 交出两次 None (保活)", f"交出了 {[first, second]}")
    await asyncio.sleep(0)
    if log.waiting:
        fail(
            "收到保活之后 aclose(): 没有还在等 log.changed 的东西",
            f"还有 {log.waiting} 个在等: 等不到就 yield None 的时候, 那次等待结束了吗?",
            CANCEL,
        )
    await expect_no_leftover_tasks("aclose()", CANCEL)

    log = SpyLog()
    log.fill(3)
    async with aclosing(ex.follow(log, 0, KEEPALIVE)) as stream:
        await pull(stream, log, [])
    log.fill(1)
    await asyncio.sleep(0)
    if log.waiting:
        fail(
            "收到一条之后 aclose(): 没有还在等 log.changed 的东西",
            f"还有 {log.waiting} 个在等",
            CANCEL,
        )
    await expect_no_leftover_tasks("aclose()", CANCEL)
