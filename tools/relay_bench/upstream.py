"""带时间戳的上游: 一个很快的 OpenAI 兼容流式服务器 (POST /v1/chat/completions), 给 relay 基准测试用。

每个内容 delta 的文本是它发出时刻的 time.monotonic_ns() (20 位数字) 加一个 "|"。Linux 的
CLOCK_MONOTONIC 是全系统共用的, 所以客户端进程用自己的 monotonic_ns() 一减, 就是这个 token 晚到了多久。

怎么回答由最后一条消息决定 (relay 只转发 messages, 所以参数只能放在这里):
    /bench tokens=100 interval=0.05 id=abc      100 个 token, 每 0.05 秒一个; id 用来对上取消记录
    /bench tokens=5 interval=0 clock=seq         时间戳换成 0,1,2…: 测试可以逐字比较

GET /stats 返回计数、上游自己落后了多少 (lag), 以及每条被取消的流是什么时刻发现的;
GET /stats?reset=1 读完后清零 lag 和取消记录。

运行 (relay_bench/serve.py 负责绑定端口、打印就绪行):
    python tools/relay_bench/serve.py upstream --port 8100
    curl -N http://127.0.0.1:8100/v1/chat/completions -H 'Authorization: Bearer x' \\
         -d '{"model": "bench", "stream": true, "messages": [{"role": "user", "content": "/bench tokens=3"}]}'
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

TOKENS = 100  # 默认每条流几个 token
INTERVAL = 0.05  # 默认 token 间隔 (秒): 20 token/秒
MAX_TOKENS = 100_000  # 一条流最多几个 token
SEP = "|"  # 时间戳之间的分隔符: 合并过的 delta 里会有好几个
WIDTH = 20  # 时间戳的位数: 定长, 每个 token 一样长

EVENT_STREAM = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]  # fmt: skip
JSON = [(b"content-type", b"application/json")]
DONE = b"data: [DONE]\n\n"


def parse_control(content: str) -> dict[str, Any]:
    """'/bench tokens=5 interval=0 id=x' → 参数字典; 看不懂的部分忽略, 缺的用默认值。"""
    options: dict[str, Any] = {"tokens": TOKENS, "interval": INTERVAL, "id": "", "clock": "mono"}
    for word in content.split()[1:] if content.startswith("/bench") else []:
        key, _, value = word.partition("=")
        if key == "tokens" and value.isdigit():
            options["tokens"] = min(int(value), MAX_TOKENS)
        elif key == "interval":
            try:
                options["interval"] = max(0.0, float(value))
            except ValueError:
                pass
        elif key in ("id", "clock"):
            options[key] = value
    return options


def parse_stamps(text: str) -> list[int]:
    """一个 (可能被合并过的) delta 文本 → 里面每个 token 的时间戳。"""
    return [int(part) for part in text.split(SEP) if part]


class Envelope:
    """chat.completion.chunk 的信封在每个请求里只序列化一次; 每个 token 只拼接定长的数字。"""

    def __init__(self, model: str) -> None:
        self.base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": model, "system_fingerprint": None}  # fmt: skip
        choice = {
            "index": 0,
            "delta": {"content": "STAMP"},
            "logprobs": None,
            "finish_reason": None,
        }
        self.head, _, self.tail = self.event([choice]).rpartition(b"STAMP")

    def event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = json.dumps({**self.base, "choices": choices, **extra}, separators=(",", ":"))
        return b"data: " + body.encode() + b"\n\n"

    def token(self, stamp: int) -> bytes:
        return self.head + b"%0*d|" % (WIDTH, stamp) + self.tail


class Stats:
    def __init__(self) -> None:
        self.started = self.completed = self.cancelled = self.tokens = 0
        self.reset()

    def reset(self) -> None:
        self.lag_max_ns = self.lag_sum_ns = self.lag_count = 0  # 上游自己比计划晚了多少
        self.cancels: dict[str, int] = {}  # id → 发现客户端断开的时刻 (monotonic_ns)

    def snapshot(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "tokens": self.tokens,
            "lag_max_ms": self.lag_max_ns / 1e6,
            "lag_mean_ms": self.lag_sum_ns / self.lag_count / 1e6 if self.lag_count else 0.0,
            "cancels": self.cancels,
        }


stats = Stats()


async def read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def wait_disconnect(receive: Any) -> int:
    """等到 http.disconnect, 返回那一刻。流正常结束后, uvicorn 也会交来一个 disconnect。"""
    while (await receive())["type"] != "http.disconnect":
        pass
    return time.monotonic_ns()


async def send_json(send: Any, status: int, value: Any) -> None:
    await send({"type": "http.response.start", "status": status, "headers": JSON})
    await send({"type": "http.response.body", "body": json.dumps(value).encode()})


async def stream(send: Any, envelope: Envelope, options: dict[str, Any], usage: bool) -> None:
    tokens, interval = options["tokens"], options["interval"]
    interval_ns = int(interval * 1e9)
    await send({"type": "http.response.start", "status": 200, "headers": EVENT_STREAM})
    role = {"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}  # fmt: skip
    await send({"type": "http.response.body", "body": envelope.event([role]), "more_body": True})
    start = time.monotonic_ns()
    for i in range(tokens):
        due = start + i * interval_ns  # 按绝对时刻排程: 一次睡晚了不会累积到后面
        now = time.monotonic_ns()
        if due > now:
            await asyncio.sleep((due - now) / 1e9)
            now = time.monotonic_ns()
        lag = now - due
        stats.lag_max_ns = max(stats.lag_max_ns, lag)
        stats.lag_sum_ns += lag
        stats.lag_count += 1
        stamp = i if options["clock"] == "seq" else now
        await send({"type": "http.response.body", "body": envelope.token(stamp), "more_body": True})
        stats.tokens += 1
    finish = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    tail = envelope.event([finish])
    # 和真实 API 一样: stream_options.include_usage 时, 最后单独一个 choices 为空的用量 chunk。
    if usage:
        counts = {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1}
        tail += envelope.event([], usage=counts)
    await send({"type": "http.response.body", "body": tail + DONE, "more_body": False})


async def chat(scope: Any, receive: Any, send: Any) -> None:
    try:
        request = json.loads(await read_body(receive))
        messages = request["messages"]
        content = messages[-1]["content"] if messages else ""
    except (ValueError, KeyError, TypeError, IndexError):
        error = {
            "message": "请求体不是合法的 chat.completions 请求",
            "type": "invalid_request_error",
        }
        return await send_json(send, 400, {"error": error})
    if not request.get("stream"):
        error = {"message": "这个上游只会流式回答 (stream=true)", "type": "invalid_request_error"}
        return await send_json(send, 400, {"error": error})
    options = parse_control(content if isinstance(content, str) else "")
    usage = bool((request.get("stream_options") or {}).get("include_usage"))
    envelope = Envelope(str(request.get("model", "bench")))
    stats.started += 1
    # 发 token 和等断开是两个任务: 睡眠中的流也能立刻发现客户端走了 (取消延迟就是从这里量的)。
    sender = asyncio.create_task(stream(send, envelope, options, usage))
    watcher = asyncio.create_task(wait_disconnect(receive))
    await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    if sender.done():
        watcher.cancel()
        stats.completed += 1
        sender.result()  # 发送时的异常不要吞掉
    else:
        sender.cancel()
        stats.cancelled += 1
        if options["id"]:
            stats.cancels[options["id"]] = watcher.result()
    await asyncio.gather(sender, watcher, return_exceptions=True)


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Any, receive: Any, send: Any) -> None:
    """原始 ASGI, 不用框架: 上游不能成为基准的瓶颈。"""
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    path, method = scope["path"], scope["method"]
    if path == "/v1/chat/completions" and method == "POST":
        return await chat(scope, receive, send)
    if path == "/stats" and method == "GET":
        snapshot = stats.snapshot()
        if b"reset=1" in scope.get("query_string", b""):
            stats.reset()
        return await send_json(send, 200, snapshot)
    await send_json(send, 404, {"error": {"message": f"没有 {method} {path}", "type": "not_found"}})
