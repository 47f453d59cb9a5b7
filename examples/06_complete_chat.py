"""第 06 课: 完整的流式聊天应用 —— FastAPI + chat.html, 上线需要的每一个细节

你将学到:
- 整条链路: 浏览器 fetch(POST) → FastAPI → AsyncOpenAI → 模型, 再一片一片地流回浏览器
- 命名的 SSE 事件 (reasoning / delta / error / done), 文本放在 JSON 里, 永远破坏不了分帧
- 断开即取消上游; 任何上游故障都变成一个 error 事件, 放在已生成的文字之后; 坏输入一律 4xx 加中文说明
- 名额在整条流结束时才归还的并发限制、按时间合并输出、每条流的内存上限、超时、保活、优雅关闭
- 安全的默认值: 只监听 127.0.0.1, 只认本机的 Host 和本站的页面, key 与上游报错不出服务器, 模型输出不能执行脚本

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
import ipaddress
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import lesson  # 按编号导入前面的课
import openai
import openai_sim  # 模拟模型 (第 05 课)
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
MAX_MESSAGE_CHARS = 8000  # 用户的一条消息最多几个字符
MAX_ANSWER_CHARS = 32000  # 对话历史里, 一条助手回答最多几个字符 (页面会截短更长的)
MAX_HISTORY_CHARS = 64000  # 整段对话最多几个字符 (页面只带最近的、放得下的几轮)
MAX_TURNS = 40  # 一次请求最多几条消息
MAX_BODY_BYTES = 512 * 1024  # 请求体最多几个字节: 先于解析检查
BODY_TIMEOUT = 10.0  # 请求体最多花几秒发完
HEADER_TIMEOUT = 10.0  # 请求头最多花几秒发完 (防 slowloris)
MAX_STREAMS = 600  # 同时进行的流最多几条
RETRY_AFTER = 5  # 满了的时候, 建议客户端几秒后再试
COALESCE = 0.1  # 合并输出的时间窗口 (秒): 每秒最多 10 次更新; 第一片总是立刻发出
KEEPALIVE = 15.0  # 模型安静多少秒就发一条保活注释
HEADERS_TIMEOUT = 30.0  # 等模型服务的响应头最多几秒 (SDK 的重试也算在里面)
IDLE_TIMEOUT = 300.0  # 模型两段输出之间最多安静几秒 (推理模型会先想一阵子)
MAX_PENDING_CHARS = 1_000_000  # 一条流最多积压几个字没发出去 (读者太慢时)
SEND_TIMEOUT = 30.0  # 客户端多少秒一个字节都不收, 就断开它
SHUTDOWN_GRACE = 3  # Ctrl+C 之后, 最多等几秒让进行中的流结束

console = Console(highlight=False, soft_wrap=True)
log = logging.getLogger("chat")  # 上游的原始报错只写进服务器日志, 不发给浏览器

# --8<-- [start:reuse]
sse = lesson.load("04")  # SSE 编码器与解码器、保活注释、防缓冲响应头、服务器启动器
oa = lesson.load("05")  # open_raw_stream / raw_batches: 用 AsyncOpenAI 读模型的原始字节
# --8<-- [end:reuse]


@dataclass
class Settings:
    """服务器的全部配置: main() 从命令行得到它, 放进 app.state, 用到的函数显式地拿。"""

    target: oa.Target  # 连哪个模型服务 (base_url、key、模型名); key 永远不发给浏览器
    simulated: bool = True
    max_streams: int = MAX_STREAMS
    coalesce: float = COALESCE
    keepalive: float = KEEPALIVE
    headers_timeout: float = HEADERS_TIMEOUT
    idle_timeout: float = IDLE_TIMEOUT
    max_pending: int = MAX_PENDING_CHARS
    send_timeout: float = SEND_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    # 页面可以切换的模式: 06 只有聊天; 第 07 课还有知识库问答和智能体
    modes: tuple[str, ...] = ("chat",)
    hosts: frozenset[str] = frozenset({"localhost"})  # 除了 IP 地址, 还接受哪些 Host 名字
    file_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))


@dataclass
class Service:
    """一个进程的运行时状态: 配置、名额、到模型的客户端。main() 造好它, 显式地交给用到它的函数。"""

    settings: Settings
    limit: StreamLimit
    client: AsyncOpenAI | None = None  # 在 lifespan 里创建: 它要在事件循环里关闭


# --8<-- [start:validate]
class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # strict: 数字不会被悄悄转成字符串
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


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
        "extra_forbidden": (422, f"不认识的字段: {where}"),
    }
    status, message = messages.get(kind, (422, f"{where} 不合法: {error['msg']}"))
    return ChatError(status, message)


def check_lengths(messages: list[ChatMessage]) -> None:
    """用户的消息和助手的回答分开限长: 一段很长的回答不能让之后的每一轮都失败。"""
    for i, m in enumerate(messages, 1):
        limit = MAX_MESSAGE_CHARS if m.role == "user" else MAX_ANSWER_CHARS
        if len(m.content) > limit:
            raise ChatError(413, f"第 {i} 条消息的 content 太长: 最多 {limit} 个字符")
    if sum(len(m.content) for m in messages) > MAX_HISTORY_CHARS:
        raise ChatError(413, f"对话太长: 所有消息加起来最多 {MAX_HISTORY_CHARS} 个字符")


def validate(body: bytes | list[dict[str, Any]]) -> list[dict[str, str]]:
    try:
        if isinstance(body, bytes):
            request = ChatRequest.model_validate_json(body)
        else:
            request = ChatRequest.model_validate({"messages": body})
    except ValidationError as exc:
        raise explain(exc.errors()[0]) from None
    check_lengths(request.messages)
    if request.messages[-1].role != "user":
        raise ChatError(422, "最后一条消息必须来自用户")
    if not request.messages[-1].content.strip():
        raise ChatError(422, "消息不能只有空白")
    return [m.model_dump() for m in request.messages]


# --8<-- [end:validate]


# --8<-- [start:read_body]
def media_type(content_type: str) -> str:
    """'application/json; charset=utf-8' → 'application/json'。按规则解析, 不要查子串。"""
    return content_type.partition(";")[0].strip().lower()


async def read_body(request: Request, seconds: float = BODY_TIMEOUT) -> bytes:
    """先看类型和大小, 再读内容: 一个 1 GB 的请求体不应该先被读进内存再被拒绝。"""
    if media_type(request.headers.get("content-type", "")) != "application/json":
        # 只收 JSON: 跨站的"简单请求"(表单、text/plain) 因此必须先过 CORS 预检。
        raise ChatError(415, "请求体必须是 JSON (Content-Type: application/json)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ChatError(413, f"请求体太大: 最多 {MAX_BODY_BYTES // 1024} KiB")
    body = bytearray()
    try:
        with anyio.fail_after(seconds):  # 一个字节一个字节慢慢发的请求体, 不能一直占着连接
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:  # 没有 Content-Length 的分块请求体, 边读边数
                    raise ChatError(413, f"请求体太大: 最多 {MAX_BODY_BYTES // 1024} KiB")
    except TimeoutError:
        raise ChatError(408, f"请求体 {seconds:g} 秒内没有发完") from None
    return bytes(body)


# --8<-- [end:read_body]


# --8<-- [start:limit]
class StreamLimit:
    """同时进行的流的名额。事件循环是单线程的, 计数不需要锁。"""

    def __init__(self, size: int) -> None:
        self.size, self.active = size, 0

    def acquire(self) -> None:
        if self.active >= self.size:  # 满了就立刻拒绝, 不排队: 排队的请求只会让每个人都更慢
            message = f"服务器正忙: 同时进行的回答已达上限, 请 {RETRY_AFTER} 秒后重试"
            raise ChatError(503, message, {"Retry-After": str(RETRY_AFTER)})
        self.active += 1

    def release(self) -> None:
        self.active -= 1


# --8<-- [end:limit]


# --8<-- [start:failures]
class UserFacing(Exception):
    """消息本身就是给用户看的中文说明 (第 07 课: 智能体走了太多步)。"""


class SlowReader(Exception):
    """读者跟不上: 积压的文字超过了上限。"""


class IdleTimeout(Exception):
    """模型太久没有任何输出。"""


def describe(exc: BaseException, settings: Settings) -> str:
    """给用户看的一句话。绝不原样转发上游的报错: 其中可能有 key 的片段、内部地址。原文只进服务器日志。"""
    if isinstance(exc, UserFacing):
        return str(exc)
    if isinstance(exc, openai.AuthenticationError):
        return "模型服务拒绝了服务器的 API key, 请检查服务器的 OPENAI_API_KEY"
    if isinstance(exc, openai.RateLimitError):
        return "模型服务限流了, 请稍后重试"
    if isinstance(exc, openai.APIConnectionError):
        return "连不上模型服务, 请稍后重试"
    if isinstance(exc, openai.APIStatusError):
        return f"模型服务返回了错误 (HTTP {exc.status_code})"
    if isinstance(exc, openai.APIError):  # 流中途的 data: {"error": ...}
        return "模型在生成途中出错了"
    if isinstance(exc, TimeoutError):
        return f"模型服务 {settings.headers_timeout:g} 秒内没有响应"
    if isinstance(exc, IdleTimeout):
        return f"模型服务超过 {settings.idle_timeout:g} 秒没有输出, 已停止"
    if isinstance(exc, SlowReader):
        return f"你的网络跟不上模型的输出 (积压超过 {settings.max_pending} 个字), 已停止"
    if isinstance(exc, (oa.BadChunk, sse.LineTooLong)):
        return "模型服务发来了看不懂的数据"
    return "与模型服务的连接中断了"  # 连接被重置、响应体被截断……


# --8<-- [end:failures]


# --8<-- [start:relay]
TEXT_KINDS = ("reasoning", "content")


class Relay:
    """读上游和写下游分开 (第 02 课的生产者与消费者):
    一个读任务把上游的每一批增量攒进缓冲; 写的一方 (flushes) 每个时间窗口把缓冲整个取走一次。

    - 第一批立刻交出; 之后每 window 秒最多一次, 同类相邻的文字合成一段。
    - 缓冲有上限: 读者太慢, 积压超过 max_pending 个字, 就停止读上游 (SlowReader)。
    - 上游出错: 先把攒下的文字交出, 再抛出错误。stop(): 客户端走了, 安静地结束。
    - 读任务一结束 (读完、出错、被取消), 立刻关闭上游: 不再为没人要的输出付钱。"""

    def __init__(
        self,
        batches: AsyncIterator[list],
        window: float,
        max_pending: int,
        close_upstream: Callable[[], Awaitable[Any]],
    ) -> None:
        # [[种类, [文字片段...]], ...]: 片段最后才拼成一段, 拼接不会变成平方级的复制
        self.buffer: list[list[Any]] = []
        self.pending = 0  # 缓冲里有几个字
        self.window, self.max_pending = window, max_pending
        self.last_read = time.monotonic()  # 上一次从上游读到东西的时刻 (判断模型是否太久没输出)
        self.failure: BaseException | None = None
        self.done = self.stopped = False
        self.wake = asyncio.Event()
        self.close_upstream = close_upstream
        self.reader = asyncio.create_task(self.read(batches))

    def add(self, kind: str, value: Any) -> None:
        if kind not in TEXT_KINDS:
            self.buffer.append([kind, value])
            return
        self.pending += len(value)
        if self.buffer and self.buffer[-1][0] == kind:
            self.buffer[-1][1].append(value)  # 和上一段同类: 接上
        else:
            self.buffer.append([kind, [value]])

    async def read(self, batches: AsyncIterator[list]) -> None:
        try:
            async for batch in batches:  # 一批 = 一次网络读取带来的全部增量
                self.last_read = time.monotonic()
                for kind, value in batch:
                    self.add(kind, value)
                if self.pending > self.max_pending:
                    raise SlowReader
                self.wake.set()
        except Exception as exc:
            self.failure = exc
        finally:
            self.done = True
            self.wake.set()
            await self.close_upstream()

    async def flushes(self) -> AsyncIterator[list[tuple[str, Any]]]:
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch = [(k, "".join(v) if k in TEXT_KINDS else v) for k, v in self.buffer]
            self.buffer.clear()
            self.pending = 0
            if batch:
                yield batch
            if self.done and not self.buffer:
                break
            if self.window:
                await asyncio.sleep(self.window)  # 发完一批, 歇一个窗口; 其间到达的文字会合并
        if self.failure and not self.stopped:
            raise self.failure

    def stop(self) -> None:
        """客户端走了: 停止读上游。"""
        self.stopped = True
        self.reader.cancel()

    async def aclose(self) -> None:
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


# --8<-- [end:relay]


# --8<-- [start:chat_events]
EVENT_NAMES = {"reasoning": "reasoning", "content": "delta"}


def event(name: str, payload: dict[str, Any]) -> bytes:
    return sse.encode_json_event(payload, event=name)  # JSON 里没有换行: 任何文本都破坏不了分帧


Record = tuple[str, dict[str, Any]]  # 一个事件: (名字, JSON 数据)


async def chat_records(relay: Relay, settings: Settings) -> AsyncIterator[list[Record] | bytes]:
    """每个窗口交出一串事件 (名字, 数据); 安静太久时交出 sse.KEEPALIVE; 最后一定是 done 或 error。

    上游交出的除了文字 (reasoning / content)、finish、usage, 还可以有两种 (第 07 课用它们):
    ("event", (名字, 数据)) 原样成为一个事件, 比如检索到的资料; ("meta", {...}) 并进最后的 done。"""
    start = time.perf_counter()
    first_token = finish = usage = None
    meta: dict[str, Any] = {}
    try:
        async for batch in sse.with_keepalive(relay.flushes(), settings.keepalive):
            if batch is sse.KEEPALIVE:  # 模型安静了 keepalive 秒: 顺便看看是不是安静得太久了
                if time.monotonic() - relay.last_read > settings.idle_timeout:
                    raise IdleTimeout
                yield batch
                continue
            records: list[Record] = []
            for kind, value in batch:
                if kind in EVENT_NAMES:
                    first_token = first_token or time.perf_counter() - start
                    records.append((EVENT_NAMES[kind], {"text": value}))
                elif kind == "event":
                    records.append(value)
                elif kind == "finish":
                    finish = value
                elif kind == "usage":
                    usage = value
                elif kind == "meta":
                    meta.update(value)
            if records:
                yield records
    except Exception as exc:  # 响应头早已发出, 改不了状态码: 发一个 error 事件, 放在已发的文字之后
        log.warning("流在中途失败: %s: %s", type(exc).__name__, exc)
        yield [("error", {"message": describe(exc, settings) + ", 回答不完整"})]
        return
    if relay.stopped:
        return  # 客户端已经走了, 没有人听
    if finish is None:
        yield [("error", {"message": "模型的流意外结束 (没有 finish_reason), 回答可能不完整"})]
        return
    yield [("done", summary(settings, start, first_token, finish, usage) | meta)]


async def chat_events(relay: Relay, settings: Settings) -> AsyncIterator[bytes]:
    """同样的事件, 编码成 SSE 字节: 一个窗口里的几个事件拼成一段, 一次发送。"""
    records = chat_records(relay, settings)
    try:
        async for item in records:
            yield item if isinstance(item, bytes) else b"".join(event(n, p) for n, p in item)
    finally:
        await records.aclose()


def summary(settings: Settings, start: float, first_token: float | None, finish: str, usage: Any):
    duration = time.perf_counter() - start
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if not isinstance(tokens, int) or isinstance(tokens, bool):
        tokens = None  # 有的兼容服务不给用量, 或者给得不全: 回答是完整的, 只是少了统计
    speed = tokens / (duration - first_token) if tokens and first_token and duration > first_token else None  # fmt: skip
    return {
        "finish_reason": finish,
        "model": settings.target.model,
        "ttft_ms": round(first_token * 1000) if first_token else None,
        "duration_ms": round(duration * 1000),
        "tokens": tokens,
        "tokens_per_second": round(speed, 1) if speed else None,
    }


# --8<-- [end:chat_events]


# --8<-- [start:response]
class SendWatchdog:
    """给写循环看门: 同一次 send 卡住超过 timeout 秒 (对方一个字节都不收), 就取消写的那个任务。

    为什么不给每次 send 套一个 asyncio.timeout / anyio.fail_after? 每次要几十微秒 (tools/bench_relays.py),
    而 send 是热路径。看门狗每 timeout 秒才醒一次: 两次醒来都看到同一次 send 还没完成, 就是卡住了 (1~2 倍 timeout)。"""

    def __init__(self, timeout: float) -> None:
        self.timeout, self.sends, self.busy, self.fired = timeout, 0, False, False
        self.task = asyncio.current_task()
        self.loop = asyncio.get_running_loop()
        self.handle = self.loop.call_later(timeout, self.check, 0, False)

    def check(self, seen: int, was_busy: bool) -> None:
        if was_busy and self.busy and self.sends == seen:
            self.fired = True
            self.task.cancel()  # type: ignore[union-attr]
            return
        self.handle = self.loop.call_later(self.timeout, self.check, self.sends, self.busy)

    async def send(self, send: Any, message: dict[str, Any]) -> None:
        self.busy = True
        await send(message)
        self.busy = False
        self.sends += 1

    def stop(self) -> None:
        self.handle.cancel()


class ChatStreamResponse(Response):
    """一条流式回答的整个生命周期, 直接用 ASGI 写 (不经过 StreamingResponse 的那几层):

    - 客户端一断开 (leaving 任务, 在等上游响应头时就开始听了), 就停止中转, 上游随之关闭;
    - 一次发送卡住太久 (SendWatchdog): 一个完全不读的客户端不能永远占着名额和内存;
    - 无论怎样结束 —— 读完、出错、断开、服务器关闭 —— 都在 finally 里归还名额、关闭上游。

    handler 返回的时候, 流还没有开始; 名额必须留到这里才归还。"""

    def __init__(self, events, relay, leaving, cleanup, send_timeout) -> None:  # noqa: D107
        # 不调用 Response.__init__: 它会加上 Content-Length: 0。流式响应没有长度。
        self.status_code, self.background = 200, None
        headers = {"content-type": "text/event-stream; charset=utf-8", **sse.SSE_HEADERS}
        self.raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.events: AsyncIterator[bytes] = events
        self.relay: Relay = relay
        self.leaving: asyncio.Task = leaving
        self.cleanup: Callable[[], Awaitable[None]] = cleanup
        self.send_timeout = send_timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.leaving.add_done_callback(lambda _: self.relay.stop())
        watchdog = SendWatchdog(self.send_timeout)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for data in self.events:
                await watchdog.send(send, {"type": "http.response.body", "body": data, "more_body": True})  # fmt: skip
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not watchdog.fired:
                raise  # 服务器在关闭: 照常取消
            log.warning("客户端 %g 秒没有收下任何数据, 断开它", self.send_timeout)
            if hasattr(watchdog.task, "uncancel"):  # 这次取消是我们自己发起的, 已经处理完了
                watchdog.task.uncancel()  # type: ignore[union-attr]
        finally:
            watchdog.stop()
            self.leaving.cancel()
            await self.events.aclose()  # type: ignore[attr-defined]
            await self.relay.aclose()
            await self.cleanup()


async def until_disconnected(receive: Any) -> None:
    """请求体读完之后, 再调用 receive() 就只会等到一件事: 客户端断开。"""
    while (await receive())["type"] != "http.disconnect":
        pass


# --8<-- [end:response]


# --8<-- [start:open_upstream]
async def open_upstream(
    service: Service, receive: Any, messages, stack: AsyncExitStack, **options: Any
):
    """向模型发出请求, 等到它的响应头。三件事谁先发生听谁的: 响应头到了 / 客户端走了 / 超时。
    返回 (上游的响应, 一直在听客户端是否断开的任务)。options: 给模型的额外参数, 比如 tools。"""
    settings = service.settings
    opening = asyncio.ensure_future(
        oa.open_raw_stream(stack, service.client, settings.target.model, messages, **options)
    )
    leaving = asyncio.ensure_future(until_disconnected(receive))
    await asyncio.wait(
        {opening, leaving}, timeout=settings.headers_timeout, return_when=asyncio.FIRST_COMPLETED
    )
    if opening.done() and not opening.exception():
        return opening.result(), leaving
    client_left = leaving.done()
    opening.cancel()  # 客户端走了, 或者等得太久: 不再等上游 (SDK 的重试也一起取消)
    leaving.cancel()
    await asyncio.gather(opening, leaving, return_exceptions=True)
    if client_left:
        raise ChatError(400, "客户端已断开")  # 没有人会收到这个响应
    if opening.done() and not opening.cancelled():
        raise opening.exception()  # type: ignore[misc]  # 出错了: key 不对、连不上……
    raise TimeoutError


# --8<-- [end:open_upstream]


# --8<-- [start:start_chat]
async def start_chat(
    service: Service,
    receive: Any,
    messages: list[dict[str, Any]],
    release: Callable[[], None],
    stream: Callable[[Any], AsyncIterator[list]] = oa.raw_batches,
    **options: Any,
) -> Response:
    """名额已经占好了; release 在流结束时归还它。流没能开始, 由调用者归还。
    stream 把上游的响应变成一批批增量 (第 07 课换上自己的: 先发检索结果、在两次调用模型之间执行工具)。"""
    settings = service.settings
    upstream = AsyncExitStack()  # 负责关闭到模型的连接
    try:
        # 先拿到上游的响应头: 这时出错 (key 不对、连不上、超时) 还能回一个普通的 HTTP 错误。
        response, leaving = await open_upstream(service, receive, messages, upstream, **options)
    except BaseException as exc:
        await upstream.aclose()
        if isinstance(exc, (openai.APIError, TimeoutError)):
            log.warning("上游请求失败: %s: %s", type(exc).__name__, exc)
            status = 504 if isinstance(exc, TimeoutError) else 502  # 我们自己等响应头等超时了: 504
            raise ChatError(status, describe(exc, settings)) from None
        raise

    async def cleanup() -> None:
        release()  # 先归还名额, 再做可能被打断的 await
        await upstream.aclose()

    return stream_response(settings, stream(response), leaving, cleanup, upstream.aclose)


def stream_response(
    settings: Settings,
    batches: AsyncIterator[list],
    leaving: asyncio.Task,
    cleanup: Callable[[], Awaitable[None]],
    close_upstream: Callable[[], Awaitable[Any]],
) -> ChatStreamResponse:
    """一批批增量 → 中转 (合并、上限) → 事件 → 流式响应。"""
    relay = Relay(batches, settings.coalesce, settings.max_pending, close_upstream)
    events = chat_events(relay, settings)
    return ChatStreamResponse(events, relay, leaving, cleanup, settings.send_timeout)


async def chat_with_slot(
    service: Service, receive: Any, messages: Callable[[], Awaitable[list]], **start: Any
) -> Response:
    """先占名额, 再做任何费事的事 (读请求体、校验、请求模型): 过载时, 拒绝要又快又便宜。"""
    service.limit.acquire()
    try:
        return await start_chat(service, receive, await messages(), service.limit.release, **start)
    except BaseException:
        service.limit.release()
        raise


# --8<-- [end:start_chat]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # 每个进程一个客户端, 反复使用 (第 05 课)。key 留在服务器这一侧。
    # aiohttp 用 C 写的 HTTP 解析器读上游: 每个 token 的 CPU 比默认的 httpx 少得多 (tools/load_chat.py)。
    # SDK 的 timeout 是"每次读"的超时, 既管等响应头, 又管两段输出之间; 这两件事我们分开管 (见 open_upstream、IdleTimeout)。
    service: Service = app.state.service
    target = service.settings.target
    service.client = AsyncOpenAI(
        api_key=target.api_key,
        base_url=target.base_url,
        http_client=DefaultAioHttpClient(),
        timeout=openai.Timeout(None, connect=10.0),
    )
    yield
    await service.client.close()


# --8<-- [start:guard]
def host_allowed(host: str, names: frozenset[str]) -> bool:
    """Host 只能是一个 IP 地址, 或者我们自己的名字。DNS 重绑定攻击靠的是攻击者自己的域名
    (evil.example 先解析到它的服务器, 再解析到 127.0.0.1), 而 IP 地址没法被"重绑定"。"""
    name = host.rpartition(":")[0] if re.fullmatch(r".*:\d+", host) else host
    name = name.strip("[]").lower()
    if name in names:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def check_request(scope: Any, settings: Settings) -> tuple[int, str] | None:
    """前门的两道检查; 不通过就返回 (状态码, 中文说明)。
    1. Host 必须是本机的名字或 IP (防 DNS 重绑定)。
    2. 浏览器发来的请求 (带 Origin) 只接受本站的页面, 以及带着本次运行令牌的、从磁盘打开的页面 (Origin: null)。
       别的网站、别人的沙箱 iframe (它们的 Origin 也是 null) 都不能用这个服务器, 也就花不了你的额度。"""
    headers = dict(scope["headers"])
    host = headers.get(b"host", b"").decode("latin-1")
    if not host_allowed(host, settings.hosts):
        return 400, f"不接受的 Host: {host!r}。用本机地址访问, 或者用 --allow-host 加上这个名字"
    origin = headers.get(b"origin", b"").decode("latin-1")
    if not origin or origin in (f"http://{host}", f"https://{host}"):
        return None  # 不是浏览器的跨源请求 (curl), 或者就是本站的页面
    if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
        return None  # CORS 预检: 它不带令牌, 也不做任何事; 交给 CORSMiddleware 回答
    token = headers.get(b"x-chat-token", b"")
    if origin == "null" and secrets.compare_digest(token, settings.file_token.encode()):
        return None  # 从磁盘打开的 chat.html, 带着服务器启动时打印的令牌
    if origin == "null":
        return 403, "从磁盘打开的页面缺少令牌: 请用服务器启动时打印的那个链接 (#server=…&token=…)"
    return 403, "不接受来自其他网页的请求"


# --8<-- [end:guard]


app = FastAPI(title="第 06 课: 流式聊天", lifespan=lifespan)
app.mount("/vendor", StaticFiles(directory=ROOT / "vendor"), name="vendor")
# --8<-- [start:cors]
app.add_middleware(
    CORSMiddleware,
    allow_origins=["null"],  # 从磁盘打开的 chat.html 的来源是 "null"; 前门还要它带上令牌
    allow_methods=["GET", "POST"],
    allow_headers=["Content-Type", "X-Chat-Token"],
    allow_credentials=False,  # 不用 cookie, 也就绝不会有 "* + credentials"
)


# --8<-- [end:cors]


@app.exception_handler(ChatError)
async def chat_error(request: Request, exc: ChatError) -> JSONResponse:
    return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


# --8<-- [start:routes]
async def read_and_validate(request: Request, service: Service) -> list[dict[str, str]]:
    return validate(await read_body(request, service.settings.body_timeout))


@app.get("/chat/{message}")
async def chat_get(message: str, request: Request) -> Response:
    """方便 curl 试用。浏览器里跨站发来的 GET (比如别的网站上的 <img>) 一律拒绝, 免得别人花你的额度。"""
    if request.headers.get("sec-fetch-site", "none") not in ("none", "same-origin"):
        raise ChatError(403, "不接受跨站请求")

    async def messages() -> list[dict[str, str]]:
        return validate([{"role": "user", "content": message}])

    return await chat_with_slot(request.app.state.service, request.receive, messages)


@app.get("/config")
async def config(request: Request) -> dict[str, Any]:
    """页面显示用的信息。注意这里没有、也永远不会有 API key。"""
    settings: Settings = request.app.state.service.settings
    return {
        "model": settings.target.model,
        "simulated": settings.simulated,
        "max_message_chars": MAX_MESSAGE_CHARS,
        "max_answer_chars": MAX_ANSWER_CHARS,
        "max_history_chars": MAX_HISTORY_CHARS,
        "max_turns": MAX_TURNS,
        "modes": list(settings.modes),
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
        "default-src 'none'",  # 没有列出的一律禁止: 音视频、字体、iframe、插件……
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


# --8<-- [start:front_door]
Endpoint = Callable[[Service, Request], Awaitable[Response]]


class FrontDoor:
    """进程的 ASGI 入口。先过 check_request 这道门; POST /chat 是热路径 —— 每个 token 都要经过它的 send ——
    所以直接在这里处理, 不经过 FastAPI 的路由和那一串中间件 (每一层都给 send 包一层)。
    其余的 (页面、/config、静态文件、CORS 预检、GET /chat/…) 照样交给 FastAPI。
    routes: 直接处理的 POST 路径 (第 07 课再加 /rag、/agent)。"""

    def __init__(self, api: FastAPI, service: Service, routes: dict[str, Endpoint] | None = None):
        self.api, self.service = api, service
        self.routes = routes or {"/chat": chat_endpoint}
        api.state.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.api(scope, receive, send)  # lifespan: 创建、关闭到模型的客户端
        if problem := check_request(scope, self.service.settings):
            response: Response = JSONResponse({"error": problem[1]}, status_code=problem[0])
        elif scope["method"] == "POST" and (endpoint := self.routes.get(scope["path"])):
            response = await endpoint(self.service, Request(scope, receive))
        else:
            return await self.api(scope, receive, send)
        response.raw_headers += cors_headers(scope)
        await response(scope, receive, send)


async def chat_endpoint(service: Service, request: Request) -> Response:
    """POST /chat。Request 只用来读请求头和请求体; 任何一步的 ChatError 都变成一个带中文说明的 JSON 错误。"""
    try:
        return await chat_with_slot(
            service, request.receive, lambda: read_and_validate(request, service)
        )
    except ChatError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


def cors_headers(scope: Any) -> list[tuple[bytes, bytes]]:
    """从磁盘打开的页面 (Origin: null) 要看得到回答 (或者被拒绝的理由), 响应里得有这一行。"""
    if dict(scope["headers"]).get(b"origin") == b"null":
        return [(b"access-control-allow-origin", b"null"), (b"vary", b"Origin")]
    return []


# --8<-- [end:front_door]


def main(argv: list[str] | None = None) -> int:
    return run(build_parser("第 06 课: 完整的流式聊天应用").parse_args(argv))


def run(
    args: argparse.Namespace,
    routes: Callable[[Any], dict[str, Endpoint]] | None = None,
    modes: tuple[str, ...] = ("chat",),
) -> int:
    """选好模型 (真实的, 或者后台线程里的模拟模型), 然后运行服务器直到 Ctrl+C。
    第 07 课带着自己的路由复用它: routes(target) 在选好模型之后给出 POST 路径 → 处理函数。"""
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.host != HOST:
        console.print(
            f"注意: 监听 {args.host}, 同一网络里的人都能使用它, 也就是在花你的 API 额度。",
            style="yellow",
        )
    # 真实服务商还是模拟模型: 和第 05 课同一条规则
    target = oa.real_target(args.base_url, args.model, args.simulate)
    if target:
        console.print(f"模型: {target.model} @ {target.base_url or 'OpenAI'}")
        return serve(args, settings_from(args, target, False, modes), routes and routes(target))
    if not args.simulate:
        console.print(
            "没有找到 OPENAI_API_KEY, 使用第 05 课的模拟模型 (--simulate)。", style="yellow"
        )
    with openai_sim.running_in_thread(args.token_delay) as sim:
        target = oa.Target(f"{sim.url}/v1", "sim-key", args.model or oa.SIM_MODEL)
        console.print(f"模拟模型: {target.base_url}  (统计: {sim.url}/sim/stats)")
        return serve(args, settings_from(args, target, True, modes), routes and routes(target))


def settings_from(
    args: argparse.Namespace, target: Any, simulated: bool, modes=("chat",)
) -> Settings:
    hosts = {"localhost", args.host.lower()} | {h.lower() for h in args.allow_host}
    return Settings(
        target=target,
        simulated=simulated,
        modes=tuple(modes),
        max_streams=args.max_streams,
        coalesce=args.coalesce,
        keepalive=args.keepalive,
        headers_timeout=args.headers_timeout,
        idle_timeout=args.idle_timeout,
        max_pending=args.max_pending,
        send_timeout=args.send_timeout,
        body_timeout=args.body_timeout,
        hosts=frozenset(hosts),
    )


def serve(
    args: argparse.Namespace, settings: Settings, routes: dict[str, Endpoint] | None = None
) -> int:
    def announce(url: str) -> None:
        page = (ROOT / "chat.html").as_uri()
        console.print(f"服务已启动: {url}")
        console.print(f"浏览器打开 {url}/ , 或者: curl -N {url}/chat/你好   (Ctrl+C 停止)")
        token = settings.file_token
        console.print(f"从磁盘打开页面: {page}#server={url}&token={token}", style="dim")

    service = Service(settings, StreamLimit(settings.max_streams))
    front = FrontDoor(app, service, routes)
    sse.serve(front, args.host, args.port, announce, SHUTDOWN_GRACE, args.header_timeout)
    console.print("服务器已停止。")
    return 0


def build_parser(description: str, port: int = PORT) -> argparse.ArgumentParser:
    """06 的全部命令行参数; 第 07 课在它上面再加自己的。"""
    parser = argparse.ArgumentParser(description=description)
    add = parser.add_argument
    add("--host", default=HOST, help=f"监听地址 (默认 {HOST})")
    add("--port", type=int, default=port, help=f"端口, 0 = 任意空闲端口 (默认 {port})")
    add("--model", default=os.environ.get("OPENAI_MODEL"), help="模型名 (默认 $OPENAI_MODEL)")
    add(
        "--base-url",
        default=os.environ.get("OPENAI_BASE_URL"),
        help="兼容服务商的地址 (默认 $OPENAI_BASE_URL)",
    )
    add("--simulate", action="store_true", help="使用模拟模型 (没有 OPENAI_API_KEY 时自动启用)")
    add(
        "--token-delay",
        type=float,
        default=openai_sim.DEFAULT_TOKEN_DELAY,
        help=f"模拟模型每个 token 的秒数 (默认 {openai_sim.DEFAULT_TOKEN_DELAY})",
    )
    add("--max-streams", type=int, default=MAX_STREAMS, help=f"同时进行的流最多几条 (默认 {MAX_STREAMS})")  # fmt: skip
    add("--coalesce", type=float, default=COALESCE, help=f"合并输出的时间窗口, 秒; 0 = 每批一个事件 (默认 {COALESCE})")  # fmt: skip
    add("--keepalive", type=float, default=KEEPALIVE, help=f"安静多少秒发一条保活注释 (默认 {KEEPALIVE:g})")  # fmt: skip
    add("--headers-timeout", type=float, default=HEADERS_TIMEOUT, help=f"等模型服务的响应头最多几秒, 含重试 (默认 {HEADERS_TIMEOUT:g})")  # fmt: skip
    add("--idle-timeout", type=float, default=IDLE_TIMEOUT, help=f"模型两段输出之间最多安静几秒 (默认 {IDLE_TIMEOUT:g})")  # fmt: skip
    add("--max-pending", type=int, default=MAX_PENDING_CHARS, help=f"读者太慢时, 一条流最多积压几个字 (默认 {MAX_PENDING_CHARS})")  # fmt: skip
    add("--send-timeout", type=float, default=SEND_TIMEOUT, help=f"客户端多少秒不收任何数据就断开它 (默认 {SEND_TIMEOUT:g})")  # fmt: skip
    add("--body-timeout", type=float, default=BODY_TIMEOUT, help=f"请求体最多花几秒发完 (默认 {BODY_TIMEOUT:g})")  # fmt: skip
    add("--header-timeout", type=float, default=HEADER_TIMEOUT, help=f"请求头最多花几秒发完 (默认 {HEADER_TIMEOUT:g})")  # fmt: skip
    add("--allow-host", action="append", default=[], metavar="NAME", help="另外接受的 Host 名字 (可以多次使用)")  # fmt: skip
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
