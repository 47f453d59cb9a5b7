"""第 05 课: OpenAI 流式 API —— 用真正的 SDK, 离线也能跑

你将学到:
- stream=True 之后拿到的是什么: chunk、delta、finish_reason, 以及 choices 为空的用量 chunk
- 首字时间 (TTFT) 与总时间; 同一个问题流式与非流式各等多久 (--compare)
- 同步的 OpenAI 与异步的 AsyncOpenAI (放在异步生成器里); 推理内容; 工具调用的增量拼接
- 真实的流会遇到的事: 中途出错、被截断、连接断开、提前停止时关闭流
- 原始的读法 (--raw: 不要类型对象, 按规范切 SSE) 与 Responses API 的带类型事件 (--responses)

运行:
    # 没有 OPENAI_API_KEY 时自动使用内置的模拟模型, 不需要网络
    python examples/05_openai_stream.py
    python examples/05_openai_stream.py "什么是首字时间?" --compare
    python examples/05_openai_stream.py "/error"            # 中途出错: 已收到的内容不丢
    python examples/05_openai_stream.py "北京天气怎么样" --tools
    python examples/05_openai_stream.py "/long" --max-chars 60   # 提前停止, 看服务器是否停了
    python examples/05_openai_stream.py "你好" --raw            # 原始的读法 (第 06 课的服务器这样读)
    python examples/05_openai_stream.py "你好" --responses      # Responses API: 带类型的事件
    OPENAI_API_KEY=sk-... python examples/05_openai_stream.py "你好" --model gpt-4o-mini
    python examples/openai_sim.py --port 8005                  # 只运行模拟服务器, 给别的客户端用
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx2  # openai SDK 3.x 用的 HTTP 库 (httpx 的后继); 原始的读法直接拿到它的响应对象
import lesson  # 按编号导入前面的课
import openai
import openai_sim  # 同目录下的模拟服务器 (第 06 课也用它)
from openai import AsyncOpenAI, AsyncStream, OpenAI
from openai.types.chat import ChatCompletionChunk
from rich.console import Console
from rich.table import Table

DEFAULT_MODEL = "gpt-4o-mini"  # 用真实服务商且没有指定 --model 时
SIM_MODEL = "sim-reasoner"  # 模拟模型的名字 (其实任何名字它都接受)
DEFAULT_PROMPT = "用三句话解释: 为什么大模型要流式输出?"

console = Console(highlight=False, soft_wrap=True)
sse = lesson.load("04")  # 第 04 课: 按规范的 SSE 解码器 (原始的读法用它切行)


# --8<-- [start:parse_chunk]
def parse_chunk(chunk: ChatCompletionChunk) -> list[tuple[str, Any]]:
    """把一个 chunk 拆成 (种类, 值): reasoning / content / tool_call / finish / usage。
    值是普通的字符串和字典, 和第 9 节"原始的读法"交出的一模一样 (测试逐个 chunk 比较两者)。"""
    parts: list[tuple[str, Any]] = []
    if chunk.usage:  # 最后那个用量 chunk
        parts.append(("usage", chunk.usage.model_dump(exclude_unset=True)))
    for choice in chunk.choices:  # 用量 chunk 的 choices 是空列表: 不能直接写 choices[0]
        delta = choice.delta
        # DeepSeek 等推理模型的思考过程不在 SDK 的类型定义里, 在额外字段里。
        reasoning = (delta.model_extra or {}).get("reasoning_content")
        if reasoning:
            parts.append(("reasoning", reasoning))
        if delta.content:
            parts.append(("content", delta.content))
        for call in delta.tool_calls or []:  # {"index", "id"?, "function": {"name"?, "arguments"}}
            parts.append(("tool_call", call.model_dump(exclude_unset=True)))
        if choice.finish_reason:
            parts.append(("finish", choice.finish_reason))
    return parts


# --8<-- [end:parse_chunk]


@dataclass
class StreamResult:
    """一次流式回答的全部结果和计时 (秒, 从发出请求算起)。"""

    reasoning: str = ""
    content: str = ""
    chunks: int = 0
    reads: int = 0  # 原始的读法: 网络读取的次数 (一次可能带来好几个 chunk)
    finish_reason: str | None = None
    usage: Any = None
    error: str | None = None
    stopped_early: bool = False
    first_reasoning: float | None = None
    first_content: float | None = None
    total: float = 0.0
    tool_calls: dict[int, dict[str, str]] = field(default_factory=dict)

    # --8<-- [start:accumulate]
    def add(self, kind: str, value: Any, t: float) -> None:
        if kind == "reasoning":
            self.first_reasoning = self.first_reasoning or t
            self.reasoning += value
        elif kind == "content":
            self.first_content = self.first_content or t
            self.content += value
        elif kind == "tool_call":  # 工具调用分好几个 chunk 到达, 按 index 拼起来
            call = self.tool_calls.setdefault(
                value["index"], {"id": "", "name": "", "arguments": ""}
            )
            call["id"] = value.get("id") or call["id"]
            function = value.get("function") or {}
            call["name"] += function.get("name") or ""
            call["arguments"] += function.get("arguments") or ""  # 拼完才是合法 JSON
        elif kind == "finish":
            self.finish_reason = value
        elif kind == "usage":
            self.usage = value

    # --8<-- [end:accumulate]

    @property
    def truncated(self) -> bool:
        """流结束了, 却没有 finish_reason, 也没有报错: 回答可能不完整。"""
        return self.finish_reason is None and self.error is None and not self.stopped_early


OnDelta = Callable[[str, str], None]


# --8<-- [start:stream_sync]
def stream_chat(
    client: OpenAI,
    model: str,
    messages: list[dict[str, Any]],
    on_delta: OnDelta | None = None,
    max_chars: int | None = None,
    **options: Any,
) -> StreamResult:
    result, start = StreamResult(), time.perf_counter()
    stream = client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},  # 最后多发一个带用量的 chunk
        **options,
    )
    try:
        with stream:  # 无论怎样离开 (读完、break、出错), 都关闭 HTTP 响应
            for chunk in stream:
                result.chunks += 1
                for kind, value in parse_chunk(chunk):
                    result.add(kind, value, time.perf_counter() - start)
                    if on_delta and kind in ("reasoning", "content"):
                        on_delta(kind, value)
                if max_chars is not None and len(result.content) >= max_chars:
                    result.stopped_early = True
                    break  # 不想要了: 离开 with, 连接关闭, 服务器那边停止生成
    except openai.APIError as exc:  # 流到一半出错: 已经收到的内容还在 result 里
        result.error = exc.message
    except httpx2.TransportError as exc:  # 连接断了: 较早的 SDK 不把它包装成 APIError
        result.error = f"连接中断: {exc}"
    result.total = time.perf_counter() - start
    return result


# --8<-- [end:stream_sync]


# --8<-- [start:stream_async]
async def open_stream(
    client: AsyncOpenAI, model: str, messages: list[dict[str, Any]], **options: Any
) -> AsyncStream[ChatCompletionChunk]:
    """发出请求并等到响应头。key 不对、模型不存在这类错误在这里抛出, 流还没有开始。"""
    return await client.chat.completions.create(
        model=model,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
        **options,
    )


async def stream_deltas(stream: AsyncStream[ChatCompletionChunk]) -> AsyncIterator[tuple[str, Any]]:
    """异步生成器: 产出 (种类, 值), 和同步版的 parse_chunk 规则一样。"""
    async with stream:  # 这个生成器被关闭或取消时, 关闭 HTTP 响应 —— 上游随之停止
        async for chunk in stream:
            for part in parse_chunk(chunk):
                yield part


async def astream_chat(
    client: AsyncOpenAI, model: str, messages: list[dict[str, Any]], on_delta: OnDelta | None = None
) -> StreamResult:
    result, start = StreamResult(), time.perf_counter()
    try:
        # stream_deltas 交出的是拆好的 (种类, 值), 数不到 chunk: result.chunks 留作 0。
        async for kind, value in stream_deltas(await open_stream(client, model, messages)):
            result.add(kind, value, time.perf_counter() - start)
            if on_delta and kind in ("reasoning", "content"):
                on_delta(kind, value)
    except openai.APIError as exc:
        result.error = exc.message
    except httpx2.TransportError as exc:
        result.error = f"连接中断: {exc}"
    result.total = time.perf_counter() - start
    return result


# --8<-- [end:stream_async]


# --8<-- [start:stream_raw]
MAX_LINE = 1024 * 1024  # 上游的一行最多几个字符: 真实的 chunk 不到 1 KB, 1 MiB 已经非常宽松


async def open_raw_stream(
    stack: AsyncExitStack,
    client: AsyncOpenAI,
    model: str,
    messages: list[dict[str, Any]],
    **options: Any,
) -> httpx2.Response:
    """同一个请求, 走 SDK 的通用入口 client.post (SDK 的 README 说它是给"文档里没有的接口"用的):
    认证、base_url、重试、把 4xx/5xx 变成对应的异常 —— 仍由 SDK 负责; 但它不为这个请求做参数转换,
    也不为响应包一层类型对象, 直接交出原始的 HTTP 响应。响应由 stack 关闭: await stack.aclose() 时连接随之关闭。"""
    body = {"model": model, "messages": messages, "stream": True,
            "stream_options": {"include_usage": True}, **options}  # fmt: skip  # options: 比如 tools
    response = await client.post(
        "/chat/completions", cast_to=httpx2.Response, body=body, stream=True
    )
    stack.push_async_callback(response.aclose)
    return response


# --8<-- [end:stream_raw]


# --8<-- [start:raw_parse]
class BadChunk(ValueError):
    """上游发来的不是一个合法的 chat.completion.chunk: 不是 JSON、形状不对、文字不是字符串。"""


def text_field(delta: dict[str, Any], name: str) -> str | None:
    """delta 里的一段文字。只交出真正的字符串: 数字、列表、孤立的代理码点都是上游的错。"""
    value = delta.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadChunk(f"delta.{name} 应当是字符串, 收到的是 {type(value).__name__}")
    if not value.isascii():
        try:  # JSON 里的 "\ud800" 能造出一个孤立的代理码点: 它不是文字, 也编码不成 UTF-8
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadChunk(f"delta.{name} 含有孤立的代理码点") from None
    return value


def parse_chunk_data(data: Any) -> list[tuple[str, Any]]:
    """和 parse_chunk 同样的规则, 读的是 json.loads 的结果。上游不可信: 形状不对就抛 BadChunk。"""
    if not isinstance(data, dict):
        raise BadChunk(f"chunk 应当是 JSON 对象, 收到的是 {type(data).__name__}")
    parts: list[tuple[str, Any]] = [("usage", data["usage"])] if data.get("usage") else []
    choices = data.get("choices") or []
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise BadChunk("choices 应当是对象的列表")
    for choice in choices:
        delta = choice.get("delta") or {}
        if not isinstance(delta, dict):
            raise BadChunk("delta 应当是 JSON 对象")
        for kind, name in (("reasoning", "reasoning_content"), ("content", "content")):
            if text := text_field(delta, name):
                parts.append((kind, text))
        for call in delta.get("tool_calls") or []:
            if not isinstance(call, dict) or not isinstance(call.get("index"), int):
                raise BadChunk("tool_calls 里的每一项都应当是带整数 index 的对象")
            parts.append(("tool_call", call))
        if reason := choice.get("finish_reason"):
            if not isinstance(reason, str):
                raise BadChunk("finish_reason 应当是字符串")
            parts.append(("finish", reason))
    return parts


def load_chunk(text: str, response: httpx2.Response) -> Any:
    """一条 data 的 JSON。流中途的 {"error": ...} 和 SDK 一样变成 openai.APIError。"""
    try:
        data = json.loads(text)
    except ValueError:
        raise BadChunk("chunk 不是合法的 JSON") from None
    if isinstance(data, dict) and "error" in data:
        error = data["error"]
        error = error if isinstance(error, dict) else {"message": str(error)}
        raise openai.APIError(str(error.get("message")), response.request, body=error)
    return data


# --8<-- [end:raw_parse]


# --8<-- [start:raw_batches]
async def raw_batches(
    response: httpx2.Response, max_line: int = MAX_LINE
) -> AsyncIterator[list[tuple[str, Any]]]:
    """读原始字节, 用第 04 课的 SSEDecoder 切出事件, 每次网络读取交出一批 (种类, 值)。

    为什么不用 response.iter_lines(): 它像 str.splitlines() 那样, 把 U+2028、U+0085 等也当成换行,
    一段含有它们的回答会把一行 JSON 切成两半。SSE 的行只以 CR、LF 或 CRLF 结束 —— 正是 04 的解码器。
    一次读取可能带来很多个 chunk (模型很快, 或者我们读得慢): 一起交出, 不为每个 chunk 走一遍异步生成器。"""
    decoder = sse.SSEDecoder(max_line=max_line)
    async for data in response.aiter_bytes():
        batch: list[tuple[str, Any]] = []
        try:
            for event in decoder.feed(data):
                if event.data == "[DONE]":
                    yield batch
                    return
                batch += parse_chunk_data(load_chunk(event.data, response))
        except Exception:  # 出错之前已经解析好的部分先交出: 部分回答一个字也不丢
            yield batch
            raise
        if batch:
            yield batch
    decoder.feed(b"")  # 流结束了: 如果最后一块里有超长的行, 在这里抛出


# --8<-- [end:raw_batches]


class LivePrinter:
    """把增量直接打印到终端: 思考过程暗色, 回答正常颜色。"""

    def __init__(self) -> None:
        self.section: str | None = None

    def __call__(self, kind: str, text: str) -> None:
        if kind != self.section:
            title = "思考过程:" if kind == "reasoning" else "回答:"
            console.print(("\n" if self.section else "") + title, style="bold")
            self.section = kind
        console.print(text, end="", style="dim" if kind == "reasoning" else None, markup=False)

    def finish(self) -> None:
        if self.section:
            console.print()
        self.section = None


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


def summary(model: str, result: StreamResult, waited_without_stream: float | None) -> Table:
    table = Table(title=f"这次回答 ({model})")
    table.add_column("指标")
    table.add_column("数值", justify="right")
    table.add_row("首个思考 token", seconds(result.first_reasoning))
    table.add_row("首个回答 token (TTFT)", seconds(result.first_content))
    table.add_row("总时间", seconds(result.total))
    if result.reads:
        table.add_row("网络读取 (原始读法)", str(result.reads))
    else:
        table.add_row("收到的 chunk", str(result.chunks or "—"))
    if result.usage:
        u = result.usage
        table.add_row(
            "用量 (输入/输出/合计)",
            f"{u.get('prompt_tokens')}/{u.get('completion_tokens')}/{u.get('total_tokens')}",
        )
        first = result.first_reasoning or result.first_content or 0.0
        if result.total > first and isinstance(u.get("completion_tokens"), int):
            speed = u["completion_tokens"] / (result.total - first)
            table.add_row("生成速度", f"{speed:.0f} token/秒")
    ending = result.finish_reason or ("提前停止" if result.stopped_early else "无")
    table.add_row("finish_reason", ending + ("  ⚠ 被截断" if result.truncated else ""))
    if waited_without_stream is not None:
        for label, value in compare_rows(waited_without_stream, result):
            table.add_row(label, value)
    return table


def compare_rows(waited: float, result: StreamResult) -> list[tuple[str, str]]:
    """--compare: 不流式要等整个回答生成完; 流式看到第一个字要多久? 思考和回答分开比。"""
    rows = [("不流式: 等到整个回答", seconds(waited))]
    for label, first in (("第一个字 (思考过程)", result.first_reasoning), ("第一个回答 token", result.first_content)):  # fmt: skip
        if first:
            ratio = waited / first
            verdict = f"早 {ratio:.1f} 倍" if ratio >= 1 else f"没有更早 ({ratio:.2f} 倍)"
            rows.append((f"流式: {label}", f"{seconds(first)}, {verdict}"))
    return rows


# --8<-- [start:compare]
def wait_without_streaming(client: OpenAI, model: str, messages: list[dict[str, Any]]) -> float:
    """同一个问题不流式地问一遍: 整个回答生成完, 才能看到第一个字。"""
    start = time.perf_counter()
    client.chat.completions.create(model=model, messages=messages)
    return time.perf_counter() - start


# --8<-- [end:compare]


# --8<-- [start:tools]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "查询一个城市现在的天气",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "城市名, 例如 北京"}},
            "required": ["city"],
        },
    },
}


def get_weather(city: str) -> str:
    return f"{city}: 晴, 22°C"  # 一个本地的假工具


TOOLS = {"get_weather": get_weather}  # 模型能叫的名字 → 真正执行的函数


def call_tool(name: str, arguments: str) -> str:
    """执行模型要求的工具, 结果是一段文字。名字不认识、参数不是 JSON、参数不对 —— 都作为结果告诉模型,
    而不是让程序崩溃: 模型读到 "error" 会改正参数, 或者换一种说法回答。"""

    def error(message: str) -> str:
        return json.dumps({"error": message}, ensure_ascii=False)

    function = TOOLS.get(name)
    if function is None:
        return error(f"没有名为 {name!r} 的工具, 可用的是: {', '.join(TOOLS)}")
    try:
        kwargs = json.loads(arguments or "{}")  # 所有片段拼完, 才能解析
    except ValueError:
        return error(f"参数不是合法的 JSON: {arguments!r}")
    if not isinstance(kwargs, dict):
        return error("参数应当是一个 JSON 对象")
    try:
        return function(**kwargs)
    except TypeError as exc:  # 缺了参数, 或者多了一个不认识的参数
        return error(f"参数不对: {exc}")


def run_with_tools(client: OpenAI, model: str, prompt: str, show: LivePrinter) -> StreamResult:
    messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
    first = stream_chat(client, model, messages, show, tools=[WEATHER_TOOL])
    if first.finish_reason != "tool_calls":
        return first
    calls = list(first.tool_calls.values())
    messages.append({"role": "assistant", "content": None, "tool_calls": [  # 所有调用放在同一条消息里
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
        for c in calls
    ]})  # fmt: skip
    for call in calls:
        console.print(f"\n模型要求调用工具: {call['name']}({call['arguments']})", markup=False)
        result = call_tool(call["name"], call["arguments"])
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    return stream_chat(client, model, messages, show, tools=[WEATHER_TOOL])


# --8<-- [end:tools]


@dataclass
class Target:
    """要连接的服务: 真实的服务商, 或者内置的模拟服务器。"""

    base_url: str | None
    api_key: str
    model: str


def real_target(
    base_url: str | None, model: str | None, simulate: bool, api_key: str | None = None
) -> Target | None:
    """连真实的服务商, 还是用模拟模型? 有 key 或 base_url 就连真实的; 否则 (或 simulate) 返回 None。
    api_key 默认取环境变量 OPENAI_API_KEY。"""
    api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if simulate or not (api_key or base_url):
        return None
    # 本地的兼容服务 (Ollama、vLLM) 不检查 key, 但 SDK 要求有一个。
    return Target(base_url, api_key or "no-key", model or DEFAULT_MODEL)


# --8<-- [start:make_client]
def make_client(target: Target) -> OpenAI:
    # 每个进程创建一次、反复使用: 新建客户端要几十毫秒, 还会丢掉连接池。
    return OpenAI(api_key=target.api_key, base_url=target.base_url)


# --8<-- [end:make_client]


def sim_stats(base_url: str) -> dict[str, int]:
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/sim/stats", timeout=5) as r:
        return json.load(r)


async def ask_async(
    target: Target, messages: list[dict[str, Any]], show: LivePrinter
) -> StreamResult:
    async with AsyncOpenAI(api_key=target.api_key, base_url=target.base_url) as client:
        return await astream_chat(client, target.model, messages, show)


# --8<-- [start:raw_chat]
async def raw_chat(
    target: Target, messages: list[dict[str, Any]], show: LivePrinter
) -> StreamResult:
    """同一个请求, 原始的读法 (第 9 节)。流开始之前的错误照样由 SDK 抛出; 之后的一切, 包括坏数据, 都记进结果。"""
    client = AsyncOpenAI(api_key=target.api_key, base_url=target.base_url)
    result, start = StreamResult(), time.perf_counter()
    async with client, AsyncExitStack() as stack:
        response = await open_raw_stream(stack, client, target.model, messages)
        try:
            async for batch in raw_batches(response):
                result.reads += 1
                for kind, value in batch:
                    result.add(kind, value, time.perf_counter() - start)
                    if kind in ("reasoning", "content"):
                        show(kind, value)
        except openai.APIError as exc:
            result.error = exc.message
        except Exception as exc:  # BadChunk、LineTooLong、连接断了……
            result.error = f"{type(exc).__name__}: {exc}"
    result.total = time.perf_counter() - start
    return result


# --8<-- [end:raw_chat]


# --8<-- [start:responses]
@dataclass
class ResponsesResult:
    text: str = ""
    reasoning: str = ""
    arguments: str = ""  # 工具调用的参数, 同样是一段一段到达的
    status: str | None = None  # completed / incomplete / failed; None = 流结束了却没有终止事件
    detail: str | None = None  # incomplete 的原因, 或者出错的说明
    usage: Any = None
    events: Counter[str] = field(default_factory=Counter)
    in_order: bool = True  # sequence_number 是否从 0 开始、一个不缺
    first_content: float | None = None
    total: float = 0.0


def stream_response(
    client: OpenAI, model: str, prompt: str, show: LivePrinter, **options: Any
) -> ResponsesResult:
    """Responses API: 流里不是 chunk, 而是带类型的事件; 按 event.type 分派。没有 [DONE]:
    流以 response.completed / response.incomplete / response.failed 结束。"""
    result, start = ResponsesResult(), time.perf_counter()
    try:
        with client.responses.create(model=model, input=prompt, stream=True, **options) as stream:
            for event in stream:
                result.in_order &= event.sequence_number == sum(result.events.values())
                result.events[event.type] += 1
                if event.type == "response.output_text.delta":
                    result.first_content = result.first_content or time.perf_counter() - start
                    result.text += event.delta
                    show("content", event.delta)
                elif event.type == "response.reasoning_summary_text.delta":
                    result.reasoning += event.delta
                    show("reasoning", event.delta)
                elif event.type == "response.function_call_arguments.delta":
                    result.arguments += event.delta
                elif event.type in TERMINAL_EVENTS:
                    finish_response(result, event.response)
                elif event.type == "error":
                    result.status, result.detail = "error", event.message
    except openai.APIError as exc:  # 流中途的 {"error": {...}}, SDK 抛出 APIError
        result.status, result.detail = "error", exc.message
    result.total = time.perf_counter() - start
    return result


TERMINAL_EVENTS = ("response.completed", "response.incomplete", "response.failed")


def finish_response(result: ResponsesResult, response: Any) -> None:
    """终止事件里带着完整的 response 对象: 状态、用量, 以及为什么没有完成。"""
    result.status, result.usage = response.status, response.usage
    if response.incomplete_details:
        result.detail = response.incomplete_details.reason  # 比如 max_output_tokens
    if response.error:
        result.detail = response.error.message


# --8<-- [end:responses]


def responses_summary(model: str, result: ResponsesResult) -> Table:
    table = Table(title=f"这次回答 (Responses API, {model})")
    table.add_column("指标")
    table.add_column("数值", justify="right")
    ending = result.status or "⚠ 没有终止事件: 流被截断了"
    table.add_row("结束方式", ending + (f" ({result.detail})" if result.detail else ""))
    table.add_row("首个回答 token (TTFT)", seconds(result.first_content))
    table.add_row("总时间", seconds(result.total))
    table.add_row("sequence_number", "从 0 起连续" if result.in_order else "⚠ 有缺口或乱序")
    if result.usage:
        u = result.usage
        reasoning = u.output_tokens_details.reasoning_tokens if u.output_tokens_details else 0
        table.add_row(
            "用量 (输入/输出/其中推理)", f"{u.input_tokens}/{u.output_tokens}/{reasoning}"
        )
    for kind, count in result.events.most_common():
        table.add_row(f"  事件 {kind}", str(count))
    return table


def check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--async、--raw、--responses 各演示一种读法本身; 和别的演示混在一起, 宁可明说不支持, 也不悄悄忽略。"""
    modes = [m for m, on in (("--async", args.use_async), ("--raw", args.raw), ("--responses", args.responses)) if on]  # fmt: skip
    extras = [e for e, on in (("--tools", args.tools), ("--compare", args.compare), ("--max-chars", args.max_chars is not None)) if on]  # fmt: skip
    if len(modes) > 1:
        parser.error(f"{' 和 '.join(modes)} 只能选一个")
    if modes and extras:
        parser.error(f"{modes[0]} 只演示这种读法本身, 不能和 {'、'.join(extras)} 一起用 (去掉 {modes[0]} 就可以)")  # fmt: skip
    if args.max_output_tokens is not None and not args.responses:
        parser.error("--max-output-tokens 只和 --responses 一起用")


