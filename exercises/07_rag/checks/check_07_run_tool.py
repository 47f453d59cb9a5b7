"""检查 07_run_tool: 成功与计时、模型给的坏参数、工具出错、超时取消工具、被取消时取消继续往外传。

计时只比较同一次运行里的比值 (例如"超时用了几个 timeout")。
"""

from __future__ import annotations

import asyncio
import logging

from checklib import expect_equal, expect_no_leftover_tasks, fail, now, see, show

SEE = see("07_rag_agent_stream", "4. 智能体的流: 每一次工具调用都看得见")
MISTAKES = see("07_rag_agent_stream", "常见误区")
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")
TIMEOUT = see("02_async_generator", "5. asyncio.timeout: 给整条流设期限")
LIMIT = 0.1  # 工具的期限 (秒)
INTERNAL = "http://10.0.0.7:9200"  # 意外异常里的内部地址: 不能出现在 error 里


class Slow:
    """一个很慢的 async 工具 (像一次卡住的网络搜索): 记录开始、结束、被取消。"""

    def __init__(self, seconds: float = 3600) -> None:
        self.seconds = seconds
        self.started = asyncio.Event()
        self.finished = self.cancelled = False

    async def __call__(self, query: str = "") -> str:
        self.started.set()
        try:
            await asyncio.sleep(self.seconds)
            return f"找到 3 段关于 {query} 的资料"
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.finished = True


def add(a: int, b: int) -> int:
    return a + b


async def clock() -> str:
    await asyncio.sleep(0)
    return "2025-01-01T08:00:00+08:00"


def toolbox(ex) -> dict:
    def divide(a: float, b: float) -> float:
        if b == 0:
            raise ex.ToolError("除数是 0")
        return a / b

    def lookup(key: str) -> str:
        return {"a": "1"}[key]  # 一个有 bug 的工具: 键不存在时 KeyError

    def picky(value: str) -> str:
        raise ValueError()  # str() 是空字符串的异常

    async def search(query: str) -> str:
        await asyncio.sleep(0)
        raise RuntimeError(f"搜索服务 503 ({INTERNAL})")

    return {"add": add, "clock": clock, "divide": divide, "lookup": lookup, "picky": picky, "search": search}  # fmt: skip


async def call(ex, tools: dict, name: str, arguments: str, timeout: float = 5.0, why: str = ""):
    """调用 run_tool; 抛出异常 (除了取消) 就是没通过: 出错应当是结果。why: 补充给学习者的说明。"""
    try:
        outcome = await ex.run_tool(tools, name, arguments, timeout)
    except NotImplementedError:
        raise  # 还没写完: 让检查器照实说
    except Exception as exc:
        fail(
            f"run_tool(工具 {name!r}, 参数 {arguments!r}) 返回一个 Outcome (出错也是 Outcome(error=...))",
            f"抛出了 {type(exc).__name__}: {exc} —— 一次坏的工具调用会让整个回答崩掉{why}",
            MISTAKES,
        )
    if not isinstance(outcome, ex.Outcome):
        fail("run_tool 返回一个 Outcome", f"返回了 {show(outcome)}")
    return outcome


def expect_error(outcome, what: str, contains: str = "") -> None:
    if outcome.result is not None:
        fail(f"{what}: result 为 None, error 是一句说明", f"result 是 {show(outcome.result)}")
    if not isinstance(outcome.error, str) or not outcome.error.strip():
        fail(
            f"{what}: error 是一句给人看的说明 (非空字符串)",
            f"error 是 {show(outcome.error)}: 有的异常 str() 是空的, 可以用异常的类名",
        )
    if contains and contains not in outcome.error:
        fail(f"{what}: error 里有 {contains!r}", f"error 是 {show(outcome.error)}")


async def check_success(ex):
    """普通函数和 async 函数都能调用; result 是字符串; 空参数当作 {}; duration_ms 是毫秒"""
    outcome = await call(ex, {"add": add}, "add", '{"a": 3, "b": 4}')
    if outcome.error is not None:
        fail("add(a=3, b=4) 成功", f"error 是 {show(outcome.error)}")
    expect_equal(outcome.result, "7", "普通函数 add(a=3, b=4) 的 result (str(返回值))")
    for arguments in ("", "{}"):
        outcome = await call(ex, {"clock": clock}, "clock", arguments)
        expect_equal(
            outcome.result,
            "2025-01-01T08:00:00+08:00",
            f"async 工具 clock, 参数 {arguments!r} 的 result",
        )
    slow = Slow(seconds=LIMIT)
    start = now()
    outcome = await call(ex, {"search": slow}, "search", '{"query": "SSE"}')
    took = now() - start
    expect_equal(outcome.result, "找到 3 段关于 SSE 的资料", "用了一会儿的 async 工具的 result")
    if (
        not isinstance(outcome.duration_ms, int)
        or not 0.6 < outcome.duration_ms / 1000 / took < 1.4
    ):
        fail(
            f"duration_ms 是这次调用用了多少毫秒 (整数; 这一次大约 {took * 1000:.0f})",
            f"duration_ms 是 {show(outcome.duration_ms)}",
        )


