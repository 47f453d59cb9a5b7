"""第 03 课: HTTP/1.1 分块传输编码 —— 在 socket 上亲手写一个流式响应

你将学到:
- 不知道总长度也能发响应: Transfer-Encoding: chunked 的每一个字节
  (十六进制长度 CRLF 数据 CRLF …… 最后 0 CRLF CRLF)
- 块的长度按字节算, 不按字符; 一个字符可能被切在两块之间, 所以要用增量解码器
- drain() 和 TCP_NODELAY 让每一块立刻上路; 坏请求回 400, 服务器照常服务别人
- 标准库 http.client 会替你拆掉分块 —— 手写一遍是为了看清它做了什么

运行:
    python examples/03_http_chunked.py                  # 服务器: http://127.0.0.1:8003
    curl -N --raw http://127.0.0.1:8003/                # 看原始的分块帧
    python examples/03_http_chunked.py --client         # 原始 socket 客户端, 逐块打印
    python examples/03_http_chunked.py --client --lib   # 用 http.client 读, 对照一下
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import http
import http.client
import re
import socket
import sys
import time
from collections.abc import Iterator
from typing import BinaryIO
from urllib.parse import urlsplit

from rich.console import Console

HOST = "127.0.0.1"  # 只监听本机; 想让局域网访问才用 --host 0.0.0.0
PORT = 8003
DEFAULT_DELAY = 0.5  # 两块之间停几秒, 让你看清它们是分开到达的
MAX_LINE = 8 * 1024  # 请求行/请求头每行最多几个字节, 超过回 431
MAX_HEADERS = 100  # 最多几行请求头
REQUEST_TIMEOUT = 10  # 读请求头最多等几秒, 防止慢速连接占着不走

# 回复被切成这些片; 最后一个表情故意被切在两块之间 (见 body_chunks)。
PIECES = [
    "你好！",
    "这段回复",
    "被切成",
    "很多块，",
    "每隔一会儿",
    "发一块。",
    "curl 和浏览器",
    "收到一块",
    "就显示一块 ",
]

console = Console(highlight=False, soft_wrap=True)  # 日志式输出: 长行不折断


def body_chunks() -> list[bytes]:
    """要发送的块 (字节)。块的边界不一定落在字符边界上: 🚀 的 4 个字节被分成 2 + 2。"""
    rocket = "🚀".encode()
    return [piece.encode() for piece in PIECES] + [rocket[:2], rocket[2:] + b"\n"]


# --8<-- [start:encode_chunk]
def encode_chunk(data: bytes) -> bytes:
    """一块 = 十六进制的字节数 + CRLF + 数据 + CRLF。"""
    return f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"  # 长度为 0 的块 + 空行: 响应体到此结束


# --8<-- [end:encode_chunk]


# --8<-- [start:response_head]
RESPONSE_HEAD = (
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Transfer-Encoding: chunked\r\n"  # 没有 Content-Length: 长度事先不知道
    "Cache-Control: no-cache\r\n"
    "X-Content-Type-Options: nosniff\r\n"  # 按 Content-Type 说的来, 不许浏览器"猜"成 HTML
    "Connection: close\r\n"
    "\r\n"
).encode("ascii")


# --8<-- [end:response_head]


# --8<-- [start:send_chunked]
async def send_chunked(writer: asyncio.StreamWriter, chunks: list[bytes], delay: float) -> None:
    writer.write(RESPONSE_HEAD)
    for i, chunk in enumerate(chunks):
        if i:
            await asyncio.sleep(delay)  # 模拟"下一块还没算出来"
        writer.write(encode_chunk(chunk))
        # write() 只是放进缓冲区; drain() 等数据交给操作系统, 缓冲区满了就在这里等。
        await writer.drain()
    writer.write(LAST_CHUNK)
    await writer.drain()


# --8<-- [end:send_chunked]


class BadRequest(Exception):
    """请求不合格: status 是要回给客户端的状态码。"""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --8<-- [start:read_request]
REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<target>/\S*) HTTP/1\.[01]")


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """一整行, 以 \\n 结尾。readline() 在连接关闭时返回不完整的一行 (甚至 b""): 那不是空行, 是请求没发完。"""
    line = await reader.readline()
    if not line.endswith(b"\n"):
        raise BadRequest(400, "请求不完整: 请求头还没有以空行结束, 连接就关闭了")
    return line


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str]:
    """读请求行和请求头, 返回 (方法, 路径)。不合格就抛 BadRequest。"""
    try:
        line = (await read_line(reader)).decode("latin-1").rstrip("\r\n")
        if not (m := REQUEST_LINE.fullmatch(line)):
            raise BadRequest(400, f"请求行格式错误: {line[:80]!r}")
        for _ in range(MAX_HEADERS):
            if (await read_line(reader)).strip() == b"":
                return m["method"], m["target"]
        raise BadRequest(431, "请求头太多")
    except ValueError as exc:  # StreamReader 的一行超过 MAX_LINE
        raise BadRequest(431, "请求头太大") from exc


# --8<-- [end:read_request]


async def send_error(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    """普通的 (非分块) 响应: 长度事先知道, 就用 Content-Length。"""
    body = f"{status} {message}\n".encode()
    head = (
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n"
        + ("Allow: GET\r\n" if status == 405 else "")
        + "Content-Type: text/plain; charset=utf-8\r\n"
        "X-Content-Type-Options: nosniff\r\n"  # 正文里有请求的路径: 绝不能被当成 HTML
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(head.encode("ascii") + body)
    await writer.drain()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """处理一个连接。这里出的任何错只影响这一个客户端。"""
    host, port = writer.get_extra_info("peername")[:2]
    peer = f"{host}:{port}"
    # --8<-- [start:nodelay]
    sock = writer.get_extra_info("socket")
    # 关掉 Nagle 算法: 小块数据立刻发出, 不等凑满一个包。asyncio 默认已经这样做, 写出来是为了看见。
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # --8<-- [end:nodelay]
    try:
        method, target = await asyncio.wait_for(read_request(reader), REQUEST_TIMEOUT)
        if method != "GET":
            raise BadRequest(405, f"只支持 GET, 收到 {method}")
        if urlsplit(target).path != "/":
            raise BadRequest(404, f"没有这个路径: {target}")
        console.print(f"{peer} GET {target} -> 200, 开始分块发送")
        await send_chunked(writer, body_chunks(), delay)
        console.print(f"{peer} 发送完毕")
    except BadRequest as exc:
        console.print(f"{peer} -> {exc.status} {exc}")
        await send_error(writer, exc.status, str(exc))
    except asyncio.TimeoutError:
        await send_error(writer, 408, "请求头迟迟没有发完")
    except (ConnectionError, asyncio.IncompleteReadError):
        console.print(f"{peer} 客户端中途断开")
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def serve(host: str, port: int, delay: float) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, delay), host, port, limit=MAX_LINE
    )
    port = server.sockets[0].getsockname()[1]
    console.print(f"服务已启动: http://{host}:{port}")
    console.print(f"试试: curl -N --raw http://{host}:{port}/   (Ctrl+C 停止)")
    async with server:
        await server.serve_forever()


# --8<-- [start:read_chunks]
def read_head(stream: BinaryIO) -> tuple[str, dict[str, str]]:
    """读状态行和响应头, 直到空行。"""
    status = stream.readline().decode("latin-1").rstrip("\r\n")
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def read_chunks(stream: BinaryIO) -> Iterator[tuple[bytes, bytes]]:
    """一块一块地读分块编码的响应体, 产出 (长度行, 数据)。"""
    while True:
        size_line = stream.readline()
        if not size_line.endswith(b"\n"):
            raise ConnectionError("连接在响应体中途断开了")
        size = int(size_line.split(b";")[0], 16)  # ";" 后面可以跟扩展参数, 忽略
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass  # 最后一块之后可能有 trailer 头, 读到空行为止
            return
        data = stream.read(size)
        if len(data) != size or stream.read(2) != b"\r\n":
            raise ValueError("块的长度和数据对不上")
        yield size_line, data


# --8<-- [end:read_chunks]


def open_raw(url: str) -> tuple[socket.socket, BinaryIO]:
    """用原始 socket 发一个 GET 请求, 返回 socket 和它的只读文件对象。"""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=30)
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(request.encode("ascii"))
    return sock, sock.makefile("rb")


def run_raw_client(url: str) -> int:
    start = time.perf_counter()
    sock, stream = open_raw(url)
    with sock, stream:
        status, headers = read_head(stream)
        console.print(f"状态行: {status}")
        console.print(f"Transfer-Encoding: {headers.get('transfer-encoding', '(无)')}")
        console.print(f"Content-Length: {headers.get('content-length', '(无)')}")
        # --8<-- [start:incremental_decode]
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        raw = []
        for n, (size_line, data) in enumerate(read_chunks(stream), start=1):
            raw.append(data)
            text = decoder.decode(data)  # 不完整的字符先留在解码器里, 等下一块补齐
            # --8<-- [end:incremental_decode]
            shown = repr(text) if text else f"(半个字符 {data.hex(' ')}, 先留在解码器里)"
            console.print(
                f"{time.perf_counter() - start:6.2f}s  第 {n:2} 块  长度行 {size_line!r:10}"
                f" = {len(data):2} 字节  解码: {shown}",
                markup=False,
            )
        console.print("收到长度为 0 的块: 响应体完整结束。")
    console.print(f"完整正文: {b''.join(raw).decode()!r}", markup=False)
    naive = "".join(d.decode("utf-8", errors="replace") for d in raw)
    console.print(f"错误示范, 每块单独 decode: {naive!r}  <- 🚀 变成了乱码", markup=False)
    return 0


# --8<-- [start:library_client]
def read_with_http_client(url: str) -> Iterator[bytes]:
    """标准库的做法: http.client 认得 chunked, 交给你的是去掉帧以后的数据。"""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        while data := response.read1():  # read1: 有多少给多少, 不等凑满
            yield data
    finally:
        conn.close()


# --8<-- [end:library_client]


def run_library_client(url: str) -> int:
    start = time.perf_counter()
    decoder = codecs.getincrementaldecoder("utf-8")()
    for data in read_with_http_client(url):
        console.print(
            f"{time.perf_counter() - start:6.2f}s  {len(data):2} 字节  {decoder.decode(data)!r}",
            markup=False,
        )
    console.print("http.client 已经拆掉了长度行和 CRLF, 你只看到数据本身。")
    return 0


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(description="第 03 课: 手写 HTTP/1.1 分块传输")
    parser.add_argument("--host", default=HOST, help=f"监听地址 (默认 {HOST})")
    parser.add_argument(
        "--port", type=int, default=PORT, help=f"端口, 0 = 任意空闲端口 (默认 {PORT})"
    )
    parser.add_argument(
        "--delay", type=float, default=DEFAULT_DELAY, help=f"两块之间的秒数 (默认 {DEFAULT_DELAY})"
    )
    parser.add_argument(
        "--client",
        nargs="?",
        const=f"http://{HOST}:{PORT}/",
        metavar="URL",
        help=f"作为客户端读取 URL (默认 http://{HOST}:{PORT}/)",
    )
    parser.add_argument("--lib", action="store_true", help="客户端改用标准库 http.client")
    args = parser.parse_args(argv)

    if args.client:
        try:
            return run_library_client(args.client) if args.lib else run_raw_client(args.client)
        except ConnectionRefusedError:
            console.print(
                f"连不上 {args.client}: 先在另一个终端运行 python examples/03_http_chunked.py"
            )
            return 1
    if args.host != HOST:
        console.print(f"注意: 监听 {args.host}, 同一网络里的其他机器也能访问。")
    try:
        asyncio.run(serve(args.host, args.port, args.delay))
    except KeyboardInterrupt:
        console.print("服务器已停止。")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
