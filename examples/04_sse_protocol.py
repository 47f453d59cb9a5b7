"""第 04 课: Server-Sent Events —— 线上格式、按规范写的解析器、id 与断线续传

你将学到:
- SSE 的每一个字段 (event / data / id / retry / 注释), 以及多行 data 为什么不会破坏分帧
- 按 HTML 标准"解析事件流"一节写出的解码器: 不管字节怎么切, 结果都一样
- 断线重连: 浏览器带着 Last-Event-ID 回来, 服务器从下一条接着发, 不重复不遗漏
- 手写版与 FastAPI 自带的 fastapi.sse 并排对照; 保活注释、防缓冲响应头

运行:
    python examples/04_sse_protocol.py                      # 服务器: http://127.0.0.1:8004 (浏览器打开看)
    curl -N -i http://127.0.0.1:8004/events?count=5         # 看原始的事件流
    curl -N -H 'Last-Event-ID: 3' http://127.0.0.1:8004/events?count=5   # 从第 4 条续传
    python examples/04_sse_protocol.py --client 'http://127.0.0.1:8004/events?count=8&drop_after=3'
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import http.client
import json
import re
import socket
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from rich.console import Console

HOST = "127.0.0.1"  # 只监听本机; 课堂上让别人访问才用 --host 0.0.0.0
PORT = 8004
DEFAULT_DELAY = 0.5  # 两条事件之间的秒数
DEFAULT_KEEPALIVE = 15.0  # 安静多少秒就发一条保活注释
RETRY_MS = 1000  # 建议浏览器断线后多少毫秒重连
MAX_COUNT = 1000  # 一条流最多几条事件
CLIENT_MAX_RETRIES = 5  # --client 连续重连失败几次就放弃

console = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")


# --8<-- [start:encode_event]
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # SSE 认这三种换行


def encode_event(
    data: str | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """把一条事件编码成 SSE 的字节。以空行结尾; 多行文本拆成多个 data: 行。"""
    if event is not None and LINE_BREAK.search(event):
        raise ValueError("event 不能包含换行")
    if id is not None and (LINE_BREAK.search(id) or "\0" in id):
        raise ValueError("id 不能包含换行或 NUL")
    if retry is not None and (not isinstance(retry, int) or retry < 0):
        raise ValueError("retry 必须是非负整数 (毫秒)")
    lines = []
    if comment is not None:
        lines += [f": {line}" for line in LINE_BREAK.split(comment)]
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    if data is not None:
        # 文本里的每个换行都开始一个新的 data: 行, 所以数据永远无法伪造字段或提前结束事件。
        lines += [f"data: {line}" for line in LINE_BREAK.split(data)]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


# --8<-- [end:encode_event]


# --8<-- [start:encode_json]
def encode_json_event(payload: object, **fields: str | int | None) -> bytes:
    r"""一字不差地传送任意文本 (包括 \r): 放进 JSON。JSON 把换行写成 \n, 整条 data 只有一行。"""
    return encode_event(json.dumps(payload, ensure_ascii=False), **fields)


# --8<-- [end:encode_json]


# --8<-- [start:decoder]
@dataclass(frozen=True)
class Event:
    data: str
    event: str = "message"
    id: str = ""  # 这条事件派发时的 "last event ID", 会从前面的事件延续下来


class LineTooLong(ValueError):
    """一行超过了 max_line 个字符: 对方不守规矩, 不能无限地攒下去。"""


class SSEDecoder:
    """按 HTML 标准 "Parsing an event stream" 实现的增量解码器。

    max_line: 一行最多几个字符 (默认不限)。读不可信的上游时一定要设: 一个 50 MB 的 "行" 不该被攒进内存。
    遇到超长的行, feed() 照常交出它之前的事件, 下一次 feed() 再抛出 LineTooLong —— 前面的内容不丢。"""

    def __init__(self, last_event_id: str = "", max_line: int | None = None) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")  # 坏字节变成 U+FFFD
        self._started = False  # 是否已经处理过流的开头 (那里可能有一个 BOM)
        self._after_cr = False  # 上一块以 \r 结尾: 下一块开头的 \n 属于同一个 CRLF
        self._pending: list[str] = []  # 还没遇到换行的半行, 分段存放: 拼接留到换行到来时做一次
        self._pending_size = 0
        self._data: list[str] = []
        self._event_type = ""
        self.max_line = max_line
        self._too_long: LineTooLong | None = None
        self._id_buffer = (
            last_event_id  # 读到 id: 先放在这里, 派发事件时才生效 (规范的 last event ID buffer)
        )
        self.last_event_id = last_event_id  # 重连时放进 Last-Event-ID 请求头
        self.retry: int | None = None  # 服务器建议的重连间隔 (毫秒)

    def feed(self, chunk: bytes) -> list[Event]:
        """喂进任意切法的一段字节, 返回这段字节里完整结束的事件。"""
        if self._too_long:
            raise self._too_long
        text = self._utf8.decode(chunk)
        if text and not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")  # 只去掉流开头的一个 BOM
        if text and self._after_cr:
            text = text.removeprefix("\n")
            self._after_cr = False
        if text:
            self._after_cr = text.endswith("\r")
        *lines, rest = LINE_BREAK.split(text)
        if lines:  # 这一块里有换行: 之前攒下的半行到这里结束
            lines[0] = "".join(self._pending) + lines[0]
            self._pending, self._pending_size = [], 0
        if rest:
            self._pending.append(rest)
            self._pending_size += len(rest)
        if (
            self.max_line is not None
            and max(self._pending_size, 0, *map(len, lines)) > self.max_line
        ):
            return self._until_too_long(lines)
        return [event for line in lines if (event := self._process(line))]

    def _until_too_long(self, lines: list[str]) -> list[Event]:
        """处理到超长的那一行为止, 记下错误, 下一次 feed() 抛出。"""
        self._too_long = LineTooLong(f"一行超过了 {self.max_line} 个字符")
        self._pending, self._pending_size = [], 0  # 不再攒它
        events = []
        for line in lines:
            if len(line) > self.max_line:  # type: ignore[operator]
                break
            if event := self._process(line):
                events.append(event)
        return events

    def _process(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()  # 空行: 一条事件结束
        if line.startswith(":"):
            return None  # 注释, 比如保活
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]  # 只去掉一个前导空格
        if name == "event":
            self._event_type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None  # 其他字段名一律忽略

    def _dispatch(self) -> Event | None:
        self.last_event_id = self._id_buffer  # 空行到了: id 现在才算数。半条事件里的 id 不算
        data, event_type = self._data, self._event_type
        self._data, self._event_type = [], ""
        if not data:
            return None  # 没有 data 的事件不派发 (但其中的 id / retry 已经生效)
        return Event("\n".join(data), event_type or "message", self.last_event_id)


# --8<-- [end:decoder]


@dataclass
class Settings:
    delay: float = DEFAULT_DELAY
    keepalive: float = DEFAULT_KEEPALIVE


settings = Settings()
app = FastAPI(title="第 04 课: Server-Sent Events")


# --8<-- [start:event_log]
def message(n: int, count: int) -> tuple[str | None, str]:
    """第 n 条事件的 (类型, 文本)。内容只由编号决定, 所以断线后能从任何一条接着发。
    第 count + 1 条是终止事件 end: 它也有自己的 id。"""
    if n > count:
        return "end", "全部发送完毕"
    if n % 5 == 0:
        return "milestone", f"进度 {n}/{count}"
    if n % 3 == 0:
        return None, f"第 {n} 条消息\n(这一条有两行)"
    return None, f"第 {n} 条消息"


def resume_after(last_event_id: str | None, count: int) -> int:
    """客户端说它收到了哪一条? 看不懂的 id (乱码、超长、含 NUL) 一律当作从头开始。"""
    raw = last_event_id or ""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        return 0
    return min(int(raw), count + 1)


def after_last_event(
    count: int = Query(10, ge=1, le=MAX_COUNT),
    last_event_id: str | None = Query(None),  # 给不能设请求头的客户端
    last_event_id_header: str | None = Header(None, alias="Last-Event-ID"),
) -> int:
    """两个路由共用的依赖: 从哪一条之后接着发。
    客户端已经收到了 end, 却又来重连: 回 204 No Content —— HTML 标准里让 EventSource 停止重连的办法。"""
    after = resume_after(last_event_id_header or last_event_id, count)
    if after > count:
        raise HTTPException(204)  # FastAPI 在流开始之前回一个空的 204
    return after


# --8<-- [end:event_log]


# --8<-- [start:event_stream]
async def event_stream(after: int, count: int, drop_after: int | None) -> AsyncIterator[bytes]:
    for n in range(after + 1, count + 2):  # 最后一条 (count + 1) 是终止事件 end
        await asyncio.sleep(settings.delay)
        event, text = message(n, count)
        retry = RETRY_MS if n == after + 1 else None  # 每次连接的第一条带上重连间隔
        yield encode_event(text, event=event, id=str(n), retry=retry)
        if n == drop_after:
            return  # 模拟断线: 没有发 end 就结束了, 浏览器会带着 Last-Event-ID 重连


# --8<-- [end:event_stream]


# --8<-- [start:keepalive]
KEEPALIVE = encode_event(comment="keep-alive")


@dataclass
class _Failed:
    error: Exception  # source 抛出的异常, 交给读的一方再抛出


_END = object()  # source 结束了


async def with_keepalive(source: AsyncIterator[T], interval: float) -> AsyncIterator[T | bytes]:
    """source 每安静 interval 秒, 就插入一条注释 KEEPALIVE, 免得代理或浏览器以为连接死了。

    一个任务读 source, 放进只有一个格子的队列 (第 02 课的背压); 一个定时器在安静太久时往队列里放一条注释。
    不为每一条都开一个任务、设一个超时: 流很快的时候, 那是每一条都要付的钱。"""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
    last = loop.time()  # 上一次交出东西的时刻

    async def pump() -> None:
        try:
            async for item in source:
                await queue.put(item)
            await queue.put(_END)
        except Exception as exc:
            await queue.put(_Failed(exc))

    def tick() -> None:  # 到点了: 从上次交出东西起已经安静了 interval 秒吗?
        nonlocal timer
        due = last + interval
        if loop.time() >= due:
            if queue.empty():
                queue.put_nowait(KEEPALIVE)
            due = loop.time() + interval
        timer = loop.call_at(due, tick)

    worker = asyncio.create_task(pump())
    timer = loop.call_at(last + interval, tick)
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            last = loop.time()
            yield item
    finally:
        timer.cancel()
        worker.cancel()  # 客户端走了: 取消读 source 的任务, 上游的 finally 会执行
        await asyncio.gather(worker, return_exceptions=True)


# --8<-- [end:keepalive]


# --8<-- [start:sse_headers]
SSE_HEADERS = {
    "Cache-Control": "no-cache",  # 别让浏览器或代理缓存事件流
    "X-Accel-Buffering": "no",  # 告诉 nginx: 这个响应不要缓冲, 收到就转发
}


# --8<-- [end:sse_headers]


# --8<-- [start:route_handwritten]
@app.get("/events")
async def events(
    count: int = Query(10, ge=1, le=MAX_COUNT),
    drop_after: int | None = Query(None, ge=1),
    after: int = Depends(after_last_event),
) -> StreamingResponse:
    stream = with_keepalive(event_stream(after, count, drop_after), settings.keepalive)
    return StreamingResponse(stream, media_type="text/event-stream", headers=SSE_HEADERS)


# --8<-- [end:route_handwritten]


# --8<-- [start:route_fastapi]
@app.get("/fastapi/events", response_class=EventSourceResponse)
async def fastapi_events(
    count: int = Query(10, ge=1, le=MAX_COUNT),
    drop_after: int | None = Query(None, ge=1),
    after: int = Depends(after_last_event),
) -> AsyncIterable[ServerSentEvent]:
    for n in range(after + 1, count + 2):
        await asyncio.sleep(settings.delay)
        event, text = message(n, count)
        retry = RETRY_MS if n == after + 1 else None
        # raw_data: 原样发送文本。用 data= 的话, FastAPI 会先把它编码成 JSON 字符串 (带引号)。
        yield ServerSentEvent(raw_data=text, event=event, id=str(n), retry=retry)
        if n == drop_after:
            return


# --8<-- [end:route_fastapi]


@app.get("/", response_class=HTMLResponse)
async def page() -> str:
    return PAGE


# --8<-- [start:page_script]
PAGE_SCRIPT = """
const params = new URLSearchParams(location.search);
const impl = params.get("impl") === "fastapi" ? "/fastapi/events" : "/events";
const url = `${impl}?count=${params.get("count") || 10}&drop_after=${params.get("drop_after") || 4}`;
const log = document.getElementById("log");
const stats = {ids: [], opens: 0, errors: 0};
window.sseStats = stats;  // 测试从这里读结果

