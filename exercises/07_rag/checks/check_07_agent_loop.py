"""检查 07_agent_loop: 直接回答、一次完整的工具往返、工具失败交回模型、步数上限、停下时模型和工具一起停。"""

from __future__ import annotations

import asyncio
import copy
from contextlib import aclosing
from typing import Any

from checklib import expect_equal, expect_no_leftover_tasks, fail, now, see, show

SEE = see("07_rag_agent_stream", "4. 智能体的流: 每一次工具调用都看得见")
ORDER = see("07_rag_agent_stream", "1. 一条流, 好几种事件")
MISTAKES = see("07_rag_agent_stream", "常见误区")
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")
QUESTION = [{"role": "user", "content": "(3+4)*12 等于多少? 现在几点?"}]
TOO_MANY = 10  # 模型被问了这么多次, 一定是没有步数上限
STEP = 0.03  # 模型每项之间的间隔 (秒): 看你是不是等到下一项来了才交出


class Model:
    """按剧本回答的模型: 第 k 次被问, 交出 steps[k-1] (问的次数超出剧本, 就重复最后一轮)。
    记录每次收到的对话 (深拷贝)、一共交出了几项、流被打开和关闭了几次。"""

    def __init__(self, *steps: list[tuple[str, Any]], delay: float = 0.0, hang: bool = False):
        self.steps, self.delay, self.hang = steps, delay, hang
        self.calls: list[list[dict[str, Any]]] = []
        self.times: list[float] = []  # 每一项交出的时刻 (所有轮加在一起)
        self.opened = self.closed = 0

    @property
    def produced(self) -> int:
        return len(self.times)

    def __call__(self, messages: list[dict[str, Any]]):
        self.calls.append(copy.deepcopy(messages))
        if len(self.calls) >= TOO_MANY:
            fail(
                "最多问模型 max_steps 次",
                f"模型被问了 {len(self.calls)} 次还在问: 没有步数上限, 这个循环会永远走下去 (钱也是)",
                MISTAKES,
            )
        return self._stream(self.steps[min(len(self.calls), len(self.steps)) - 1])

    async def _stream(self, items: list[tuple[str, Any]]):
        self.opened += 1
        try:
            for item in items:
                await asyncio.sleep(self.delay)
                self.times.append(now())
                yield item
            if self.hang:
                await asyncio.sleep(3600)  # 模型在"想", 很久不说话
        finally:
            self.closed += 1


class Tool:
    """一个 async 工具: 用 delay 秒, 返回 result 或抛出 error; 记录收到的参数、开始、结束、被取消。"""

    def __init__(self, result: Any = "好", delay: float = 0.0, error: Exception | None = None):
        self.result, self.delay, self.error = result, delay, error
        self.calls: list[dict[str, Any]] = []
        self.started = asyncio.Event()
        self.finished = self.cancelled = False

    async def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        self.started.set()
        try:
            await asyncio.sleep(self.delay)
            if self.error is not None:
                raise self.error
            return self.result
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.finished = True


def tool_call(index: int, call_id: str, name: str, arguments: str) -> list[tuple[str, Any]]:
    """一个工具调用的碎片, 像真实的流那样: 第一片有 id 和名字, 参数被切成三段, 后面的片里字段是 null。"""
    third = max(1, len(arguments) // 3)
    parts = [arguments[:third], arguments[third : 2 * third], arguments[2 * third :]]
    first = {"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": parts[0]}}  # fmt: skip
    rest = [{"index": index, "id": None, "function": {"name": None, "arguments": p}} for p in parts[1:]]  # fmt: skip
    return [("tool_call", fragment) for fragment in [first, *rest]]


