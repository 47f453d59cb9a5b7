"""模拟模型: 一个真正的 OpenAI 兼容 HTTP 服务器 (第 05、06 课共用)

它不是假的 SDK, 而是一个服务器: 真正的 openai SDK (以及任何兼容客户端) 通过 base_url 连到它, 走的代码路径和连 OpenAI 时一模一样。
它说两种接口: Chat Completions (POST /v1/chat/completions) 和 Responses (POST /v1/responses), 流式和非流式都支持。
回答是确定的 (测试可以逐字比较), 带有推理过程、工具调用和几条可以在提问里触发的脚本:

    /echo <文本>   原样流式返回 <文本>, 每一个字符都不变 (换行、<、\\r、表情)
    /error         输出几个 token 后, 像真实 API 那样在流中途报错
    /long          很慢地输出一篇长回答 (用来演示停止和断开)
    /cut           输出几个 token 后正常地结束响应体, 却没有 finish_reason (被截断的流)
    /drop          输出几个 token 后直接掐断连接, 响应体没有结尾 (网络断了)

运行 (单独启动, 给任何 OpenAI 兼容客户端使用):
    python examples/openai_sim.py --port 8005
    OPENAI_BASE_URL=http://127.0.0.1:8005/v1 OPENAI_API_KEY=any python 你的程序.py
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import secrets
import socket
import string
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import lesson  # 按编号导入前面的课 (只在单独运行时用到第 04 课的启动器)
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

MODELS = ["sim-reasoner", "gpt-4o-mini", "deepseek-reasoner", "qwen-plus"]  # /v1/models 列出的名字
DEFAULT_TOKEN_DELAY = 0.03  # 每个 token 之间的秒数 (约每秒 33 个)
LONG_TOKEN_DELAY = 0.05  # /long 至少这么慢
TOKEN_LENGTHS = [2, 1, 3, 2, 1, 2]  # 切 token 的长度 (字符数) 循环使用, 所以结果是确定的
ERROR_AFTER = 5  # /error、/cut、/drop 在第几个 token 之后出事
UPSTREAM_ERROR = "模拟的上游错误: 模型在生成途中失败了"
FINGERPRINT = "fp_5eed0f5eed"  # system_fingerprint: fp_ + 10 个十六进制字符, 和真实的一样长
STORED_ITEMS = 1000  # Responses API: 记住最近多少个输出项 (给 item_reference 用)


# --8<-- [start:sim_tokens]
def tokenize(text: str) -> list[str]:
    """把文本切成 1~3 个字符的片, 像分词器那样: 片的边界不管词语, 也不管表情。
    "👨‍👩‍👧" 由 5 个码点组成, 会被切进不同的 delta —— 客户端只能把 delta 拼起来, 不能假设每片都"完整"。"""
    pieces, i = [], 0
    for length in itertools.cycle(TOKEN_LENGTHS):
        if i >= len(text):
            return pieces
        pieces.append(text[i : i + length])
        i += length
    return pieces  # pragma: no cover (cycle 不会结束)


# --8<-- [end:sim_tokens]

ANSWER = """你好！这是模拟模型的回答 🚀 你问的是：「{question}」

流式输出的三个要点：
1. **首字时间**：第一个字越早出现，等待的感觉越弱。
2. **逐块显示**：每收到一个增量就追加到屏幕上，一家人 👨‍👩‍👧 也不会被拆散。
3. **随时停止**：用户不想看了，就关闭连接，模型也随之停止生成。

