"""参考答案: 练习 07_run_tool —— 运行一次工具调用: 出错是结果, 取消要传出去。先自己做, 再来对照。

和第 07 课的 run_tool 是同一个结构: 说明参数哪里不对的异常, 消息原样交出 (模型要靠它改正);
其余的异常 (工具里的 bug、它连的服务挂了) 也是结果, 但原文可能带着内部地址, 只进日志, 给模型和页面的只有类名。
CancelledError 是 BaseException, 不在 Exception 里: 用户按了停止, 取消照样往外传, 正在 await 的工具随之被取消。
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tools")


class ToolError(Exception):
    """工具失败了 (比如除数是 0): 消息原样交给模型和页面。"""


@dataclass
class Outcome:
    result: str | None = None
    error: str | None = None
    duration_ms: int = 0


async def run_tool(
    tools: dict[str, Callable[..., Any]], name: str, arguments: str, timeout: float
) -> Outcome:
    start = time.perf_counter()
    try:
        function = tools.get(name)
        if function is None:
            raise ToolError(f"没有名为 {name!r} 的工具")
        try:
            kwargs = json.loads(arguments or "{}")
        except ValueError:
            raise ToolError(f"参数不是合法的 JSON: {arguments[:100]!r}") from None
        if not isinstance(kwargs, dict):
            raise ToolError("参数应当是一个 JSON 对象")
        result = function(**kwargs)  # 参数名不对: TypeError
        if inspect.isawaitable(result):
            result = await asyncio.wait_for(result, timeout)  # 到时取消工具, 抛 TimeoutError
        outcome = Outcome(result=str(result))
    except asyncio.TimeoutError:  # 3.10 里它和内置的 TimeoutError 不是同一个类
        outcome = Outcome(error=f"工具运行超时 (超过 {timeout:g} 秒)")
    except (
        ToolError,
        ValueError,
        TypeError,
    ) as exc:  # 坏参数、工具说明了的失败: 原样告诉模型和页面
        outcome = Outcome(error=str(exc) or type(exc).__name__)
    except Exception as exc:  # 意外的异常: 也是结果, 但原文只进日志; CancelledError 不在其中
        log.exception("工具 %s 出错", name)
        outcome = Outcome(error=f"工具内部出错 ({type(exc).__name__})")
    outcome.duration_ms = round((time.perf_counter() - start) * 1000)
    return outcome