def interleave(*calls: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """几个调用的碎片交错到达 (0、1、0、1……)。"""
    out = []
    for group in zip(*calls, strict=True):
        out.extend(group)
    return out


async def run(ex, model: Model, tools: dict, max_steps: int = 4, messages=None):
    """读完 agent_loop; 返回 [(事件, 收到它的时刻)]。"""
    got = []
    stream = ex.agent_loop(model, tools, messages or QUESTION, max_steps)
    async with aclosing(stream):
        async for event in stream:
            if not (isinstance(event, tuple) and len(event) == 2):
                fail("交出的每一项是 (种类, 值)", f"交出了 {show(event)}")
            got.append((event, now()))
    return got


def names(got) -> list[str]:
    return [event[0] for event, _ in got]


def tool_pairs(got) -> dict[str, tuple[int, int, dict, dict]]:
    """每个调用: (tool_start 的位置, tool_end 的位置, start 的数据, end 的数据); 顺便检查成对出现。"""
    starts, ends = {}, {}
    for i, ((kind, data), _) in enumerate(got):
        if kind in ("tool_start", "tool_end"):
            if not isinstance(data, dict) or "id" not in data:
                fail(f"{kind} 的数据是带 id 的 dict", show(data))
            table = starts if kind == "tool_start" else ends
            if data["id"] in table:
                fail(f"每个调用只有一个 {kind}", f"id {data['id']!r} 有两个 {kind}", ORDER)
            table[data["id"]] = (i, data)
    if set(starts) != set(ends):
        fail(
            "tool_start 和 tool_end 成对出现, id 相同",
            f"tool_start 的 id: {sorted(starts)}; tool_end 的 id: {sorted(ends)}",
            ORDER,
        )
    for call_id, (i, _) in starts.items():
        if ends[call_id][0] < i:
            fail("同一个调用的 tool_start 在 tool_end 之前", f"id {call_id!r} 反了", ORDER)
    return {k: (starts[k][0], ends[k][0], starts[k][1], ends[k][1]) for k in starts}


async def check_plain_answer(ex):
    """模型直接回答: 思考和文字一到就交出, 最后是 finish; 只问一次模型"""
    items = [("reasoning", "想一想"), ("content", "你"), ("content", "好"), ("finish", "stop")]
    model = Model(items, delay=STEP)
    got = await run(ex, model, {})
    expect_equal([event for event, _ in got], items, "交出的项")
    for k, (event, at) in enumerate(got[:-1]):
        if at >= model.times[k + 1]:
            fail(
                "每一项一到就交出, 不攒 (在模型交出下一项之前)",
                f"{show(event)} 是模型的第 {k + 1} 项, 你等第 {k + 2} 项也到了才交出它",
            )
    expect_equal(model.calls, [QUESTION], "模型收到的对话 (每次)")


async def check_tool_round_trip(ex):
    """工具往返: 碎片拼齐后 tool_start → 运行 → tool_end, 结果交回模型, 中间的 finish 不交出"""
    step1 = [("content", "我来算一下。")]
    step1 += interleave(
        tool_call(0, "call_a", "calculator", '{"expression": "(3+4)*12"}'),
        tool_call(1, "call_b", "current_time", ""),
    )
    step1 += [("finish", "tool_calls")]
    step2 = [("content", "等于 84, 现在 8 点。"), ("finish", "stop")]
    model = Model(step1, step2)
    calculator, clock = Tool(result=84, delay=0.02), Tool(result="08:00")
    messages = list(QUESTION)
    got = await run(ex, model, {"calculator": calculator, "current_time": clock}, messages=messages)
    if ("finish", "tool_calls") in [event for event, _ in got]:
        fail(
            '不交出中间那一轮的 ("finish", "tool_calls")',
            f"交出的种类依次是 {names(got)}: 页面会以为回答结束了",
            SEE,
        )
    others = [event for event, _ in got if event[0] not in ("tool_start", "tool_end")]
    expect_equal(others, [step1[0], *step2], "除了工具事件, 交出的项")
    pairs = tool_pairs(got)
    if set(pairs) != {"call_a", "call_b"}:
        fail("两个调用 call_a、call_b 各有一对 tool_start / tool_end", f"id 是 {sorted(pairs)}")
    answer_at = next(i for i, (event, _) in enumerate(got) if event == step2[0])
    expected = {
        "call_a": ("calculator", {"expression": "(3+4)*12"}, "84"),
        "call_b": ("current_time", {}, "08:00"),
    }
    for call_id, (name, args, result) in expected.items():
        start_at, end_at, start, end = pairs[call_id]
        expect_equal({k: start.get(k) for k in ("id", "name", "args")}, {"id": call_id, "name": name, "args": args}, "tool_start 的数据")  # fmt: skip
        expect_equal({k: end.get(k) for k in ("id", "result", "error")}, {"id": call_id, "result": result, "error": None}, "tool_end 的数据")  # fmt: skip
        if got[start_at][1] < model.times[len(step1) - 1]:
            fail(
                "这一轮模型的流读完 (参数齐了) 之后才发 tool_start",
                f"{call_id} 的 tool_start 在这一轮结束 (finish: tool_calls) 之前就发出了: 那时参数可能还没到齐",
            )
        if end_at > answer_at:
            fail("tool_end 在下一轮模型的文字之前", f"{call_id} 的 tool_end 在回答后面", ORDER)
    if calculator.calls != [{"expression": "(3+4)*12"}] or clock.calls != [{}]:
        fail(
            "calculator 被调用一次 (expression='(3+4)*12'), current_time 被调用一次 (没有参数)",
            f"calculator 收到 {calculator.calls}, current_time 收到 {clock.calls}",
        )
    expect_equal(len(model.calls), 2, "模型被问的次数")
    if messages != QUESTION:
        fail(
            "调用者传进来的 messages 列表不被改动",
            f"它多了 {len(messages) - len(QUESTION)} 条消息: 调用者还要用它 (比如存进聊天记录),"
            " 先复制一份 (messages = list(messages)) 再往里加",
        )
    second = model.calls[1]
    assistant = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "calculator", "arguments": '{"expression": "(3+4)*12"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "current_time", "arguments": ""}},
    ]}  # fmt: skip
    expect_equal(second[: len(QUESTION) + 1], [*QUESTION, assistant], "第二轮对话的开头 (原来的消息 + assistant 的 tool_calls)")  # fmt: skip
    results = sorted(second[len(QUESTION) + 1 :], key=lambda m: str(m.get("tool_call_id")))
    expect_equal(
        results,
        [
            {"role": "tool", "tool_call_id": "call_a", "content": "84"},
            {"role": "tool", "tool_call_id": "call_b", "content": "08:00"},
        ],
        "第二轮对话里的工具结果",
    )


