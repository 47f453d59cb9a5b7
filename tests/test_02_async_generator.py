"""第 02 课的测试: 交替前进、阻塞的代价、取消与清理、超时、背压。"""

from __future__ import annotations

import asyncio

import pytest
from conftest import load_script, run_script

ag = load_script("02")
DELAY = 0.05


def order_and_total(make):
    timeline = ag.Timeline()
    total = asyncio.run(ag.two_streams(make, timeline))
    return ag.arrival_order(timeline).split(), total


def test_two_async_streams_interleave_on_one_thread():
    order, total = order_and_total(lambda n: ag.ticker(n, 3, DELAY))
    assert sorted(order) == ["A1", "A2", "A3", "B1", "B2", "B3"]
    assert order.index("B1") < order.index("A2"), order


def test_blocking_generator_serialises_everything():
    async_order, async_total = order_and_total(lambda n: ag.ticker(n, 3, DELAY))
    blocked_order, blocked_total = order_and_total(
        lambda n: ag.wrapped(ag.sync_ticker(n, 3, DELAY))
    )
    threaded_order, threaded_total = order_and_total(
        lambda n: ag.in_thread(ag.sync_ticker(n, 3, DELAY))
    )
    assert blocked_order == ["A1", "A2", "A3", "B1", "B2", "B3"]
    assert blocked_total > 1.5 * async_total
    assert threaded_order.index("B1") < threaded_order.index("A3"), threaded_order
    assert threaded_total < 0.75 * blocked_total


def test_async_comprehension():
    async def run():
        return [w async for w in ag.ticker("x", 4, 0) if w[-1] in "13"]

    assert asyncio.run(run()) == ["x1", "x3"]


def test_aclosing_runs_finally_right_after_break():
    timeline = ag.Timeline()
    assert asyncio.run(ag.stop_with_aclose(timeline, 0)) == [1, 2, 3]
    assert [text for _, text in timeline.events] == ["打开连接", "关闭连接 (finally)"]


def test_cancel_reaches_the_generator_and_runs_finally():
    timeline = ag.Timeline()
    asyncio.run(ag.stop_with_cancel(timeline, DELAY))
    texts = [text for _, text in timeline.events]
    assert texts[:3] == ["打开连接", "读到 1", "读到 2"]
    assert texts[-3:] == ["被取消 (CancelledError)", "关闭连接 (finally)", "读者任务已取消"]


def test_timeout_keeps_what_arrived_and_closes_the_stream():
    timeline = ag.Timeline()
    got = asyncio.run(ag.collect_within(ag.guarded(timeline, DELAY), DELAY * 3.5))
    assert got == [1, 2, 3]
    assert timeline.events[-1][1] == "关闭连接 (finally)"


def test_bounded_queue_makes_the_producer_wait():
    items = [f"块{i}" for i in range(1, 7)]
    timeline = ag.Timeline()
    assert asyncio.run(ag.run_pipeline(items, DELAY, timeline)) == items
    texts = [text for _, text in timeline.events]
    # 生产者最多领先 QUEUE_SIZE + 1 个: 放入第 k 个之前, 消费者已处理完第 k - QUEUE_SIZE - 1 个。
    for k in range(ag.QUEUE_SIZE + 2, len(items) + 1):
        put = texts.index(next(t for t in texts if t.startswith(f"生产者 放入 块{k} ")))
        done = texts.index(f"消费者 处理完 块{k - ag.QUEUE_SIZE - 1}")
        assert done < put, texts


def test_producer_signals_the_end_even_when_it_fails():
    def broken():
        yield "a"
        raise RuntimeError("上游出错")

    async def run():
        queue = asyncio.Queue(maxsize=2)
        timeline = ag.Timeline()
        return await asyncio.gather(
            ag.producer(queue, broken(), timeline),
            ag.consumer(queue, 0, timeline),
            return_exceptions=True,
        )

    error, got = asyncio.run(run())
    assert isinstance(error, RuntimeError)
    assert got == ["a"], "消费者应拿到出错前的部分, 并且能结束"


def test_consumer_without_an_end_marker_never_finishes():
    async def run():
        queue = asyncio.Queue()
        queue.put_nowait("a")
        got = []
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ag.consumer_without_end(queue, got), timeout=0.2)
        return got

    assert asyncio.run(run()) == ["a"]


def test_script_runs_as_a_learner_runs_it():
    result = run_script("02", "--delay", "0.02", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "A1 A2 A3 B1 B2 B3" in out
    assert "[w async for w in ticker(...) if ...] -> ['奇1', '奇3']" in out
    assert "关闭连接 (finally)" in out and "CancelledError" in out
    assert "永远不会结束" in out
    assert "\x1b[" not in out