```python
for chunk in stream:
    print(chunk.choices[0].delta.content or "", end="")
```"""
REASONING = "用户问的是「{question}」。先想清楚流式输出的关键：首字时间、逐块显示、可以停止。然后用列表和一小段代码回答。"
LONG_PARAGRAPH = (
    "这是一篇很长的回答中的一段，用来演示停止按钮和断开连接：模型还在一个字一个字地生成。"
)
Ending = Literal["stop", "tool_calls", "error", "cut", "drop"]


def random_id(
    prefix: str, length: int, alphabet: str = string.ascii_letters + string.digits
) -> str:
    """真实 API 的 id 都是随机的: chatcmpl-…、call_…、resp_…。同一秒里的两个请求也绝不会重复。"""
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class Plan:
    """一次回答要发送的内容: [(字段名, 片段)], 以及结束方式。"""

    pieces: list[tuple[str, str]]
    finish: Ending = "stop"
    delay: float = 0.0
    tool_call: dict[str, Any] | None = None  # {"name", "arguments": dict, "id": "call_…"}

    def argument_pieces(self) -> list[str]:
        return tokenize(dumps(self.tool_call["arguments"])) if self.tool_call else []

    def completion_tokens(self) -> int:
        """一个片算一个 token; 工具调用的参数也是模型生成的, 照样计数。"""
        return len(self.pieces) + len(self.argument_pieces())

    def reasoning_tokens(self) -> int:
        return sum(1 for name, _ in self.pieces if name == "reasoning_content")


def text_of(content: Any) -> str:
    """消息的 content 可以是字符串, 也可以是 [{"type": "text", "text": ...}] 这样的列表。"""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def sample_arguments(tool: dict[str, Any]) -> dict[str, Any]:
    """按工具的参数定义造一组参数: 字符串填"北京", 数字填 1, 布尔填 true。"""
    properties = tool.get("function", {}).get("parameters", {}).get("properties", {})
    samples = {"string": "北京", "number": 1, "integer": 1, "boolean": True}
    return {name: samples.get(spec.get("type")) for name, spec in properties.items()}


EXPRESSION = re.compile(r"[\d.()\s]*\d[\d.()\s]*(?:[-+*/^%][\d.()\s]*\d[\d.()\s]*)+")
TIME_WORDS = ("时间", "几点", "日期", "今天", "星期")


def choose_tool(question: str, tools: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """像一个模型那样挑工具、填参数: 问题里有算式, 交给带 expression 参数的工具; 问时间, 交给名字里有 time 的;
    否则交给带 query 参数的 (搜索)。都不合适, 就按第一个工具的参数定义造一组参数。"""

    def params(tool: dict[str, Any]) -> dict[str, Any]:
        return tool.get("function", {}).get("parameters", {}).get("properties", {})

    named = {t.get("function", {}).get("name", "tool"): t for t in tools}
    if (math := EXPRESSION.search(question)) and (n := next((n for n, t in named.items() if "expression" in params(t)), None)):  # fmt: skip
        return n, {"expression": math.group().strip()}
    if any(w in question for w in TIME_WORDS) and (n := next((n for n in named if "time" in n), None)):  # fmt: skip
        return n, {}
    if n := next((n for n, t in named.items() if "query" in params(t)), None):
        return n, {"query": question.strip()}
    first = tools[0]
    return first.get("function", {}).get("name", "tool"), sample_arguments(first)


SOURCE = re.compile(r"^\[(\d+)\] (.+)\n((?:.+\n?)+)", re.M)  # 提示词里的资料: "[n] 标题" 加正文


def answer_from_sources(question: str, system: str) -> Plan | None:
    """提示词里带着检索到的资料 (第 07 课): 从资料里摘句子回答, 用 [n] 标出出处; 没有资料就直说。"""
    if "资料" not in system:
        return None
    sources = SOURCE.findall(system)
    if not sources:
        text = f"课程资料里没有找到和「{question}」直接相关的内容。下面只是一般性的回答，没有出处：流式输出就是一边生成、一边发送。"
        return Plan([("content", p) for p in tokenize(text)], "stop")
    sentences = []
    for number, _title, body in sources[:3]:
        first = re.split(r"(?<=[。！？!?])", body.strip(), maxsplit=1)[0].strip()
        sentences.append(f"{first[:120].rstrip('。！？!?')} [{number}]。")
    thinking = f"资料里有 {len(sources)} 段和「{question[:30]}」有关, 先看第 1 段。"
    text = "根据课程资料：\n\n" + "\n\n".join(sentences)
    return Plan([("reasoning_content", p) for p in tokenize(thinking)] + [("content", p) for p in tokenize(text)], "stop")  # fmt: skip


# --8<-- [start:sim_plan]
def plan_reply(messages: list[dict[str, Any]], tools: list[dict] | None, delay: float) -> Plan:
    """根据最后一条消息决定怎么回答。内容是确定的, 测试可以逐字比较。"""
    last = messages[-1]
    prompt = text_of(last.get("content"))
    if tools and last.get("role") == "user":  # 有工具可用: 先调用一个工具
        name, arguments = choose_tool(prompt, tools)
        call = {"name": name, "arguments": arguments, "id": random_id("call_", 24)}
        return Plan([], "tool_calls", delay, call)
    if last.get("role") == "tool":  # 工具的结果回来了: 据此回答; 工具出错了, 也照实说
        if '"error"' in prompt or prompt.startswith(("错误", "Error")):
            text = f"工具出错了：{prompt}。我没法用它算出结果，请换个说法再问一次。"
        else:
            text = f"根据工具的结果：{prompt}"
        return Plan([("content", p) for p in tokenize(text)], "stop", delay)
    system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))  # fmt: skip
    if plan := answer_from_sources(prompt.strip(), system):
        plan.delay = delay
        return plan
    if prompt.startswith("/echo "):
        return Plan([("content", p) for p in tokenize(prompt[len("/echo ") :])], "stop", delay)
    if prompt.strip() == "/long":
        text = "\n\n".join(f"{i}. {LONG_PARAGRAPH}" for i in range(1, 31))
        return Plan([("content", p) for p in tokenize(text)], "stop", max(delay, LONG_TOKEN_DELAY))
    question = prompt.strip()[:40] or "(空)"
    reasoning = [("reasoning_content", p) for p in tokenize(REASONING.format(question=question))]
    answer = [("content", p) for p in tokenize(ANSWER.format(question=question))]
    if prompt.strip() in ("/error", "/cut", "/drop"):
        return Plan(answer[:ERROR_AFTER], prompt.strip()[1:], delay)  # type: ignore[arg-type]
    return Plan(reasoning + answer, "stop", delay)


# --8<-- [end:sim_plan]


# --8<-- [start:sim_format]
def dumps(value: Any) -> str:
    """紧凑的 JSON, 中文不转义 —— 和真实 API 一样。"""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def paddings(count: int = 8) -> list[str]:
    """obfuscation: 真实 API 在每个 chunk 里加一段随机长度的随机字符, 让加密后的包长不泄露 token 的长度。"""
    return [random_id("", secrets.randbelow(14) + 2) for _ in range(count)]


class ChunkFormatter:
    """把 chat.completion.chunk 格式化成 SSE 字节, 字段和真实的流一样 (见 tests/fixtures/)。

    内容 delta 每秒要发几万个, 所以信封 (id、model……) 只序列化一次, 每个 delta 只做一次 dumps 和拼接:
    模拟服务器不能成为基准测试的瓶颈。注意: 没有 id: 字段, 也没有注释行 (见第 05 课)。"""

    def __init__(self, model: str, include_usage: bool, obfuscation: bool = True) -> None:
        self.model, self.include_usage = model, include_usage
        self.created = int(time.time())
        self.id = random_id("chatcmpl-", 29)
        self.pads = paddings() if obfuscation else []
        self.sent = 0
        choice = {"index": 0, "delta": "DELTA", "logprobs": None, "finish_reason": None}
        template = self.envelope([choice], "PAD" if obfuscation else None)
        # 信封在 delta 前后的两半。用 rpartition: choices 在 model 之后, 模型名里即使有 "DELTA" 也不会切错。
        head, _, tail = f"data: {dumps(template)}\n\n".encode().rpartition(b'"DELTA"')
        self._head = head
        self._tails = [tail.replace(b'"PAD"', dumps(p).encode()) for p in self.pads] or [tail]

    def envelope(self, choices: list[dict], pad: str | None, **extra: Any) -> dict[str, Any]:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "service_tier": "default", "system_fingerprint": FINGERPRINT,
                "choices": choices, **({"usage": None} if self.include_usage else {}), **extra}  # fmt: skip
        if pad is not None:
            body["obfuscation"] = pad
        return body

    def event(self, choices: list[dict], pad: str | None = None, **extra: Any) -> bytes:
        if pad is None and self.pads:
            pad = self.pads[self.sent % len(self.pads)]
        self.sent += 1
        return f"data: {dumps(self.envelope(choices, pad, **extra))}\n\n".encode()

    def delta(self, **fields: Any) -> bytes:
        self.sent += 1
        return self._head + dumps(fields).encode() + self._tails[self.sent % len(self._tails)]

    def first(self, **fields: Any) -> bytes:
        """第一个 chunk: 角色, 空的 content, 以及 refusal: null。"""
        return self.delta(role="assistant", content="", refusal=None, **fields)

    def first_tool_call(self, call: dict[str, Any]) -> bytes:
        """工具调用的第一个 chunk: content 是 null (不是空字符串), 带着调用的 id 和名字。"""
        return self.delta(role="assistant", content=None, tool_calls=[call], refusal=None)

    def finish(self, reason: str) -> bytes:
        return self.event([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}])

    def usage(self, plan: Plan, prompt_tokens: int) -> bytes:
        return self.event(
            [], usage=usage_of(plan, prompt_tokens)
        )  # 用量单独一个 chunk, choices 是空的


def usage_of(plan: Plan, prompt_tokens: int) -> dict[str, Any]:
    completion = plan.completion_tokens()
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": plan.reasoning_tokens(), "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}  # fmt: skip


DONE = b"data: [DONE]\n\n"


# --8<-- [end:sim_format]


@dataclass
class SimStats:
    """计数器, 由 GET /sim/stats 返回。"""

    streams_started: int = 0
    streams_completed: int = 0
    streams_failed: int = 0  # /error、/cut、/drop: 服务器这一侧主动出错结束
    streams_cancelled: int = 0  # 客户端没读完就走了
    tokens_sent: int = 0


stats = SimStats()


class Drop(Exception):
    """/drop: 让 SSEStream 掐断连接。"""


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None):
    """OpenAI 的错误格式: {"error": {"message", "type", "param", "code"}}。"""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def tool_call_chunks(fmt: ChunkFormatter, plan: Plan) -> Iterator[bytes]:
    """工具调用也是流式的: 先发名字和 id, 参数 (一段 JSON 文本) 切成小片陆续发。"""
    call = plan.tool_call or {}
    first = {"index": 0, "id": call["id"], "type": "function",
             "function": {"name": call["name"], "arguments": ""}}  # fmt: skip
    yield fmt.first_tool_call(first)
    for piece in plan.argument_pieces():
        yield fmt.delta(tool_calls=[{"index": 0, "function": {"arguments": piece}}])


# --8<-- [start:sim_stream]
async def stream_plan(plan: Plan, fmt: ChunkFormatter, prompt_tokens: int) -> AsyncIterator[bytes]:
    stats.streams_started += 1
    done = False
    try:
        if plan.tool_call:
            for chunk in tool_call_chunks(fmt, plan):
                yield chunk
        else:
            yield fmt.first()  # 第一个 chunk: 只有角色
        for name, piece in plan.pieces:
            if plan.delay:
                await asyncio.sleep(plan.delay)  # 模型"生成"下一个 token 的时间
            yield fmt.delta(**{name: piece})
            stats.tokens_sent += 1
        if plan.finish in ("error", "cut", "drop"):
            stats.streams_failed += 1
            done = True
            if plan.finish == "error":  # 真实 API 在流中途出错时, 发一条带 error 的 data
                error = error_body(UPSTREAM_ERROR, "server_error", "sim_error")
                yield f"data: {dumps(error)}\n\n".encode()
            if plan.finish == "drop":
                raise Drop  # 连接被掐断: 响应体没有结尾
            return  # /cut: 既没有 finish_reason 也没有 [DONE], 响应体却"正常"地结束了
        yield fmt.finish(plan.finish)
        if fmt.include_usage:
            yield fmt.usage(plan, prompt_tokens)
        stats.streams_completed += 1
        done = True
        yield DONE
    finally:
        if not done:  # 客户端断开 (或停止读取) 时, 我们在 yield 处被取消或关闭
            stats.streams_cancelled += 1


# --8<-- [end:sim_stream]


async def batched(chunks: AsyncIterator[bytes], size: int = 64) -> AsyncIterator[bytes]:
    """不限速时 (token-delay 0) 把相邻的 chunk 拼成一次发送: 每次 send 都要穿过好几层, 一次发几十个省得多。
    线上的字节一个不变 —— 客户端本来就不能假设一次读取正好是一个 chunk。"""
    batch: list[bytes] = []
    try:
        async for chunk in chunks:
            batch.append(chunk)
            if len(batch) >= size:
                yield b"".join(batch)
                batch.clear()
    except Exception:  # /drop: 掐断之前攒下的, 先发出去
        if batch:
            yield b"".join(batch)
        raise
    if batch:
        yield b"".join(batch)


def sse_response(plan: Plan, chunks: AsyncIterator[bytes]) -> SSEStream:
    return SSEStream(chunks if plan.delay else batched(chunks))


class SSEStream(StreamingResponse):
    """StreamingResponse, 只多一件事: 生成器抛出 Drop 时, 不给响应体结尾就返回。uvicorn 于是关闭连接
    (并在日志里记一句 "ASGI callable returned without completing response") —— 这就是 "/drop: 网络断了"
    在服务器这一侧的样子。ASGI 里没有别的办法掐断一个连接。"""

    def __init__(self, body: AsyncIterator[bytes]) -> None:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        super().__init__(body, media_type="text/event-stream", headers=headers)

    async def stream_response(self, send: Any) -> None:
        try:
            await super().stream_response(send)
        except Drop:
            pass


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Any = None

    @field_validator("content")
    @classmethod
    def text_or_parts(cls, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(part, dict) for part in value):
            return value
        raise ValueError("content 必须是字符串, 或者 [{type, text}] 这样的列表")


class StreamOptions(BaseModel):
    include_usage: bool = False
    include_obfuscation: bool = True  # 真实 API 默认在每个 chunk 里加 obfuscation


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature 等参数接受并忽略
    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    n: int = Field(1, ge=1)


def require_bearer(request: Request) -> None:
    """像真实 API 一样要求 Authorization: Bearer <key>; 任何 key 都接受。"""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise StarletteHTTPException(401, "缺少 API key: 请求头里需要 Authorization: Bearer <key>")


class APIError(Exception):
    """路由里发现的问题, 回一个 OpenAI 格式的错误。"""

    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code


app = FastAPI(title="模拟的 OpenAI 兼容服务器")


@app.exception_handler(RequestValidationError)
async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        message, param = "请求体不是合法的 JSON", None
    else:
        param = ".".join(str(p) for p in first.get("loc", [])[1:]) or None
        message = f"参数 {param} 不合法: {first.get('msg', '').removeprefix('Value error, ')}"
    return JSONResponse(error_body(message, "invalid_request_error", param=param), status_code=400)


@app.exception_handler(StarletteHTTPException)
async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """所有的错误都是 OpenAI 的格式; 不存在的路由也一样 (真实 API 说 "Invalid URL (GET /v1/…)")。"""
    code = "invalid_api_key" if exc.status_code == 401 else None
    message = str(exc.detail)
    if exc.status_code in (404, 405) and message in ("Not Found", "Method Not Allowed"):
        message = f"Invalid URL ({request.method} {request.url.path}): 模拟模型没有这个接口"
    body = error_body(message, "invalid_request_error", code)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


@app.exception_handler(APIError)
async def api_error(request: Request, exc: APIError) -> JSONResponse:
    body = error_body(str(exc), "invalid_request_error", exc.code, exc.param)
    return JSONResponse(body, status_code=exc.status)


def model_object(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": "sim"}


@app.get("/v1/models", dependencies=[Depends(require_bearer)])
async def list_models() -> dict[str, Any]:
    return {"object": "list", "data": [model_object(m) for m in MODELS]}


@app.get("/v1/models/{model_id}", dependencies=[Depends(require_bearer)])
async def get_model(model_id: str) -> dict[str, Any]:
    if model_id not in MODELS:
        message = f"The model '{model_id}' does not exist (模拟模型列出的是 {', '.join(MODELS)})"
        raise APIError(404, message, "model", "model_not_found")
    return model_object(model_id)


@app.get("/sim/stats")
async def sim_stats() -> dict[str, int]:
    return asdict(stats)


def settings_delay(request: Request) -> float:
    return getattr(request.app.state, "token_delay", DEFAULT_TOKEN_DELAY)


# --8<-- [start:sim_route]
@app.post("/v1/chat/completions", dependencies=[Depends(require_bearer)])
async def chat_completions(body: ChatRequest, request: Request):
    if body.n != 1:  # 不声不响地忽略 n 是最坏的做法: 客户端会以为自己拿到了 n 个回答
        raise APIError(400, "模拟模型只支持 n=1", "n", "unsupported_value")
    messages = [m.model_dump() for m in body.messages]
    plan = plan_reply(messages, body.tools, settings_delay(request))
    prompt_tokens = sum(len(text_of(m["content"])) for m in messages)  # 粗略: 一个字符算一个 token
    options = body.stream_options or StreamOptions()
    fmt = ChunkFormatter(body.model, options.include_usage, options.include_obfuscation)
    if body.stream:
        return sse_response(plan, stream_plan(plan, fmt, prompt_tokens))
    return await complete(plan, fmt, prompt_tokens)


# --8<-- [end:sim_route]


async def complete(plan: Plan, fmt: ChunkFormatter, prompt_tokens: int) -> JSONResponse:
    """不流式: 把整个回答生成完 (花同样多的时间) 才一次返回。"""
    await asyncio.sleep(plan.delay * len(plan.pieces))
    if plan.finish in ("error", "cut", "drop"):
        body = error_body(UPSTREAM_ERROR, "server_error", "sim_error")
        return JSONResponse(body, status_code=500)
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "annotations": [],
    }
    for name, piece in plan.pieces:
        message[name] = (message.get(name) or "") + piece
    if plan.tool_call:
        function = {"name": plan.tool_call["name"], "arguments": dumps(plan.tool_call["arguments"])}
        message["tool_calls"] = [
            {"id": plan.tool_call["id"], "type": "function", "function": function}
        ]
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish}
    return JSONResponse({"id": fmt.id, "object": "chat.completion", "created": fmt.created,
                         "model": fmt.model, "choices": [choice], "usage": usage_of(plan, prompt_tokens),
                         "service_tier": "default", "system_fingerprint": FINGERPRINT})  # fmt: skip


# ---------- Responses API: POST /v1/responses ----------


class ResponsesRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature、store、reasoning 等参数接受并忽略
    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_output_tokens: int | None = Field(None, ge=1)


stored_items: OrderedDict[str, dict[str, Any]] = (
    OrderedDict()
)  # 输出项 id → 项; 给 item_reference 用


def remember(item: dict[str, Any]) -> None:
    stored_items[item["id"]] = item
    while len(stored_items) > STORED_ITEMS:
        stored_items.popitem(last=False)


# --8<-- [start:sim_responses_input]
def input_messages(body: ResponsesRequest) -> list[dict[str, Any]]:
    """把 Responses 的 input (一个字符串, 或者一串"项") 换成 Chat 那样的 messages, 好让 plan_reply 决定怎么回答。"""
    if isinstance(body.input, str):
        return [{"role": "user", "content": body.input}]
    messages = []
    for item in body.input:
        kind = item.get("type", "message")
        if kind == "item_reference":  # 有的客户端 (比如 Vercel AI SDK) 只发上一轮输出项的 id
            item = stored_items.get(item.get("id", "")) or {}
            if not item:
                raise APIError(
                    400, "找不到 item_reference 指向的项 (模拟模型只记得最近的输出)", "input"
                )
            kind = item.get("type", "message")
        if kind == "message":
            messages.append(
                {"role": item.get("role", "user"), "content": text_of(item.get("content"))}
            )
        elif kind == "function_call_output":
            messages.append({"role": "tool", "content": str(item.get("output", ""))})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": ""})
    if not messages:
        raise APIError(400, "input 里没有消息", "input")
    return messages


def chat_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Responses 的工具定义是扁平的 {"type", "name", "parameters"}; Chat 的包在 "function" 里。"""
    functions = [t for t in tools or [] if t.get("type") == "function"]
    return [{"type": "function", "function": t} for t in functions] or None


