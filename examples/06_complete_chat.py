"""第 06 课: 完整的流式聊天应用 —— FastAPI + chat.html, 上线需要的每一个细节

你将学到:
- 整条链路: 浏览器 fetch(POST) → FastAPI → AsyncOpenAI → 模型, 再一片一片地流回浏览器
- 命名的 SSE 事件 (reasoning / delta / error / done), 文本放在 JSON 里, 永远破坏不了分帧
- 断开即取消上游; 中途出错保留已生成的部分; 坏输入一律 4xx 加可读的中文说明
- 名额在整条流结束时才归还的并发限制、按时间合并输出、保活、防缓冲、优雅关闭
- 安全的默认值: 只监听 127.0.0.1, API key 不出服务器, 模型输出不能执行脚本

运行:
    python examples/06_complete_chat.py                 # 浏览器打开 http://127.0.0.1:8000
    curl -N http://127.0.0.1:8000/                      # 一个最基本的流
    curl -N http://127.0.0.1:8000/chat/你好              # 一次聊天回答 (SSE)
    curl -N http://127.0.0.1:8000/chat -H 'Content-Type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "你好"}]}'
    OPENAI_API_KEY=sk-... python examples/06_complete_chat.py --model gpt-4o-mini
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import importlib.util
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import openai
import openai_sim  # 第 05 课的模拟模型 (同目录)
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from openai import AsyncOpenAI, DefaultAioHttpClient
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # 只监听本机; 课堂上给别人用才 --host 0.0.0.0
PORT = 8000
MAX_MESSAGE_CHARS = 8000  # 一条消息最多几个字符
MAX_TURNS = 40  # 一次请求最多几条消息 (对话历史)
MAX_BODY_BYTES = 256 * 1024  # 请求体最多几个字节: 先于解析检查
MAX_STREAMS = 600  # 同时进行的流最多几条
RETRY_AFTER = 5  # 满了的时候, 建议客户端几秒后再试
COALESCE = 0.1  # 合并输出的时间窗口 (秒): 每秒最多 10 次更新; 第一片总是立刻发出
KEEPALIVE = 15.0  # 模型安静多少秒就发一条保活注释
SHUTDOWN_GRACE = 3  # Ctrl+C 之后, 最多等几秒让进行中的流结束

console = Console(highlight=False, soft_wrap=True)


def load_lesson(filename: str) -> ModuleType:
    """按路径导入前面的课 (文件名以数字开头, 不能直接 import)。"""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"lesson_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --8<-- [start:reuse]
sse = load_lesson("04_sse_protocol.py")  # SSE 编码器、保活注释、防缓冲响应头
oa = load_lesson("05_openai_stream.py")  # open_raw_stream / raw_deltas: 用 AsyncOpenAI 读模型
# --8<-- [end:reuse]


@dataclass
class Settings:
    client: AsyncOpenAI | None = None  # 整个进程共用一个客户端
    base_url: str | None = None
    api_key: str = ""  # 只在服务器里使用, 永远不发给浏览器
    model: str = oa.SIM_MODEL
    simulated: bool = True
    coalesce: float = COALESCE
    keepalive: float = KEEPALIVE


settings = Settings()


# --8<-- [start:validate]
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # strict: 数字不会被悄悄转成字符串
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class ChatRequest(BaseModel):
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_TURNS)


class ChatError(Exception):
    """在流开始之前发现的问题: 回一个普通的 HTTP 错误, {"error": "中文说明"}。"""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def explain(error: dict[str, Any]) -> ChatError:
    """把 Pydantic 的第一条校验错误翻译成用户看得懂的话。"""
    loc, kind = error["loc"], error["type"]
    if len(loc) >= 3:
        where = f"第 {loc[1] + 1} 条消息的 {loc[2]}"
    else:
        where = ".".join(str(part) for part in loc) or "请求体"
    messages = {
        "json_invalid": (400, "请求体不是合法的 JSON"),
        "model_type": (422, f"{where} 必须是一个 JSON 对象"),
        "missing": (422, f"缺少 {where}"),
        "list_type": (422, f"{where} 必须是列表"),
        "too_short": (422, f"{where} 不能为空: 至少要有一条消息"),
        "too_long": (413, f"对话太长: 最多 {MAX_TURNS} 条消息"),
        "literal_error": (422, f"{where} 只能是 user 或 assistant"),
        "string_type": (422, f"{where} 必须是字符串"),
        "string_too_short": (422, f"{where} 是空的"),
        "string_too_long": (413, f"{where} 太长: 最多 {MAX_MESSAGE_CHARS} 个字符"),
        "extra_forbidden": (422, f"不认识的字段: {where}"),
    }
    status, message = messages.get(kind, (422, f"{where} 不合法: {error['msg']}"))
    return ChatError(status, message)


def validate(body: bytes | list[dict[str, Any]]) -> list[dict[str, str]]:
    try:
        if isinstance(body, bytes):
            request = ChatRequest.model_validate_json(body)
        else:
            request = ChatRequest.model_validate({"messages": body})
    except ValidationError as exc:
        raise explain(exc.errors()[0]) from None
    if request.messages[-1].role != "user":
        raise ChatError(422, "最后一条消息必须来自用户")
    if not request.messages[-1].content.strip():
        raise ChatError(422, "消息不能只有空白")
    return [m.model_dump() for m in request.messages]


# --8<-- [end:validate]


# --8<-- [start:read_body]
async def read_body(request: Request) -> bytes:
    """先看大小, 再读内容: 一个 1 GB 的请求体不应该先被读进内存再被拒绝。"""
    if "application/json" not in request.headers.get("content-type", ""):
        # 只收 JSON: 跨站的"简单请求"(表单、text/plain) 因此必须先过 CORS 预检。
        raise ChatError(415, "请求体必须是 JSON (Content-Type: application/json)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ChatError(413, f"请求体太大: 最多 {MAX_BODY_BYTES // 1024} KiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:  # 没有 Content-Length 的分块请求体, 边读边数
            raise ChatError(413, f"请求体太大: 最多 {MAX_BODY_BYTES // 1024} KiB")
    return bytes(body)


# --8<-- [end:read_body]


# --8<-- [start:limit]
class StreamLimit:
    """同时进行的流的名额。事件循环是单线程的, 计数不需要锁。"""

    def __init__(self, size: int) -> None:
        self.size, self.active = size, 0

    def try_acquire(self) -> bool:
        if self.active >= self.size:
            return False  # 满了就立刻拒绝, 不排队: 排队的请求只会让每个人都更慢
        self.active += 1
        return True

    def release(self) -> None:
        self.active -= 1


class ChatStreamResponse(StreamingResponse):
    """流式响应; 在它的整个生命周期结束时 —— 读完、出错、客户端断开、服务器关闭 —— 做清理。

    handler 返回的时候, 流还没有开始; 名额必须留到这里才归还。"""

    def __init__(self, content: AsyncIterator[bytes], cleanup: Callable[[], Awaitable[None]]):
        super().__init__(content, media_type="text/event-stream", headers=sse.SSE_HEADERS)
        self.cleanup = cleanup

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.cleanup()


limit = StreamLimit(MAX_STREAMS)


# --8<-- [end:limit]


# --8<-- [start:relay]
TEXT_KINDS = ("reasoning", "content")


async def relay(
    source: AsyncIterator[tuple[str, Any]], window: float, keepalive: float
) -> AsyncIterator[tuple[str, Any]]:
    """读上游和写下游分开: 一个任务只管读, 把文字攒进缓冲; 这个循环按节奏把缓冲发出去。

    - 第一片立刻发出; 之后每 window 秒最多发一批, 同类的相邻文字合成一片。
      模型很快、或者客户端读得慢时, 事件变少变大, 而不是越积越多。
    - 超过 keepalive 秒没有发出任何东西, 交出 ("ping", None)。
    - 上游出错: 先把已经攒下的文字发完, 再抛出错误。"""
    buffer: list[list[Any]] = []  # [[种类, 值], ...]
    wake = asyncio.Event()
    failure: list[BaseException] = []
    done = False

    async def read() -> None:
        nonlocal done
        try:
            async for kind, value in source:
                if kind in TEXT_KINDS and buffer and buffer[-1][0] == kind:
                    buffer[-1][1] += value  # 和上一片同类: 直接接上
                else:
                    buffer.append([kind, value])
                wake.set()
        except Exception as exc:
            failure.append(exc)
        finally:
            done = True
            wake.set()

    async def tick() -> None:  # 保活: 只在安静太久时叫醒写循环
        while True:
            await asyncio.sleep(keepalive)
            if time.monotonic() - last_sent >= keepalive:
                buffer.append(["ping", None])
                wake.set()

    last_sent = time.monotonic()
    tasks = [asyncio.create_task(read()), asyncio.create_task(tick())]
    try:
        while True:
            await wake.wait()
            wake.clear()
            batch = buffer[:]
            buffer.clear()
            for kind, value in batch:
                yield (kind, value)
            last_sent = time.monotonic()
            if done and not buffer:
                break
            if window:
                await asyncio.sleep(window)  # 发完一批, 歇一个窗口; 其间到达的文字会合并
        if failure:
            raise failure[0]
    finally:
        for task in tasks:
            task.cancel()  # 客户端走了 (或者出错了): 停止读上游, 上游的连接随之关闭
        await asyncio.gather(*tasks, return_exceptions=True)


# --8<-- [end:relay]


# --8<-- [start:chat_events]
EVENT_NAMES = {"reasoning": "reasoning", "content": "delta"}


def event(name: str, payload: dict[str, Any]) -> bytes:
    return sse.encode_json_event(payload, event=name)  # JSON 里没有换行: 任何文本都破坏不了分帧


async def chat_events(deltas: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[bytes]:
    start = time.perf_counter()
    first_token = finish = usage = None
    try:
        async for kind, value in relay(deltas, settings.coalesce, settings.keepalive):
            if kind == "ping":
                yield sse.KEEPALIVE
            elif kind in EVENT_NAMES:
                first_token = first_token or time.perf_counter() - start
                yield event(EVENT_NAMES[kind], {"text": value})
            elif kind == "finish":
                finish = value
            elif kind == "usage":
                usage = value
    except openai.APIError as exc:  # 响应头早已发出, 改不了状态码: 发一个 error 事件
        yield event("error", {"message": f"模型在生成途中出错: {exc.message}"})
        return
    if finish is None:
        yield event("error", {"message": "模型的流意外结束 (没有 finish_reason), 回答可能不完整"})
        return
    duration = time.perf_counter() - start
    tokens = usage["completion_tokens"] if usage else None
    speed = (
        tokens / (duration - first_token)
        if tokens and first_token and duration > first_token
        else None
    )
    yield event("done", {
        "finish_reason": finish,
        "model": settings.model,
        "ttft_ms": round(first_token * 1000) if first_token else None,
        "duration_ms": round(duration * 1000),
        "tokens": tokens,
        "tokens_per_second": round(speed, 1) if speed else None,
    })  # fmt: skip


# --8<-- [end:chat_events]


# --8<-- [start:start_chat]
def upstream_message(exc: openai.APIError) -> str:
    """给用户看的错误说明。不原样转发服务商的报错: 其中可能带有 key 的片段。"""
    if isinstance(exc, openai.AuthenticationError):
        return "模型服务拒绝了服务器的 API key, 请检查服务器的 OPENAI_API_KEY"
    if isinstance(exc, openai.APIConnectionError):
        return "连不上模型服务, 请稍后重试"
    if isinstance(exc, openai.RateLimitError):
        return "模型服务限流了, 请稍后重试"
    status = getattr(exc, "status_code", "?")
    return f"模型服务返回了错误 (HTTP {status})"


async def start_chat(messages: list[dict[str, str]]) -> Response:
    if not limit.try_acquire():
        headers = {"Retry-After": str(RETRY_AFTER)}
        raise ChatError(
            503, f"服务器正忙: 同时进行的回答已达上限, 请 {RETRY_AFTER} 秒后重试", headers
        )
    upstream = AsyncExitStack()  # 负责关闭到模型的连接
    try:
        # 先拿到上游的响应头: 这时出错 (key 不对、连不上) 还能回一个普通的 HTTP 错误。
        response = await oa.open_raw_stream(upstream, settings.client, settings.model, messages)
    except BaseException as exc:
        limit.release()
        await upstream.aclose()
        if isinstance(exc, openai.APIError):
            raise ChatError(502, upstream_message(exc)) from None
        raise

    async def cleanup() -> None:
        limit.release()  # 先归还名额, 再做可能被打断的 await
        await upstream.aclose()

    return ChatStreamResponse(chat_events(oa.raw_deltas(response)), cleanup)


# --8<-- [end:start_chat]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # 每个进程一个客户端, 反复使用 (第 05 课)。key 留在服务器这一侧。
    # aiohttp 用 C 写的 HTTP 解析器读上游: 每个 token 的 CPU 比默认的 httpx 少得多 (tools/load_chat.py)。
    settings.client = AsyncOpenAI(
        api_key=settings.api_key, base_url=settings.base_url, http_client=DefaultAioHttpClient()
    )
    yield
    await settings.client.close()


app = FastAPI(title="第 06 课: 流式聊天", lifespan=lifespan)
app.mount("/vendor", StaticFiles(directory=ROOT / "vendor"), name="vendor")
# --8<-- [start:cors]
app.add_middleware(
    CORSMiddleware,
    allow_origins=["null"],  # 从磁盘打开的 chat.html (file://) 的来源是 "null"; 同源页面不需要 CORS
    allow_methods=["GET", "POST"],
    allow_headers=["Content-Type"],
    allow_credentials=False,  # 不用 cookie, 也就绝不会有 "* + credentials"
)


# --8<-- [end:cors]


@app.exception_handler(ChatError)
async def chat_error(request: Request, exc: ChatError) -> JSONResponse:
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


# --8<-- [start:routes]
@app.post("/chat")
async def chat(request: Request) -> Response:
    return await start_chat(validate(await read_body(request)))


@app.get("/chat/{message}")
async def chat_get(message: str, request: Request) -> Response:
    """方便 curl 试用。浏览器里跨站发来的 GET (比如别的网站上的 <img>) 一律拒绝, 免得别人花你的额度。"""
    if request.headers.get("sec-fetch-site", "none") not in ("none", "same-origin"):
        raise ChatError(403, "不接受跨站请求")
    return await start_chat(validate([{"role": "user", "content": message}]))


@app.get("/config")
async def config() -> dict[str, Any]:
    """页面显示用的信息。注意这里没有、也永远不会有 API key。"""
    return {
        "model": settings.model,
        "simulated": settings.simulated,
        "max_message_chars": MAX_MESSAGE_CHARS,
        "max_turns": MAX_TURNS,
    }


# --8<-- [end:routes]


async def hello_stream() -> AsyncIterator[bytes]:
    """curl -N http://127.0.0.1:8000/ 看到的最基本的流。"""
    pieces = [
        "你好！",
        "这是一个",
        "最基本的",
        "流式响应。",
        "用浏览器",
        "打开这个地址,",
        "会看到聊天页面。",
    ]
    for piece in pieces:
        yield sse.encode_event(piece)
        await asyncio.sleep(0.2)
    yield sse.encode_event("完成", event="done")