function show(text, kind) {
  const line = document.createElement("div");
  line.className = kind;
  line.textContent = text;  // 用 textContent, 服务器发来的文字永远不会被当成 HTML
  log.append(line);
}

const source = new EventSource(url);
source.onopen = () => { stats.opens += 1; show(`连接已打开 (第 ${stats.opens} 次)`, "info"); };
source.onerror = () => {
  stats.errors += 1;
  show("连接断开, 浏览器会自动重连 (请求头里带上 Last-Event-ID)", "warn");
};
for (const type of ["message", "milestone"]) {
  source.addEventListener(type, (e) => {
    stats.ids.push(Number(e.lastEventId));
    show(`id=${e.lastEventId} ${type}: ${e.data}`, type);
  });
}
source.addEventListener("end", (e) => {
  source.close();  // 第二层: 收到终止事件就关闭 (第一层是服务器对重连回 204)
  stats.done = true;
  show(`end: ${e.data}, 已关闭 EventSource`, "info");
});
"""
# --8<-- [end:page_script]

PAGE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>第 04 课: SSE</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }}
#log div {{ font-family: ui-monospace, monospace; white-space: pre-wrap; padding: .15rem 0; }}
.info {{ color: #2563eb; }} .warn {{ color: #b45309; }} .milestone {{ color: #15803d; }}
</style></head>
<body>
<h1>EventSource 实况</h1>
<p>URL 参数: <code>?count=10&amp;drop_after=4&amp;impl=fastapi</code>。
打开开发者工具 → Network → events → EventStream, 看每条事件和重连时的 Last-Event-ID。</p>
<div id="log"></div>
<script>{PAGE_SCRIPT}</script>
</body></html>"""