async def check_bad_arguments_are_results(ex):
    """模型给的坏调用 (不认识的工具、坏 JSON、不是对象、参数名不对) 都是 error, 不是崩溃"""
    tools = toolbox(ex)
    outcome = await call(ex, tools, "weather", '{"city": "北京"}')
    expect_error(outcome, "不认识的工具名 'weather'", contains="weather")
    cases = [
        ('{"a": 1, "b": ', "坏 JSON (被截断的参数)"),
        ("{a: 1, b: 2}", "坏 JSON (键没有引号)"),
        ("[1, 2]", "JSON 是列表, 不是对象"),
        ("null", "JSON 是 null"),
        ('"1+2"', "JSON 是字符串"),
        ('{"x": 1, "y": 2}', "参数名不对"),
        ('{"a": 1}', "少了一个参数"),
    ]
    for arguments, what in cases:
        outcome = await call(ex, tools, "add", arguments)
        expect_error(outcome, f"add 的参数是 {arguments!r} ({what})")


class Recorder(logging.Handler):
    """收下 "tools" 日志的记录 (不打印): 检查意外异常的原文是不是记进了日志。"""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))  # format 带上 exc_info 的回溯


async def check_tool_errors_are_results(ex):
    """工具自己抛的任何异常都是 error: ToolError 的消息原样; 意外异常只说类名, 原文进日志"""
    tools = toolbox(ex)
    why = "。工具 (尤其是有 bug 的工具) 什么异常都可能抛: 只捕获几种是不够的, 要捕获 Exception"
    for name, arguments, what, contains in [
        ("divide", '{"a": 1, "b": 0}', "ToolError", "除数是 0"),
        ("picky", '{"value": "x"}', "工具抛 ValueError() (没有消息)", ""),
    ]:
        expect_error(await call(ex, tools, name, arguments, why=why), what, contains)
    logger, recorder = logging.getLogger("tools"), Recorder()
    logger.addHandler(recorder)
    logger.propagate = False
    try:
        search = await call(ex, tools, "search", '{"query": "x"}', why=why)
        lookup = await call(ex, tools, "lookup", '{"key": "b"}', why=why)
    finally:
        logger.removeHandler(recorder)
        logger.propagate = True
    expect_error(search, "async 工具抛 RuntimeError")
    if INTERNAL in search.error:
        fail(
            "意外的异常: error 只说出了哪一类错 (比如 '工具内部出错 (RuntimeError)'), 不带异常的原文",
            f"error 是 {show(search.error)}: 意外异常的消息可能带着内部地址、路径、SQL,"
            " 而 error 会显示在浏览器的工具卡片里",
            SEE,
        )
    expect_error(search, "async 工具抛 RuntimeError", "RuntimeError")
    expect_error(lookup, "有 bug 的工具抛 KeyError", "KeyError")
    if not any(INTERNAL in text for text in recorder.texts):
        fail(
            '意外异常的原文 (连同回溯) 记进日志: log.exception(...), log 是文件里的 logging.getLogger("tools")',
            f"'tools' 日志里没有它 (收到 {len(recorder.texts)} 条记录): 出了错, 总得有人能查到原因",
            SEE,
        )


async def check_timeout_cancels_the_tool(ex):
    """async 工具超时: 大约 timeout 秒后返回 error ("超时"), 工具被取消 (它的 finally 执行)"""
    fast = Slow(seconds=LIMIT / 4)
    outcome = await call(ex, {"search": fast}, "search", '{"query": "x"}', timeout=LIMIT)
    if outcome.error is not None:
        fail("用时不到 timeout 的工具成功", f"error 是 {show(outcome.error)}")
    slow = Slow()
    start = now()
    try:
        outcome = await asyncio.wait_for(
            call(ex, {"search": slow}, "search", '{"query": "x"}', timeout=LIMIT), LIMIT * 20
        )
    except asyncio.TimeoutError:
        fail(
            f"timeout={LIMIT} 秒: 大约那时返回 error", f"过了 {LIMIT * 20:g} 秒还在等工具", TIMEOUT
        )
    took = (now() - start) / LIMIT
    expect_error(outcome, "工具超时", contains="超时")
    if not 0.8 < took < 3:
        fail("大约 timeout 秒后返回 (0.8~3 个 timeout)", f"用了 {took:.1f} 个 timeout")
    if not slow.finished:
        fail(
            "超时之后, 工具已经被取消 (它的 finally 已执行)",
            "工具还在运行: 不再等它是不够的, 还要取消它 (asyncio.wait_for 会替你取消)",
            TIMEOUT,
        )
    await expect_no_leftover_tasks("工具超时", TIMEOUT)


async def check_cancel_propagates(ex):
    """run_tool 被取消 (用户按了停止): 工具被取消, CancelledError 继续往外传"""
    slow = Slow()
    task = asyncio.create_task(ex.run_tool({"search": slow}, "search", '{"query": "x"}', 30.0))
    try:
        await asyncio.wait_for(slow.started.wait(), 1)
    except asyncio.TimeoutError:
        task.cancel()
        fail("run_tool 调用了工具 search", "1 秒内工具都没有开始运行")
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    if not done:
        fail("run_tool 被取消后很快结束", "1 秒后还没有结束", CANCEL)
    if not task.cancelled():
        result = task.exception() or task.result()
        fail(
            "run_tool 被取消时, CancelledError 继续往外传",
            f"run_tool 结束时给出的是 {show(result)}: CancelledError 被当成了工具出错 ——"
            " 用户按了停止, 智能体却会带着这个'结果'接着去问模型",
            CANCEL,
        )
    if not slow.finished:
        fail("run_tool 被取消时, 工具也被取消 (它的 finally 已执行)", "工具还在运行", CANCEL)
    await expect_no_leftover_tasks("run_tool 被取消", CANCEL)
