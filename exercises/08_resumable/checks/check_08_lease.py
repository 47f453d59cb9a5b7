"""检查 08_lease: 编号与整批写入、结尾之后一律拒绝、租约还在时不收尾、十个同时收尾只有一个赢、
醒来的主人撞上收尾、读者读到结尾、活着但安静的主人、被 kill -9 的主人、读者被取消。

每个读者用自己的 FakeRedis 客户端连同一个"服务器" (就像不同 worker 上的读者), 这样能数出每个读者发了几个命令。
计时只比较同一次运行里的比值 (以租约为单位)。
"""

from __future__ import annotations

import asyncio
import json

from checklib import cancel_and_wait, expect_equal, expect_no_leftover_tasks, fail, now, see

SEE = see("08_resumable_streams", "4. 两种日志, 同一套语义")  # APPEND 脚本: 原子的追加
READER = see("08_resumable_streams", "3. 读者: 从日志读, 哪个 worker 都行")
LEASE_SEE = see("08_resumable_streams", '6. 租约与心跳: worker 死了, 谁来说"结束了"?')
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")
LEASE = 0.25  # 租约 (秒)
POLL = LEASE / 4  # 读者一次最多等几秒 (和第 08 课一样: 租约的四分之一)
RUN = "r1"
DONE = ("done", '{"finish_reason": "stop"}')
TERMINAL = ("done", "error")


def race(results) -> str:
    """为什么并发的追加会出错: 给学习者看的一句话。"""
    why = ["原因: 每个 await r.命令() 都是一次往返, 往返途中别的调用插了进来"]
    if sum(isinstance(x, int) and x >= 0 for x in results) > 1:
        why.append("好几个调用都看到了 running, 都写了")
    if any(isinstance(x, Exception) for x in results):
        why.append("好几个调用看到了同一个 last, 去写同一个位置, Redis 报 ResponseError")
    return "; ".join(why) + "。看状态、编号、写入要放进同一个 r.eval 脚本, 一口气做完"


def delta(text: str) -> tuple[str, str]:
    return ("delta", json.dumps({"text": text}, ensure_ascii=False))


async def new_run(ex, lease: float = LEASE):
    r = ex.FakeRedis()
    await ex.create(r, RUN, "worker-A", lease)
    return r


def client(ex, r):
    """连到同一个服务器的另一个客户端 (另一个 worker 上的读者)。"""
    other = ex.FakeRedis()
    other.server = r.server
    return other


def log_of(ex, r) -> list:
    return r.server.xrange(ex.keys(RUN)[0], 0)


def brief(entries) -> list:
    """给学习者看的日志: [(位置, 事件名), ...]"""
    return [(e[0], e[1]) for e in entries]


def ends(entries) -> list:
    return [e for e in entries if e[1] in TERMINAL]


def results_text(results) -> str:
    return str([type(x).__name__ if isinstance(x, BaseException) else x for x in results])


async def read_all(ex, r, after: int, patience: float, expect: str = "", why: str = "", where=None):
    """一个读者读到结束; 返回 (收到的, 每一条收到的时刻)。等了 patience 秒还没有下一条就 fail。"""
    stream = ex.watch(r, RUN, after, POLL)
    got, times = [], []
    try:
        while True:
            try:
                item = await asyncio.wait_for(anext(stream), patience)
            except StopAsyncIteration:
                return got, times
            except asyncio.TimeoutError:
                fail(
                    expect or f"{patience:g} 秒内交出下一条, 或者结束",
                    f"收到位置 {[e[0] for e in got]} 之后, 等了 {patience:g} 秒还在等; "
                    f"日志是 {brief(log_of(ex, r))}" + (f"\n{why}" if why else ""),
                    where or READER,
                )
            got.append(item)
            times.append(now())
    finally:
        await stream.aclose()