# --8<-- [start:serve]
class Server(uvicorn.Server):
    """uvicorn.Server, 再加一条 uvicorn 自己没有的规则: 请求头必须在 header_timeout 秒内发完。

    没有这条规则, 一个每隔几秒才发一个字节、永远发不完请求头的连接 (slowloris) 会被一直留着;
    几千个这样的连接就能占满服务器。uvicorn 的主循环每 0.1 秒调用一次 on_tick: 借它巡视一遍连接。"""

    def __init__(
        self,
        config: uvicorn.Config,
        header_timeout: float | None = None,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(config)
        self.header_timeout = header_timeout
        self.on_exit = on_exit  # 收到 Ctrl+C / SIGTERM 的那一刻调用 (第 08 课: 先停止接活, 再收尾)
        self.waiting: dict[Any, tuple[Any, float]] = {}  # 连接 → (它上一个请求, 从何时起在等请求头)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.on_exit and not self.should_exit:
            self.on_exit()
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.header_timeout and counter % 5 == 0:  # 每 0.5 秒看一次
            self.close_slow_connections(time.monotonic())
        return await super().on_tick(counter)

    def close_slow_connections(self, now: float) -> None:
        waiting = {}
        for conn in self.server_state.connections:
            # 这个连接正在处理 (或刚处理完) 的请求; 还没收到完整的请求头时是 None
            cycle = conn.cycle
            if cycle is not None and not cycle.response_complete:
                continue  # 正在读请求体或者正在回答: 不归这里管
            seen, since = self.waiting.get(conn, (cycle, now))
            since = since if seen is cycle else now  # 上一个请求刚结束: 重新计时
            if now - since > self.header_timeout:
                conn.transport.close()
            else:
                waiting[conn] = (cycle, since)
        self.waiting = waiting


def serve(
    app: Any,
    host: str,
    port: int,
    announce: Callable[[str], None],
    grace: float = 1,
    header_timeout: float | None = None,
    on_exit: Callable[[], None] | None = None,
) -> None:
    """在前台运行一个 ASGI 应用, 直到 Ctrl+C (第 04、05、06、08 课共用)。

    先自己绑定端口, 所以 port=0 时也能报出真实的端口; announce(url) 打印就绪行。
    grace: Ctrl+C 之后最多等几秒让进行中的请求结束, 然后取消它们。on_exit: 收到信号时立刻调用。"""
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=grace)
    server = Server(config, header_timeout, on_exit)
    sock = socket.create_server((host, port))
    try:  # 从打印就绪行起, Ctrl+C 随时可能到来
        announce(f"http://{host}:{sock.getsockname()[1]}")
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn 先优雅地关闭, 再把 Ctrl+C 交还给我们
        pass