async def check_card_shows_running(ex):
    """tool_start 在工具运行之前交出 (卡片先是"运行中"), tool_end 在它结束之后"""
    step1 = [
        *tool_call(0, "call_1", "search_lessons", '{"query": "SSE"}'),
        ("finish", "tool_calls"),
    ]
    model = Model(step1, [("content", "找到了。"), ("finish", "stop")])
    search = Tool(result="三段资料", delay=0.05)
    seen = []
    stream = ex.agent_loop(model, {"search_lessons": search}, QUESTION, 4)
    async with aclosing(stream):
        async for event in stream:
            if isinstance(event, tuple) and event[0] in ("tool_start", "tool_end"):
                seen.append((event[0], search.finished))
    if ("tool_start", True) in seen:
        fail(
            "交出 tool_start 时, 工具还没有运行完",
            "工具已经运行完了才交出 tool_start: 页面的卡片一出现就是'完成', 用户看不到它在运行",
            SEE,
        )
    if ("tool_end", False) in seen:
        fail("交出 tool_end 时, 工具已经运行完", "工具还没有运行完就交出了 tool_end")
    expect_equal([kind for kind, _ in seen], ["tool_start", "tool_end"], "工具事件")


async def check_tool_errors_fed_back(ex):
    """工具失败 (抛异常、不认识的名字、参数坏了): tool_end 里是 error, 交回模型, 循环接着走"""
    step1 = [
        *tool_call(0, "call_1", "divide", '{"a": 1, "b": 0}'),
        *tool_call(1, "call_2", "weather", '{"city": "北京"}'),
        *tool_call(2, "call_3", "divide", '{"a": 1, "b": '),  # 被截断的参数
        ("finish", "tool_calls"),
    ]
    step2 = [("content", "除数是 0, 没法算。"), ("finish", "stop")]
    model = Model(step1, step2)
    divide = Tool(error=ArithmeticError("除数是 0"))
    try:
        got = await run(ex, model, {"divide": divide})
    except NotImplementedError:
        raise
    except Exception as exc:
        fail(
            "工具失败是一个结果: 交出 tool_end (带 error), 交回模型, 循环接着走",
            f"agent_loop 抛出了 {type(exc).__name__}: {exc}",
            MISTAKES,
        )
    pairs = tool_pairs(got)
    if set(pairs) != {"call_1", "call_2", "call_3"}:
        fail("三个调用各有一对 tool_start / tool_end", f"id 是 {sorted(pairs)}")
    expect_equal(pairs["call_3"][2].get("args"), '{"a": 1, "b": ', "参数不是合法 JSON 时, tool_start 的 args (原来的字符串)")  # fmt: skip
    for call_id, what in [("call_1", "工具抛出异常"), ("call_2", "不认识的工具 weather"), ("call_3", "参数不是合法 JSON")]:  # fmt: skip
        end = pairs[call_id][3]
        error = end.get("error")
        if end.get("result") is not None or not isinstance(error, str) or not error.strip():
            fail(f"{what}: tool_end 里 result 为 None, error 是一句说明", show(end))
    if "除数是 0" not in pairs["call_1"][3]["error"]:
        fail("工具异常的消息原样放进 error", f"error 是 {show(pairs['call_1'][3]['error'])}")
    if len(model.calls) != 2:
        fail("工具失败之后, 带着错误再问模型一次", f"模型被问了 {len(model.calls)} 次")
    replies = {m.get("tool_call_id"): m.get("content") for m in model.calls[1] if m.get("role") == "tool"}  # fmt: skip
    for call_id in ("call_1", "call_2", "call_3"):
        content = replies.get(call_id)
        if not isinstance(content, str) or not content.startswith(ex.TOOL_FAILED):
            fail(
                f"交回模型的失败结果以 TOOL_FAILED ({ex.TOOL_FAILED!r}) 开头, 模型才知道要换个做法",
                f"{call_id} 的 tool 消息是 {show(content)}",
            )
    if "除数是 0" not in replies["call_1"]:
        fail("交回模型的失败结果里有错误说明", f"call_1 的 tool 消息是 {show(replies['call_1'])}")
    expect_equal(got[-1][0], ("finish", "stop"), "最后一项")