# --8<-- [start:page]
def inline_hashes(html: str, tag: str) -> str:
    """页面里每一段内联 <script>/<style> 的 SHA-256: CSP 只放行这几段, 别的内联代码一律不执行。"""
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
    digests = (base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() for b in bodies)
    return " ".join(f"'sha256-{d}'" for d in digests)


def page_headers(html: str) -> dict[str, str]:
    csp = "; ".join([
        "default-src 'none'",
        f"script-src 'self' {inline_hashes(html, 'script')}",  # 只有本页自带的脚本和 /vendor 下的库
        f"style-src 'self' {inline_hashes(html, 'style')}",
        "img-src 'self' data:",  # 模型输出里指向别处的图片, 浏览器不会去请求
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])  # fmt: skip
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


@app.get("/")
async def index(request: Request) -> Response:
    if "text/html" not in request.headers.get("accept", ""):
        return StreamingResponse(
            hello_stream(), media_type="text/event-stream", headers=sse.SSE_HEADERS
        )
    html = (ROOT / "chat.html").read_text(encoding="utf-8")  # 每次重新读: 改了页面刷新即可
    return HTMLResponse(html, headers=page_headers(html))


# --8<-- [end:page]


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(description="第 06 课: 完整的流式聊天应用")
    parser.add_argument("--host", default=HOST, help=f"监听地址 (默认 {HOST})")
    parser.add_argument(
        "--port", type=int, default=PORT, help=f"端口, 0 = 任意空闲端口 (默认 {PORT})"
    )
    parser.add_argument(
        "--model", default=os.environ.get("OPENAI_MODEL"), help="模型名 (默认 $OPENAI_MODEL)"
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL"),
        help="兼容服务商的地址 (默认 $OPENAI_BASE_URL)",
    )
    parser.add_argument(
        "--simulate", action="store_true", help="使用模拟模型 (没有 OPENAI_API_KEY 时自动启用)"
    )
    parser.add_argument(
        "--token-delay",
        type=float,
        default=openai_sim.DEFAULT_TOKEN_DELAY,
        help=f"模拟模型每个 token 的秒数 (默认 {openai_sim.DEFAULT_TOKEN_DELAY})",
    )
    parser.add_argument(
        "--max-streams",
        type=int,
        default=MAX_STREAMS,
        help=f"同时进行的流最多几条 (默认 {MAX_STREAMS})",
    )
    parser.add_argument(
        "--coalesce",
        type=float,
        default=COALESCE,
        help=f"合并输出的时间窗口, 秒; 0 = 每片一个事件 (默认 {COALESCE})",
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=KEEPALIVE,
        help=f"安静多少秒发一条保活注释 (默认 {KEEPALIVE})",
    )
    args = parser.parse_args(argv)

    limit.size = args.max_streams
    settings.coalesce, settings.keepalive = args.coalesce, args.keepalive
    if args.host != HOST:
        console.print(
            f"注意: 监听 {args.host}, 同一网络里的人都能使用它, 也就是在花你的 API 额度。",
            style="yellow",
        )
    target = oa.real_target(args)  # 真实服务商还是模拟模型: 和第 05 课同一条规则
    settings.simulated = target is None
    if target:
        settings.base_url, settings.api_key, settings.model = (
            target.base_url,
            target.api_key,
            target.model,
        )
        console.print(f"模型: {target.model} @ {target.base_url or 'OpenAI'}")
        return serve(args.host, args.port)
    if not args.simulate:
        console.print(
            "没有找到 OPENAI_API_KEY, 使用第 05 课的模拟模型 (--simulate)。", style="yellow"
        )
    with openai_sim.running_in_thread(args.token_delay) as sim:
        settings.base_url, settings.api_key = f"{sim.url}/v1", "sim-key"
        settings.model = args.model or oa.SIM_MODEL
        console.print(f"模拟模型: {settings.base_url}  (统计: {sim.url}/sim/stats)")
        return serve(args.host, args.port)


def serve(host: str, port: int) -> int:
    def announce(url: str) -> None:
        console.print(f"服务已启动: {url}")
        console.print(f"浏览器打开 {url}/ , 或者: curl -N {url}/chat/你好   (Ctrl+C 停止)")

    openai_sim.serve(app, host, port, announce, grace=SHUTDOWN_GRACE)
    console.print("服务器已停止。")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