async def check_positions(ex):
    """追加: 位置接着 last 从 1 连续编号, 一批全部写下, 返回最后一条的位置; 没有这个 run 返回 NO_RUN"""
    r = await new_run(ex)
    got = await ex.append(r, RUN, [delta("日志"), delta("是")])
    expect_equal(got, 2, "第一批 (2 条) 之后, append 的返回值")
    got = await ex.append(r, RUN, [delta("唯一的"), delta("真相"), ("usage", "{}")])
    expect_equal(got, 5, "第二批 (3 条) 之后, append 的返回值")
    want = [(1, *delta("日志")), (2, *delta("是")), (3, *delta("唯一的")), (4, *delta("真相"))]
    expect_equal(log_of(ex, r), [*want, (5, "usage", "{}")], "日志 (位置, 事件名, 数据)")
    current = await ex.state(r, RUN)
    expect_equal((current.finished, current.last), (False, 5), "state(): (finished, last)")
    got = await ex.append(r, "nope", [delta("x")])
    expect_equal(got, ex.NO_RUN, 'append 到不存在的 run "nope" 的返回值')
    if created := [key for key in r.server.data if "{nope}" in key]:
        fail("没有这个 run 时, 什么都不写", f"多出了键 {created}: 先看 run 在不在, 再写")


async def check_nothing_after_the_end(ex):
    """以 done 结尾的一批之后: run 结束; 再追加一律返回 FINISHED, 一条也不写"""
    r = await new_run(ex)
    await ex.append(r, RUN, [delta("你好")])
    got = await ex.append(r, RUN, [delta("!"), DONE], final=True)
    expect_equal(got, 3, "以 done 结尾的一批 (final=True) 之后, append 的返回值")
    current = await ex.state(r, RUN)
    if not current.finished:
        fail('final=True 的一批写下之后, meta 的 state 是 "finished"', f"state() 是 {current}")
    before = log_of(ex, r)
    for records, final, orphan_only, what in [
        ([delta("晚到的文字")], False, False, "卡住的主人醒来, 接着写"),
        ([("error", '{"message": "超时"}')], True, False, "再写一个结尾"),
        ([ex.ORPHANED], True, True, "读者以为主人死了, 替它收尾"),
    ]:
        got = await ex.append(r, RUN, records, final, orphan_only)
        if got != ex.FINISHED or log_of(ex, r) != before:
            fail(
                f"run 已经以 done 结束, 然后「{what}」: 返回 FINISHED ({ex.FINISHED}), 日志不变",
                f"返回 {got}, 日志是 {brief(log_of(ex, r))}",
            )


async def check_orphan_only_needs_a_dead_owner(ex):
    """替主人收尾 (orphan_only): 主人的租约还在时返回 OWNER_ALIVE, 什么都不写; 租约过期之后才写"""
    r = await new_run(ex, lease=LEASE / 2)
    await ex.append(r, RUN, [delta("想")])
    got = await ex.append(r, RUN, [ex.ORPHANED], final=True, orphan_only=True)
    if got != ex.OWNER_ALIVE or len(log_of(ex, r)) != 1:
        fail(
            f"主人的租约还在: orphan_only 的追加返回 OWNER_ALIVE ({ex.OWNER_ALIVE}), 什么都不写",
            f"返回 {got}, 日志是 {brief(log_of(ex, r))}",
            LEASE_SEE,
        )
    await asyncio.sleep(LEASE * 0.75)  # 主人没有续约: 租约过期了
    got = await ex.append(r, RUN, [ex.ORPHANED], final=True, orphan_only=True)
    expect_equal(got, 2, "租约过期之后, orphan_only 的追加的返回值", LEASE_SEE)
    expect_equal(log_of(ex, r)[-1], (2, *ex.ORPHANED), "日志的最后一条")


async def expired_run(ex):
    """一个说了一句话、主人已经死了的 run。"""
    r = await new_run(ex, lease=LEASE / 5)
    await ex.append(r, RUN, [delta("说到一半")])
    await asyncio.sleep(LEASE * 0.3)
    return r


async def check_one_winner(ex):
    """十个读者同时发现主人死了, 同时替它收尾: 恰好一个写成功, 日志里只有一个结尾"""
    r = await expired_run(ex)
    finishers = [ex.append(r, RUN, [ex.ORPHANED], True, True) for _ in range(10)]
    results = await asyncio.gather(*finishers, return_exceptions=True)
    winners = [x for x in results if isinstance(x, int) and x >= 0]
    log = log_of(ex, r)
    if len(winners) != 1 or len(ends(log)) != 1 or any(isinstance(x, Exception) for x in results):
        fail(
            f"恰好 1 个返回位置 2, 另外 9 个返回 FINISHED ({ex.FINISHED}); 日志里只有 1 条 error",
            f"返回值 {results_text(results)}\n日志是 {brief(log)}\n{race(results)}",
        )