# --8<-- [end:sim_responses_input]


class ResponseEvents:
    """Responses API 的流: 带类型的事件, 每个都有 event: 行和递增的 sequence_number, 没有 [DONE]。"""

    def __init__(self, body: ResponsesRequest, plan: Plan, prompt_tokens: int) -> None:
        self.body, self.plan, self.prompt_tokens = body, plan, prompt_tokens
        limit = body.max_output_tokens
        self.truncated = limit is not None and len(plan.pieces) > limit  # 演示 response.incomplete
        if self.truncated:
            plan.pieces = plan.pieces[:limit]
        self.sequence = 0
        self.pads = (
            paddings() if (body.stream_options or StreamOptions()).include_obfuscation else []
        )
        self.response = {  # 字段和真实的一样多 (见 tests/fixtures/responses_stream.txt)
            "id": random_id("resp_", 50, string.hexdigits[:16]), "object": "response",
            "created_at": int(time.time()), "status": "in_progress", "background": False,
            "completed_at": None, "error": None, "frequency_penalty": 0.0,
            "incomplete_details": None, "instructions": body.instructions,
            "max_output_tokens": body.max_output_tokens, "max_tool_calls": None,
            "model": body.model, "output": [], "parallel_tool_calls": True,
            "presence_penalty": 0.0, "previous_response_id": None, "prompt_cache_key": None,
            "prompt_cache_retention": None, "reasoning": {"effort": None, "summary": None},
            "safety_identifier": None, "service_tier": "default", "store": True,
            "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto", "tools": body.tools or [], "top_logprobs": 0, "top_p": 1.0,
            "truncation": "disabled", "usage": None, "user": None, "metadata": {},
        }  # fmt: skip

    def event(self, type_: str, **fields: Any) -> bytes:
        data = {"type": type_, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return f"event: {type_}\ndata: {dumps(data)}\n\n".encode()

    def pad(self) -> dict[str, str]:
        return {"obfuscation": self.pads[self.sequence % len(self.pads)]} if self.pads else {}

    def snapshot(self) -> dict[str, Any]:
        return json.loads(
            dumps(self.response)
        )  # 事件里的 response 是当时的样子, 不能被之后的修改影响

    def finish(self, status: str, **fields: Any) -> None:
        completed = time.time() if status == "completed" else None
        usage = {"input_tokens": self.prompt_tokens,
                 "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                 "output_tokens": self.plan.completion_tokens(),
                 "output_tokens_details": {"reasoning_tokens": self.plan.reasoning_tokens()},
                 "total_tokens": self.prompt_tokens + self.plan.completion_tokens()}  # fmt: skip
        self.response.update(
            status=status, completed_at=completed and int(completed), usage=usage, **fields
        )


def new_item_id(kind: str) -> str:
    return random_id(kind + "_", 50, string.hexdigits[:16])


# --8<-- [start:sim_responses_stream]
async def response_stream(events: ResponseEvents) -> AsyncIterator[bytes]:
    """一个回答的事件: created → in_progress → 每个输出项 (added、增量、done) → completed / incomplete / failed。"""
    plan, e = events.plan, events
    stats.streams_started += 1
    done = False
    try:
        yield e.event("response.created", response=e.snapshot())
        yield e.event("response.in_progress", response=e.snapshot())
        reasoning = [p for name, p in plan.pieces if name == "reasoning_content"]
        answer = [p for name, p in plan.pieces if name == "content"]
        if reasoning:
            async for chunk in reasoning_item(e, reasoning):
                yield chunk
        if plan.tool_call:
            for chunk in function_call_item(e):
                yield chunk
        elif answer or not reasoning:
            async for chunk in message_item(e, answer):
                yield chunk
        done = True
        if plan.finish in ("error", "cut", "drop"):
            stats.streams_failed += 1
            if plan.finish == "error":
                e.finish("failed", error={"code": "server_error", "message": UPSTREAM_ERROR})
                yield e.event("response.failed", response=e.snapshot())
            if plan.finish == "drop":
                raise Drop
            return  # /cut: 没有终止事件
        if e.truncated:
            e.finish("incomplete", incomplete_details={"reason": "max_output_tokens"})
            yield e.event("response.incomplete", response=e.snapshot())
        else:
            e.finish("completed")
            yield e.event("response.completed", response=e.snapshot())
        stats.streams_completed += 1
    finally:
        if not done:
            stats.streams_cancelled += 1


async def message_item(e: ResponseEvents, pieces: list[str]) -> AsyncIterator[bytes]:
    item = {"id": new_item_id("msg"), "type": "message", "status": "in_progress", "content": [], "role": "assistant"}  # fmt: skip
    where = {"item_id": item["id"], "output_index": len(e.response["output"])}
    yield e.event("response.output_item.added", output_index=where["output_index"], item=item)
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    yield e.event("response.content_part.added", **where, content_index=0, part=part)
    for piece in pieces:
        if e.plan.delay:
            await asyncio.sleep(e.plan.delay)
        yield e.event("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[], **e.pad())  # fmt: skip
        stats.tokens_sent += 1
    text = "".join(pieces)
    yield e.event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
    part = {**part, "text": text}
    yield e.event("response.content_part.done", **where, content_index=0, part=part)
    item = {**item, "status": "completed", "content": [part]}
    e.response["output"].append(item)
    remember(item)
    yield e.event("response.output_item.done", output_index=where["output_index"], item=item)


# --8<-- [end:sim_responses_stream]


async def reasoning_item(e: ResponseEvents, pieces: list[str]) -> AsyncIterator[bytes]:
    """推理: OpenAI 不给原始的思考过程, 只给一份"推理摘要"; 它也是一段一段流过来的。"""
    item = {"id": new_item_id("rs"), "type": "reasoning", "summary": []}
    where = {"item_id": item["id"], "output_index": len(e.response["output"])}
    yield e.event("response.output_item.added", output_index=where["output_index"], item=item)
    part = {"type": "summary_text", "text": ""}
    yield e.event("response.reasoning_summary_part.added", **where, summary_index=0, part=part)
    for piece in pieces:
        if e.plan.delay:
            await asyncio.sleep(e.plan.delay)
        yield e.event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=piece, **e.pad())  # fmt: skip
        stats.tokens_sent += 1
    part = {**part, "text": "".join(pieces)}
    yield e.event(
        "response.reasoning_summary_text.done", **where, summary_index=0, text=part["text"]
    )
    yield e.event("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
    item = {**item, "summary": [part]}
    e.response["output"].append(item)
    yield e.event("response.output_item.done", output_index=where["output_index"], item=item)


def function_call_item(e: ResponseEvents) -> Iterator[bytes]:
    call = e.plan.tool_call or {}
    item = {"id": new_item_id("fc"), "type": "function_call", "status": "in_progress",
            "arguments": "", "call_id": call["id"], "name": call["name"]}  # fmt: skip
    where = {"item_id": item["id"], "output_index": len(e.response["output"])}
    yield e.event("response.output_item.added", output_index=where["output_index"], item=item)
    for piece in e.plan.argument_pieces():
        yield e.event("response.function_call_arguments.delta", **where, delta=piece, **e.pad())
    arguments = dumps(call["arguments"])
    yield e.event("response.function_call_arguments.done", **where, arguments=arguments)
    item = {**item, "status": "completed", "arguments": arguments}
    e.response["output"].append(item)
    remember(item)
    yield e.event("response.output_item.done", output_index=where["output_index"], item=item)


@app.post("/v1/responses", dependencies=[Depends(require_bearer)])
async def responses(body: ResponsesRequest, request: Request):
    messages = input_messages(body)
    plan = plan_reply(messages, chat_tools(body.tools), settings_delay(request))
    prompt_tokens = sum(len(text_of(m["content"])) for m in messages) + len(body.instructions or "")
    events = ResponseEvents(body, plan, prompt_tokens)
    if body.stream:
        return sse_response(plan, response_stream(events))
    return await complete_response(events)


async def complete_response(events: ResponseEvents) -> JSONResponse:
    """不流式: 在内部把流走一遍 (花同样多的时间), 返回最后的 response 对象。"""
    try:
        async for _ in response_stream(events):
            pass
    except Drop:
        pass
    if events.plan.finish in ("error", "cut", "drop"):
        body = error_body(UPSTREAM_ERROR, "server_error", "sim_error")
        return JSONResponse(body, status_code=500)
    return JSONResponse(events.response)


# ---------- 运行 ----------


@dataclass
class RunningServer:
    url: str  # 例如 http://127.0.0.1:54321
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)


@contextmanager
def running_in_thread(token_delay: float = DEFAULT_TOKEN_DELAY) -> Iterator[RunningServer]:
    """在后台线程里启动模拟服务器 (127.0.0.1, 任意空闲端口), 离开 with 时停止。
    第 05、06 课没有 API key 时用它: 同一个进程里, 真正的 HTTP。"""
    sock = socket.create_server(("127.0.0.1", 0))
    app.state.token_delay = token_delay
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield RunningServer(f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(
        description="模拟的 OpenAI 兼容服务器 (Chat Completions + Responses)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="监听地址 (默认 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8005, help="端口, 0 = 任意空闲端口 (默认 8005)")
    parser.add_argument(
        "--token-delay",
        type=float,
        default=DEFAULT_TOKEN_DELAY,
        help=f"每个 token 之间的秒数 (默认 {DEFAULT_TOKEN_DELAY})",
    )
    args = parser.parse_args(argv)
    app.state.token_delay = args.token_delay

    def announce(url: str) -> None:
        print(f"服务已启动: {url}", flush=True)
        print(
            f"给任何 OpenAI 兼容客户端用: OPENAI_BASE_URL={url}/v1 (任意 API key)   (Ctrl+C 停止)",
            flush=True,
        )

    lesson.load("04").serve(app, args.host, args.port, announce)  # 第 04 课的启动器
    print("模拟服务器已停止。")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