def run(
    target: Target, args: argparse.Namespace, show: LivePrinter
) -> tuple[StreamResult, float | None]:
    """按命令行选的读法问一次。返回 (结果, 不流式时等了多久)。"""
    messages = [{"role": "user", "content": args.prompt}]
    if args.use_async:
        return asyncio.run(ask_async(target, messages, show)), None
    if args.raw:
        return asyncio.run(raw_chat(target, messages, show)), None
    client = make_client(target)  # 这次运行的所有请求共用它
    if args.tools:
        result = run_with_tools(client, target.model, args.prompt, show)
    else:
        result = stream_chat(client, target.model, messages, show, args.max_chars)
    if not args.compare:
        return result, None
    show.finish()
    console.print("再不流式地问一遍 (--compare), 请稍等……")
    return result, wait_without_streaming(client, target.model, messages)


def chat(target: Target, args: argparse.Namespace) -> int:
    """提问一次, 边收边打印, 最后打印汇总表。"""
    show = LivePrinter()
    try:
        if args.responses:
            options = (
                {"max_output_tokens": args.max_output_tokens} if args.max_output_tokens else {}
            )
            answer = stream_response(
                make_client(target), target.model, args.prompt, show, **options
            )
            show.finish()
            console.print(responses_summary(target.model, answer))
            return 0 if answer.status == "completed" else 1
        result, waited = run(target, args, show)
        show.finish()
    except openai.AuthenticationError as exc:
        console.print(f"API key 被拒绝: {exc.message}", markup=False)
        return 1
    except openai.APIConnectionError:
        console.print(
            f"连不上 {target.base_url or 'https://api.openai.com/v1'}: 检查网络或 --base-url"
        )
        return 1
    except openai.APIStatusError as exc:  # 流开始之前的错误: 4xx/5xx
        console.print(f"请求失败 (HTTP {exc.status_code}): {exc.message}", markup=False)
        return 1
    if result.error:
        console.print(f"\n⚠ 流在中途出错: {result.error}", style="bold red", markup=False)
        console.print(f"已经收到的 {len(result.content)} 个字保留在上面, 没有丢。")
    if result.stopped_early:
        console.print(f"\n读到 {len(result.content)} 个字就停下了 (--max-chars), 流已关闭。")
    console.print(summary(target.model, result, waited))
    return 1 if result.error else 0


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(description="第 05 课: OpenAI 流式 API")
    add = parser.add_argument
    add("prompt", nargs="?", default=DEFAULT_PROMPT, help=f"你的问题 (默认: {DEFAULT_PROMPT})")
    add("--model", default=os.environ.get("OPENAI_MODEL"), help=f"模型名 (默认 $OPENAI_MODEL, 或 {DEFAULT_MODEL}; 模拟时 {SIM_MODEL})")  # fmt: skip
    add("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="兼容服务商的地址 (默认 $OPENAI_BASE_URL)")  # fmt: skip
    add("--simulate", action="store_true", help="使用内置的模拟模型 (没有 OPENAI_API_KEY 时自动启用)")  # fmt: skip
    add("--token-delay", type=float, default=openai_sim.DEFAULT_TOKEN_DELAY, help=f"模拟模型每个 token 的秒数 (默认 {openai_sim.DEFAULT_TOKEN_DELAY})")  # fmt: skip
    add("--compare", action="store_true", help="再不流式地请求一次, 对比等待时间")
    add("--tools", action="store_true", help="演示工具调用: 提供 get_weather 工具")
    add("--max-chars", type=int, help="回答读到这么多字就停下 (演示提前关闭流)")
    add("--async", dest="use_async", action="store_true", help="改用 AsyncOpenAI (异步生成器)")
    add("--raw", action="store_true", help="原始的读法: 不构造类型对象, 用第 04 课的解码器切 SSE")
    add("--responses", action="store_true", help="改用 Responses API (带类型的事件)")
    add("--max-output-tokens", type=int, help="--responses 时限制输出的 token 数 (演示 response.incomplete)")  # fmt: skip
    args = parser.parse_args(argv)
    check_combinations(parser, args)

    target = real_target(args.base_url, args.model, args.simulate)
    if target:
        console.print(f"连接 {target.base_url or 'OpenAI'}, 模型 {target.model}")
        return chat(target, args)
    if not args.simulate:
        console.print("没有找到 OPENAI_API_KEY, 使用内置的模拟模型 (--simulate)。", style="yellow")
    with openai_sim.running_in_thread(args.token_delay) as sim:
        target = Target(f"{sim.url}/v1", "sim-key", args.model or SIM_MODEL)
        console.print(
            f"模拟服务器运行在 {target.base_url}: 真正的 openai SDK 通过 HTTP 连接它, "
            "代码路径和连接真实 API 时完全一样。"
        )
        code = chat(target, args)
        if args.max_chars:  # 服务器要到下一次写入时才会发现客户端走了: 等它一下
            time.sleep(openai_sim.LONG_TOKEN_DELAY * 3)
        console.print(f"模拟服务器统计 (/sim/stats): {sim_stats(target.base_url)}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