async def check_max_steps(ex):
    """模型总要调用工具: 问了 max_steps 轮就抛 TooManySteps, 不再问模型"""
    steps = [
        [
            *tool_call(0, f"call_{k}", "search_lessons", '{"query": "再搜一次"}'),
            ("finish", "tool_calls"),
        ]
        for k in range(1, TOO_MANY + 1)
    ]
    model = Model(*steps)
    search = Tool(result="没有找到")
    got = []
    try:
        async for event in ex.agent_loop(model, {"search_lessons": search}, QUESTION, 3):
            got.append((event, model.produced))
    except ex.TooManySteps as exc:
        if "3" not in str(exc):
            fail("TooManySteps 的消息说明走了几轮 (3)", f"消息是 {str(exc)!r}")
    else:
        fail(
            "max_steps=3 轮之后抛出 TooManySteps",
            f"正常结束了 (模型被问了 {len(model.calls)} 次, 交出的种类 {names(got)}):"
            " 页面会收到一个没有回答的 done",
            MISTAKES,
        )
    expect_equal(len(model.calls), 3, "max_steps=3 时模型被问的次数")
    tool_pairs(got)


async def check_cancel_running_tool(ex):
    """工具运行时任务被取消 (用户按了停止): 工具被取消, CancelledError 往外传, 不再问模型"""
    step1 = [
        *tool_call(0, "call_1", "search_lessons", '{"query": "SSE"}'),
        ("finish", "tool_calls"),
    ]
    model = Model(step1, [("content", "不该走到这里"), ("finish", "stop")])
    search = Tool(delay=3600)  # 一次很慢的搜索
    events = []

    async def consume() -> None:
        async for event in ex.agent_loop(model, {"search_lessons": search}, QUESTION, 4):
            events.append(event)

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(search.started.wait(), 1)
    except asyncio.TimeoutError:
        task.cancel()
        fail("工具 search_lessons 开始运行", f"1 秒内它都没有被调用; 交出的项: {show(events)}")
    await asyncio.sleep(0.02)
    task.cancel()  # 用户按了停止
    done, _ = await asyncio.wait({task}, timeout=1)
    if not done:
        fail("任务被取消后很快结束", "1 秒后还没有结束: 是不是在等一个没有被取消的工具?", CANCEL)
    if not task.cancelled():
        fail(
            "CancelledError 继续往外传 (任务以'已取消'结束)",
            f"CancelledError 被吞掉了: 取消被当成了工具出错? 模型一共被问了 {len(model.calls)} 次,"
            f" 交出的项: {show(events)}",
            CANCEL,
        )
    if not search.finished:
        fail(
            "任务被取消时, 正在运行的工具也被取消 (它的 finally 已执行)",
            "工具还在运行: 用另开的任务、asyncio.wait 或 shield 运行工具时, 取消不会自动传给它",
            CANCEL,
        )
    expect_equal(len(model.calls), 1, "停止之后, 模型被问的次数 (下一轮不能再发)")
    await expect_no_leftover_tasks("任务被取消", CANCEL)


async def check_model_stream_closed(ex):
    """回答中途 aclose() 或任务被取消: 这一轮模型的流立刻关闭 (它的 finally 执行)"""
    model = Model([("content", f"第 {i} 句。") for i in range(20)] + [("finish", "stop")], delay=0.005)  # fmt: skip
    async with aclosing(ex.agent_loop(model, {}, QUESTION, 4)) as stream:
        count = 0
        async for _ in stream:
            count += 1
            if count == 2:
                break  # 用户按了停止 (离开 async with 时 aclose())
    if model.closed != model.opened:
        fail(
            "aclose() 返回时, 模型的流已经关闭",
            "模型的流还开着 (连接还在、还在计费): 你的生成器停在 yield 时被关闭,"
            " 里面的 async for 不会替你关闭模型的流 —— 用 aclosing 包住它",
            CANCEL,
        )
    await expect_no_leftover_tasks("aclose()", CANCEL)

    silent = Model([("content", "让我想想")], hang=True)

    async def consume() -> None:
        async for _ in ex.agent_loop(silent, {}, QUESTION, 4):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    if not done or not task.cancelled():
        fail("模型沉默时任务被取消: 很快以'已取消'结束", "没有", CANCEL)
    if silent.closed != silent.opened:
        fail("任务被取消时, 模型的流已经关闭", "模型的流还开着", CANCEL)
    await expect_no_leftover_tasks("任务被取消", CANCEL)
