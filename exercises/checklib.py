"""练习检查共用的小工具 (给写检查的人用; 学习者不需要读它)。

一项检查是检查模块里的一个函数 check_xxx(ex): ex 是被检查的模块 (学习者的文件或参考答案)。
函数的文档字符串第一行是这项检查的标题。发现问题就调用 fail(): 期望什么、实际得到什么、去哪里看。
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, NoReturn

now = time.perf_counter  # 所有计时都用它; 检查只比较同一次运行里的比值


class CheckFailed(Exception):
    """一项检查没通过。see 为 None 时, 用检查模块里的 SEE。"""

    def __init__(self, expected: str, actual: str, see: str | None = None) -> None:
        super().__init__(f"期望: {expected}\n实际: {actual}")
        self.expected, self.actual, self.see = expected, actual, see


def fail(expected: str, actual: str, see: str | None = None) -> NoReturn:
    raise CheckFailed(expected, actual, see)


def show(value: Any, limit: int = 300) -> str:
    """给学习者看的值: repr, 太长就截断。"""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… (共 {len(text)} 个字符)"


def expect_equal(actual: Any, expected: Any, what: str, see: str | None = None) -> None:
    if actual != expected:
        fail(f"{what} 是 {show(expected)}", show(actual), see)


def see(lesson: str, section: str) -> str:
    """去哪里看。section 必须和课程里某个 "## " 标题一字不差 (tests/test_exercises.py 会核对)。"""
    return f"lessons/{lesson}.md →「{section}」"


# ---------- 切开字节: 网络可能在任何地方切开数据 ----------


def splits(data: bytes, seed: int = 0) -> list[tuple[str, list[bytes]]]:
    """三种切法: 一次全部、一个字节一个字节、随机切块 (种子固定, 每次都一样)。"""
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(data):
        step = rng.randint(1, 7)
        pieces.append(data[i : i + step])
        i += step
    return [
        ("一次全部喂入", [data]),
        ("一个字节一个字节地喂", [data[i : i + 1] for i in range(len(data))]),
        ("随机切块喂入", pieces),
    ]


# ---------- SSE: 一次解析一段完整的字节 (不是增量的), 规则和规范一样 ----------

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def parse_sse(body: bytes) -> list[dict[str, str]]:
    """返回每条派发的事件 {"data", "event", "id"?}。最后一条没有以空行结束就 fail。"""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        fail("输出是 UTF-8 编码的字节", f"无法按 UTF-8 解码: {show(body)}")
    events, data, fields = [], [], {}
    *lines, tail = LINE_BREAK.split(text)
    if tail or (lines and lines[-1] != ""):
        fail("每条事件以一个空行结束", f"结尾是 {show(text[-20:])}")
    for line in lines:
        if line == "":
            if data:
                events.append({"data": "\n".join(data), "event": "message", **fields})
            data, fields = [], {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name in ("event", "id"):
            fields[name] = value
        else:
            fail("每一行都是 data、event、id 或注释", f"出现了一行 {show(line)}")
    return events


# ---------- 测试用的上游 ----------


class Source:
    """同步的上游: 记录被取了几片、有没有被关闭。取得超过 limit 片就报错, 免得把无限流攒成列表时卡死。"""

    def __init__(self, items: Iterable[Any], limit: int = 10_000, log: list[str] | None = None):
        self.items, self.limit, self.log = items, limit, log
        self.pulled = 0
        self.closed = False

    def gen(self) -> Iterator[Any]:
        try:
            for item in self.items:
                if self.pulled >= self.limit:
                    fail(
                        f"最多从上游取 {self.limit} 片",
                        "还在继续取: 是不是用了 list() 或 for 把整条流先攒了起来?",
                    )
                self.pulled += 1
                if self.log is not None:
                    self.log.append(f"上游产出 {item!r}")
                yield item
        finally:
            self.closed = True


class AsyncSource:
    """异步的上游: 每片之前等 delay 秒; 可以在最后出错或"卡住"; 记录每片交出的时刻、是否被关闭或取消。"""

    def __init__(
        self,
        items: Iterable[Any],
        delay: float = 0.0,
        *,
        error: BaseException | None = None,
        hang: bool = False,
    ) -> None:
        self.items, self.delay, self.error, self.hang = items, delay, error, hang
        self.times: list[float] = []
        self.closed = False
        self.cancelled = False

    @property
    def produced(self) -> int:
        return len(self.times)

    async def gen(self) -> AsyncIterator[Any]:
        try:
            for item in self.items:
                await asyncio.sleep(self.delay)
                self.times.append(now())
                yield item
            if self.error is not None:
                raise self.error
            if self.hang:
                await asyncio.sleep(3600)  # 像一个很久不说话的模型
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.closed = True


def leftover_tasks() -> list[asyncio.Task[Any]]:
    """除了当前任务, 还没有结束的任务: 被遗忘的后台任务会一直占着上游连接。"""
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not current and not t.done()]


async def expect_no_leftover_tasks(what: str, see: str | None = None) -> None:
    await asyncio.sleep(0)  # 给刚取消的任务一次机会结束
    if tasks := leftover_tasks():
        fail(f"{what}之后, 你启动的任务都已经结束", f"还有 {len(tasks)} 个任务在运行", see)


async def cancel_and_wait(
    task: asyncio.Task[Any], see: str | None = None, within: float = 1.0
) -> None:
    """取消 task (就像用户按了停止), 等它结束, 最多 within 秒。它自己抛出的别的异常照样抛出来给学习者看;
    之后调用者再看 task.cancelled(): 取消要继续往外传, 不能被吞掉。"""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        fail(
            "任务被取消后很快结束",
            f"{within:g} 秒后还没有结束: 是不是把 CancelledError 吞掉了, 又接着等?",
            see,
        )
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