async def check_zombie_owner(ex):
    """卡住的主人醒来接着写, 正好撞上读者替它收尾: 位置不重复, 只有一个结尾, 结尾之后没有文字"""
    for owner_at in (0, 2, 5):
        r = await expired_run(ex)
        calls = [ex.append(r, RUN, [ex.ORPHANED], True, True) for _ in range(5)]
        calls.insert(owner_at, ex.append(r, RUN, [delta("醒"), delta("来"), delta("了")]))
        results = await asyncio.gather(*calls, return_exceptions=True)
        log = log_of(ex, r)
        owner = results[owner_at]
        ok = (
            not any(isinstance(x, Exception) for x in results)
            and [e[0] for e in log] == list(range(1, len(log) + 1))
            and len(ends(log)) == 1
            and log[-1][1] in TERMINAL
            and len(log) == (5 if isinstance(owner, int) and owner >= 0 else 2)
        )
        if not ok:
            fail(
                "主人的 3 条和读者的结尾都是整批写下的: 要么 [1 说到一半, 2~4 主人的, 5 error], "
                "要么 [1 说到一半, 2 error] 而主人得到 FINISHED",
                f"第 {owner_at + 1} 个调用是主人的; 返回值 {results_text(results)}\n"
                f"日志是 {brief(log)}\n{race(results)}",
            )


async def check_watch_reads_to_the_end(ex):
    """读者: 先交出存着的, 再等新的, 交出 done 之后结束; 已经读完的 run 立刻结束"""
    r = await new_run(ex)
    await ex.append(r, RUN, [delta("a"), delta("b")])

    async def produce():
        for text in "cde":
            await asyncio.sleep(POLL / 2)
            await ex.heartbeat(r, RUN, "worker-A", LEASE)
            await ex.append(r, RUN, [delta(text)])
        await asyncio.sleep(POLL / 2)
        await ex.append(r, RUN, [delta("f"), DONE], final=True)

    task = asyncio.create_task(produce())
    try:
        got, _ = await read_all(ex, client(ex, r), 1, LEASE * 2)
    finally:
        await task
    want = log_of(ex, r)[1:]
    if got != want:
        fail(f"after=1: 交出 {brief(want)}", f"交出了 {brief(got)}", READER)
    reader = client(ex, r)
    stream = ex.watch(reader, RUN, len(want) + 1, POLL)
    try:
        extra = await asyncio.wait_for(anext(stream), POLL * 4)
    except StopAsyncIteration:
        return
    except asyncio.TimeoutError:
        extra = f"等了 {POLL * 4:g} 秒 (4 个 poll) 还没有结束"
    finally:
        await stream.aclose()
    fail(
        f"run 已经结束, 读者的 after 就是最后一条 ({len(want) + 1}): 什么都不交出, 很快结束",
        f"{extra}: state() 里有 finished 和 last",
        READER,
    )


async def check_alive_owner_is_left_alone(ex):
    """主人按时续约, 只是很久不说话 (模型在想): 谁都不替它收尾; 读者安静地等, 不忙等"""
    r = await new_run(ex)
    await ex.append(r, RUN, [delta("让我想想")])
    readers = [client(ex, r) for _ in range(3)]
    tasks = [asyncio.create_task(read_all(ex, c, 1, LEASE * 6)) for c in readers]
    quiet = LEASE * 3
    end = now() + quiet
    while now() < end:
        await ex.heartbeat(r, RUN, "worker-A", LEASE)
        await asyncio.sleep(LEASE / 4)
    done_at = await ex.append(r, RUN, [delta("想好了"), DONE], final=True)
    results = await asyncio.gather(*tasks)
    log = log_of(ex, r)
    if done_at < 0 or any(e[1] == "error" for e in log):
        fail(
            f"主人一直按时续约, 只是 {quiet / LEASE:g} 个租约的时间没说话: 谁都不替它收尾, 它的 done 照常写下",
            f"日志是 {brief(log)}, 主人的追加返回 {done_at}: 判断主人死没死要看租约 (state(...).lease_alive), "
            "不能看安静了多久",
            LEASE_SEE,
        )
    for got, _ in results:
        if got != log[1:]:
            fail(f"每个读者交出 {brief(log[1:])}", f"有一个交出了 {brief(got)}", READER)
    per_poll = max(c.calls for c in readers) / (quiet / POLL)
    if per_poll > 15:
        fail(
            f"安静地等着时, 一个读者每 poll ({POLL:g} 秒) 只发几个命令",
            f"有一个读者平均每 poll 发了 {per_poll:.0f} 个命令: 在忙等? 用 r.xread(..., block=poll) 等新事件",
            READER,
        )