# --8<-- [end:serve]


def announce(url: str) -> None:
    console.print(f"服务已启动: {url}")
    console.print(f"浏览器打开 {url}/ , 或者: curl -N -i {url}/events?count=5   (Ctrl+C 停止)")


# --8<-- [start:client]
def read_events(url: str, last_event_id: str, retry_ms: int) -> tuple[str, int, bool]:
    """连接一次, 边读边解码边打印。返回 (最后的 id, 重连间隔, 是否收到了 end)。"""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    headers = {"Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id  # 告诉服务器我收到了哪一条
    try:
        conn.request("GET", urlsplit(url)._replace(scheme="", netloc="").geturl(), headers=headers)
        response = conn.getresponse()
        if response.status == 204:  # 服务器说: 没有更多事件了。规范要求客户端就此停止重连
            console.print("服务器回了 204 No Content: 没有更多事件了, 不再重连。")
            return last_event_id, retry_ms, True
        if response.status != 200:
            raise ConnectionAbortedError(f"HTTP {response.status}: 不是事件流, 不重连")
        decoder = SSEDecoder(last_event_id)
        while chunk := response.read1():  # 网络给多少读多少, 不按行切
            for event in decoder.feed(chunk):
                console.print(f"  id={event.id:<3} {event.event:<9} {event.data!r}", markup=False)
                if event.event == "end":
                    console.print("收到 end 事件。")
                    return decoder.last_event_id, retry_ms, True
        return decoder.last_event_id, decoder.retry or retry_ms, False
    finally:
        conn.close()


# --8<-- [end:client]


def run_client(url: str) -> int:
    last_id, retry_ms, failures = "", RETRY_MS, 0
    while failures <= CLIENT_MAX_RETRIES:
        console.print(f"连接 {url}" + (f"  (Last-Event-ID: {last_id})" if last_id else ""))
        try:
            before = last_id
            last_id, retry_ms, finished = read_events(url, last_id, retry_ms)
        except ConnectionAbortedError as exc:
            console.print(str(exc))
            return 1
        except OSError as exc:
            console.print(f"连接失败: {exc}")
            finished = False
        if finished:
            console.print("流已经结束, 不再重连。")
            return 0
        failures = 0 if last_id != before else failures + 1  # 有进展就重新计数
        console.print(f"连接断开, 没有收到 end: {retry_ms} 毫秒后重连")
        time.sleep(retry_ms / 1000)
    console.print(f"连续 {CLIENT_MAX_RETRIES} 次重连都没有进展, 放弃。")
    return 1


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(description="第 04 课: Server-Sent Events")
    parser.add_argument("--host", default=HOST, help=f"监听地址 (默认 {HOST})")
    parser.add_argument(
        "--port", type=int, default=PORT, help=f"端口, 0 = 任意空闲端口 (默认 {PORT})"
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=DEFAULT_DELAY,
        help=f"两条事件之间的秒数 (默认 {DEFAULT_DELAY})",
    )
    parser.add_argument(
        "--keepalive",
        type=float,
        default=DEFAULT_KEEPALIVE,
        help=f"安静多少秒发一条保活注释 (默认 {DEFAULT_KEEPALIVE})",
    )
    parser.add_argument("--client", metavar="URL", help="作为客户端读取这个事件流, 断线自动续传")
    args = parser.parse_args(argv)

    if args.client:
        return run_client(args.client)
    settings.delay, settings.keepalive = args.delay, args.keepalive
    if args.host != HOST:
        console.print(f"注意: 监听 {args.host}, 同一网络里的其他机器也能访问。")
    serve(app, args.host, args.port, announce)
    console.print("服务器已停止。")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
