"""模拟模型: 一个真正的 OpenAI 兼容 HTTP 服务器 (第 05、06 课共用)

它不是假的 SDK, 而是一个服务器: 真正的 openai SDK 通过 base_url 连到它, 走的代码路径和连 OpenAI 时一模一样。
回答是确定的 (测试可以逐字比较), 带有推理过程 (reasoning_content)、工具调用和几条可以在提问里触发的脚本:

    /echo <文本>   原样流式返回 <文本>, 每一个字符都不变 (换行、<、\\r、表情)
    /error         输出几个 token 后, 像真实 API 那样在流中途报错
    /long          很慢地输出一篇长回答 (用来演示停止和断开)
    /cut           输出几个 token 后直接断开, 没有 finish_reason (被截断的流)

运行 (单独启动, 给任何 OpenAI 兼容客户端使用):
    python examples/05_openai_stream.py --serve-sim --port 8005
    OPENAI_BASE_URL=http://127.0.0.1:8005/v1 OPENAI_API_KEY=any python 你的程序.py
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
ERROR_AFTER = 5  # /error、/cut 在第几个 token 之后出事
UPSTREAM_ERROR = "模拟的上游错误: 模型在生成途中失败了"


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


@dataclass
class Plan:
    """一次回答要发送的内容: [(字段名, 片段)], 以及结束方式。"""

    pieces: list[tuple[str, str]]
    finish: Literal["stop", "tool_calls", "error", "cut"] = "stop"
    delay: float = 0.0
    tool_call: dict[str, Any] | None = None


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


# --8<-- [start:sim_plan]
def plan_reply(messages: list[dict[str, Any]], tools: list[dict] | None, delay: float) -> Plan:
    """根据最后一条消息决定怎么回答。内容是确定的, 测试可以逐字比较。"""
    last = messages[-1]
    prompt = text_of(last.get("content"))
    if tools and last.get("role") == "user":  # 有工具可用: 先调用第一个工具
        tool = tools[0]
        name = tool.get("function", {}).get("name", "tool")
        return Plan([], "tool_calls", delay, {"name": name, "arguments": sample_arguments(tool)})
    if last.get("role") == "tool":  # 工具的结果回来了: 据此回答
        return Plan([("content", p) for p in tokenize(f"根据工具的结果：{prompt}")], "stop", delay)
    if prompt.startswith("/echo "):
        return Plan([("content", p) for p in tokenize(prompt[len("/echo ") :])], "stop", delay)
    if prompt.strip() == "/long":
        text = "\n\n".join(f"{i}. {LONG_PARAGRAPH}" for i in range(1, 31))
        return Plan([("content", p) for p in tokenize(text)], "stop", max(delay, LONG_TOKEN_DELAY))
    question = prompt.strip()[:40] or "(空)"
    reasoning = [("reasoning_content", p) for p in tokenize(REASONING.format(question=question))]
    answer = [("content", p) for p in tokenize(ANSWER.format(question=question))]
    if prompt.strip() in ("/error", "/cut"):
        return Plan(answer[:ERROR_AFTER], "error" if prompt.strip() == "/error" else "cut", delay)
    return Plan(reasoning + answer, "stop", delay)


# --8<-- [end:sim_plan]


# --8<-- [start:sim_format]
def dumps(value: Any) -> str:
    """紧凑的 JSON, 中文不转义 —— 和真实 API 一样。"""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ChunkFormatter:
    """把 chat.completion.chunk 格式化成 SSE 字节。

    内容 delta 每秒要发几万个, 所以信封 (id、model……) 只序列化一次, 每个 delta 只做一次 dumps 和拼接:
    模拟服务器不能成为基准测试的瓶颈。注意: 没有 id: 字段, 也没有注释行 (见第 05 课)。"""

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model, self.include_usage = model, include_usage
        self.created = int(time.time())
        self.id = f"chatcmpl-sim{time.monotonic_ns()}"
        usage = {"usage": None} if include_usage else {}
        choice = {"index": 0, "delta": "DELTA", "logprobs": None, "finish_reason": None}
        # 信封的前后两半。用 rpartition: choices 在 model 之后, 模型名里即使有 "DELTA" 也不会切错。
        self._head, _, self._tail = self.event([choice], **usage).rpartition(b'"DELTA"')

    def event(self, choices: list[dict], **extra: Any) -> bytes:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": "fp_sim", "choices": choices, **extra}  # fmt: skip
        return f"data: {dumps(body)}\n\n".encode()

    def delta(self, **fields: Any) -> bytes:
        return self._head + dumps(fields).encode() + self._tail

    def finish(self, reason: str) -> bytes:
        choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": reason}
        return self.event([choice], **({"usage": None} if self.include_usage else {}))

    def usage(self, prompt_tokens: int, completion_tokens: int) -> bytes:
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}  # fmt: skip
        return self.event([], usage=usage)  # 用量单独一个 chunk, choices 是空列表


DONE = b"data: [DONE]\n\n"


# --8<-- [end:sim_format]


@dataclass
class SimStats:
    """计数器, 由 GET /sim/stats 返回。"""

    streams_started: int = 0
    streams_completed: int = 0
    streams_failed: int = 0  # /error、/cut: 服务器这一侧主动出错结束
    streams_cancelled: int = 0  # 客户端没读完就走了
    tokens_sent: int = 0


stats = SimStats()


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None):
    """OpenAI 的错误格式: {"error": {"message", "type", "param", "code"}}。"""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def tool_call_chunks(fmt: ChunkFormatter, call: dict[str, Any]) -> Iterator[bytes]:
    """工具调用也是流式的: 先发名字和 id, 参数 (一段 JSON 文本) 切成小片陆续发。"""
    first = {"index": 0, "id": f"call_sim_{fmt.created}", "type": "function",
             "function": {"name": call["name"], "arguments": ""}}  # fmt: skip
    yield fmt.delta(role="assistant", content=None, tool_calls=[first])
    for piece in tokenize(dumps(call["arguments"])):
        yield fmt.delta(tool_calls=[{"index": 0, "function": {"arguments": piece}}])


# --8<-- [start:sim_stream]
async def stream_plan(plan: Plan, fmt: ChunkFormatter, prompt_tokens: int) -> AsyncIterator[bytes]:
    stats.streams_started += 1
    done = False
    try:
        if plan.tool_call:
            for chunk in tool_call_chunks(fmt, plan.tool_call):
                yield chunk
        else:
            yield fmt.delta(role="assistant", content="")  # 第一个 chunk: 只有角色
        for name, piece in plan.pieces:
            if plan.delay:
                await asyncio.sleep(plan.delay)  # 模型"生成"下一个 token 的时间
            yield fmt.delta(**{name: piece})
            stats.tokens_sent += 1
        if plan.finish in ("error", "cut"):
            stats.streams_failed += 1
            done = True
            if plan.finish == "error":  # 真实 API 在流中途出错时, 发一条带 error 的 data
                error = error_body(UPSTREAM_ERROR, "server_error", "sim_error")
                yield f"data: {dumps(error)}\n\n".encode()
            return  # /cut: 既没有 finish_reason 也没有 [DONE], 连接就这样结束了
        yield fmt.finish(plan.finish)
        if fmt.include_usage:
            yield fmt.usage(prompt_tokens, len(plan.pieces))
        stats.streams_completed += 1
        done = True
        yield DONE
    finally:
        if not done:  # 客户端断开 (或停止读取) 时, 我们在 yield 处被取消或关闭
            stats.streams_cancelled += 1


# --8<-- [end:sim_stream]


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


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature 等参数接受并忽略
    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None


def require_bearer(request: Request) -> None:
    """像真实 API 一样要求 Authorization: Bearer <key>; 任何 key 都接受。"""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise StarletteHTTPException(401, "缺少 API key: 请求头里需要 Authorization: Bearer <key>")


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
    code = "invalid_api_key" if exc.status_code == 401 else None
    body = error_body(str(exc.detail), "invalid_request_error", code)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


@app.get("/v1/models", dependencies=[Depends(require_bearer)])
async def list_models() -> dict[str, Any]:
    data = [{"id": m, "object": "model", "created": 0, "owned_by": "sim"} for m in MODELS]
    return {"object": "list", "data": data}


@app.get("/sim/stats")
async def sim_stats() -> dict[str, int]:
    return asdict(stats)


def settings_delay(request: Request) -> float:
    return getattr(request.app.state, "token_delay", DEFAULT_TOKEN_DELAY)


# --8<-- [start:sim_route]
@app.post("/v1/chat/completions", dependencies=[Depends(require_bearer)])
async def chat_completions(body: ChatRequest, request: Request):
    messages = [m.model_dump() for m in body.messages]
    plan = plan_reply(messages, body.tools, settings_delay(request))
    prompt_tokens = sum(len(text_of(m["content"])) for m in messages)  # 粗略: 一个字符算一个 token
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    fmt = ChunkFormatter(body.model, include_usage)  # 请求里的模型名原样返回
    if body.stream:
        return StreamingResponse(
            stream_plan(plan, fmt, prompt_tokens),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return await complete(plan, fmt, prompt_tokens)


# --8<-- [end:sim_route]


async def complete(plan: Plan, fmt: ChunkFormatter, prompt_tokens: int) -> JSONResponse:
    """不流式: 把整个回答生成完 (花同样多的时间) 才一次返回。"""
    await asyncio.sleep(plan.delay * len(plan.pieces))
    if plan.finish in ("error", "cut"):
        body = error_body(UPSTREAM_ERROR, "server_error", "sim_error")
        return JSONResponse(body, status_code=500)
    message: dict[str, Any] = {"role": "assistant", "content": None}
    for name, piece in plan.pieces:
        message[name] = (message.get(name) or "") + piece
    if plan.tool_call:
        function = {"name": plan.tool_call["name"],
                    "arguments": dumps(plan.tool_call["arguments"])}  # fmt: skip
        message["tool_calls"] = [
            {"id": f"call_sim_{fmt.created}", "type": "function", "function": function}
        ]
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(plan.pieces),
             "total_tokens": prompt_tokens + len(plan.pieces)}  # fmt: skip
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": plan.finish}
    return JSONResponse({"id": fmt.id, "object": "chat.completion", "created": fmt.created,
                         "model": fmt.model, "choices": [choice], "usage": usage})  # fmt: skip


@dataclass
class RunningServer:
    url: str  # 例如 http://127.0.0.1:54321
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)


def bind(host: str, port: int) -> socket.socket:
    """先绑定端口: port=0 时由系统挑一个空闲端口, 我们马上就知道是哪个。"""
    return socket.create_server((host, port))


@contextmanager
def running_in_thread(token_delay: float = DEFAULT_TOKEN_DELAY) -> Iterator[RunningServer]:
    """在后台线程里启动模拟服务器 (127.0.0.1, 任意空闲端口), 离开 with 时停止。"""
    sock = bind("127.0.0.1", 0)
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