async def check_dead_owner(ex):
    """主人被 kill -9: 每个读者在大约 lease + poll 秒内收到同一条 error, 日志里只有一个结尾"""
    r = await new_run(ex)
    readers = [client(ex, r) for _ in range(3)]
    expect = "主人死了之后, 大约 lease + poll 秒内, 读者收到结尾 (ORPHANED)"
    why = "主人已经不再续约, 却没有人替它写下结尾: 等了 poll 秒没有新事件时, 要看一眼 state()"
    tasks = [
        asyncio.create_task(read_all(ex, c, 0, LEASE * 4, expect, why, LEASE_SEE)) for c in readers
    ]
    last_beat = now()
    for text in "生成到一半":
        await ex.heartbeat(r, RUN, "worker-A", LEASE)
        last_beat = now()
        await ex.append(r, RUN, [delta(text)])
        await asyncio.sleep(LEASE / 8)
    # kill -9: 不再续约, 也来不及写结尾
    results = await asyncio.gather(*tasks)
    log = log_of(ex, r)
    if len(ends(log)) != 1 or log[-1][1:] != tuple(ex.ORPHANED):
        fail(
            "日志的最后一条是 ORPHANED, 而且只有这一个结尾",
            f"日志是 {brief(log)}",
            LEASE_SEE,
        )
    for got, times in results:
        if got != log:
            fail(f"每个读者交出整个日志 {brief(log)}", f"有一个交出了 {brief(got)}", READER)
        waited = (times[-1] - last_beat) / LEASE
        if waited < 0.9:
            fail(
                "主人最后一次续约之后, 等租约过期了才收尾",
                f"{waited:.1f} 个租约之后就收尾了: 主人那时还活着",
                LEASE_SEE,
            )
        if waited > 2.5:
            fail(
                "主人最后一次续约之后, 大约 lease + poll (1.25 个租约) 内收到结尾",
                f"用了 {waited:.1f} 个租约",
                LEASE_SEE,
            )


async def check_reader_cancelled(ex):
    """读者的任务被取消 (浏览器走了): 取消往外传, 日志里不多出任何东西, 不留下任务"""
    r = await new_run(ex)
    await ex.append(r, RUN, [delta("a")])

    async def owner():
        while True:
            await ex.heartbeat(r, RUN, "worker-A", LEASE)
            await asyncio.sleep(LEASE / 4)

    beating = asyncio.create_task(owner())
    stream = ex.watch(client(ex, r), RUN, 0, POLL)

    async def reader():
        async for _ in stream:
            pass

    task = asyncio.create_task(reader())
    await asyncio.sleep(POLL * 2.5)  # 读完了第 1 条, 正在等新的
    await cancel_and_wait(task)
    beating.cancel()
    await asyncio.gather(beating, return_exceptions=True)
    if not task.cancelled():
        fail(
            "读者的任务以 CancelledError 结束 (取消继续往外传)",
            "CancelledError 被吞掉了: 调用者以为读者正常读完了",
            CANCEL,
        )
    await stream.aclose()
    log = log_of(ex, r)
    if len(log) != 1:
        fail(
            "读者走了只是读者走了: 日志里不多出任何东西, run 照样生成",
            f"日志变成了 {brief(log)}",
            READER,
        )
    await expect_no_leftover_tasks("读者被取消", CANCEL)
