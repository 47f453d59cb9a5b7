"""参考答案: 练习 07_agent_loop —— 智能体的循环。先自己做, 再来对照。

和第 07 课的 agent_stream 是同一个结构 (去掉了 HTTP 和计时)。两处容易漏掉的地方:
- 最后一轮模型还要调用工具时, 不再运行那些工具: 它们的结果没有模型会读了;
- 每一轮模型的流都放进 aclosing: 消费者提前关闭时, 它当场关闭, 而不是等垃圾回收。
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

TOOL_FAILED = "错误: "  # 工具失败时, 交给模型的结果以它开头

Model = Callable[[list[dict[str, Any]]], AsyncIterator[tuple[str, Any]]]
Tools = dict[str, Callable[..., Awaitable[Any]]]


class TooManySteps(Exception):
    """走了 max_steps 轮还没有回答: 消息给用户看。"""


def add_fragment(calls: dict[int, dict[str, str]], fragment: dict[str, Any]) -> None:
    """已经写好 (第 05 课的练习 05_tool_calls): 把一个碎片按 index 拼进 calls。"""
    call = calls.setdefault(fragment["index"], {"id": "", "name": "", "arguments": ""})
    call["id"] = call["id"] or fragment.get("id") or ""
    function = fragment.get("function") or {}
    call["name"] += function.get("name") or ""
    call["arguments"] += function.get("arguments") or ""


def parse_args(arguments: str) -> Any:
    try:
        return json.loads(arguments or "{}")
    except ValueError:
        return arguments  # 不是 JSON: 原样给页面看


async def run(tools: Tools, name: str, arguments: str) -> tuple[str | None, str | None]:
    """运行一个工具: (result, error)。出错是结果; CancelledError 不是 Exception, 照样往外传。"""
    try:
        function = tools.get(name)
        if function is None:
            raise LookupError(f"没有名为 {name!r} 的工具")
        kwargs = json.loads(arguments or "{}")
        if not isinstance(kwargs, dict):
            raise ValueError("参数应当是一个 JSON 对象")
        return str(await function(**kwargs)), None  # 直接 await: 被取消时工具也被取消
    except Exception as exc:
        return None, str(exc) or type(exc).__name__


async def agent_loop(
    model: Model, tools: Tools, messages: list[dict[str, Any]], max_steps: int
) -> AsyncIterator[tuple[str, Any]]:
    messages = list(messages)  # 不改调用者的列表
    for step in range(1, max_steps + 1):
        calls: dict[int, dict[str, str]] = {}
        finish = None
        async with aclosing(model(messages)) as stream:
            async for kind, value in stream:
                if kind == "tool_call":
                    add_fragment(calls, value)
                elif kind == "finish":
                    finish = value
                else:
                    yield (kind, value)
        if finish != "tool_calls":
            if finish:
                yield ("finish", finish)
            return
        if step == max_steps:
            break  # 最后一轮还要调用工具: 结果没有模型会读了, 不运行
        ordered = [calls[i] for i in sorted(calls)]
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in ordered]})  # fmt: skip
        for call in ordered:
            yield ("tool_start", {"id": call["id"], "name": call["name"], "args": parse_args(call["arguments"])})  # fmt: skip
            result, error = await run(tools, call["name"], call["arguments"])
            yield ("tool_end", {"id": call["id"], "result": result, "error": error})
            content = result if error is None else f"{TOOL_FAILED}{error}"
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    raise TooManySteps(f"智能体调用了 {max_steps} 轮模型还没有给出回答, 停下了")
