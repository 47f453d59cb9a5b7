"""一个故意不守规矩的"模型服务", 只给测试用: 在原始 socket 上写 HTTP, 想发什么字节就发什么字节。

POST /v1/chat/completions 的最后一条用户消息就是剧本的名字 (见 SCRIPTS), 例如 "not-json":
先发几个正常的 chunk (GOOD 拼起来), 然后按剧本出事。GET /stats 返回计数器。

    python tests/bad_upstream.py --port 0      # 打印 "服务已启动: http://127.0.0.1:端口"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable

GOOD = ["部分", "回答", "已经", "送到"]  # 每个剧本都先发这几个 token
stats = {"requests": 0, "gave_up_waiting": 0, "closed_mid_stream": 0}


def chunk(delta: dict | None = None, finish: str | None = None, **extra) -> bytes:
    body = {"id": "bad", "object": "chat.completion.chunk", "created": 0, "model": "bad",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **extra}  # fmt: skip
    return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"


def good() -> list[bytes]:
    return [chunk({"role": "assistant", "content": ""})] + [chunk({"content": t}) for t in GOOD]


def finish_and_done(usage: dict | None = None) -> list[bytes]:
    tail = [chunk(finish="stop")]
    if usage is not None:
        tail.append(b"data: " + json.dumps({"choices": [], "usage": usage}).encode() + b"\n\n")
    return tail + [b"data: [DONE]\n\n"]


def raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


# 剧本: 名字 → 发送的 SSE 片段 (每片一个 HTTP 块)。None 表示特殊行为, 见 serve_script。
SCRIPTS: dict[str, Callable[[], list[bytes]] | None] = {
    "not-json": lambda: good() + [b"data: {not json\n\n"],
    "data-123": lambda: good() + [b"data: 123\n\n"],
    "data-list": lambda: good() + [b"data: []\n\n"],
    "choices-string": lambda: good() + [b'data: {"choices": "x"}\n\n'],
    "content-number": lambda: good() + [chunk({"content": 42})],
    "content-list": lambda: good() + [chunk({"content": ["a"]})],
    "lone-surrogate": lambda: (
        good() + [raw('data: {"choices":[{"delta":{"content":"\\ud800"}}]}\n\n')]
    ),
    "usage-without-tokens": lambda: good() + finish_and_done({"prompt_tokens": 3}),
    "no-finish": lambda: good(),  # 干净地结束, 却没有 finish_reason 也没有 [DONE]
    "error-with-key": lambda: (
        good()
        + [
            b'data: {"error": {"message": "Incorrect API key provided: sk-live-SECRET1234", "type": "invalid_request_error"}}\n\n'
        ]
    ),
    # 一个"别人的"模型: 调用 get_weather 时用的参数名是 location, 不是我们工具定义里的 city
    "tool-location": lambda: (
        [
            chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_other",
                            "type": "function",
                            "function": {
                                "name": "get_weather",
                                "arguments": '{"location": "Paris"}',
                            },
                        }
                    ],
                }
            )
        ]
        + [chunk(finish="tool_calls"), b"data: [DONE]\n\n"]
    ),
    "tool-result": lambda: [chunk({"content": f"工具说: {TOOL_RESULTS[-1]}"})] + finish_and_done(),
    "long-answer": lambda: [chunk({"content": "长" * 1000})] * 40 + finish_and_done(),
    "line-separators": lambda: (
        [chunk({"content": "a\u2028b\u2029c\u0085d\x0be\x0cf\x1cg"})] + finish_and_done()
    ),
    "big-line": None,  # 几个好的 chunk, 然后一行 50 MB
    "huge-answer": None,  # 飞快地发一个 20 MB 的回答 (慢读者的测试)
    "hang-headers": None,  # 读完请求, 永远不回响应头
    "silent": None,  # 回了响应头和几个 chunk, 然后一声不吭
    "slow": None,  # 每 0.05 秒一个 token, 永远不结束 (测试会杀掉这个进程)
}


async def read_request(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next((int(v) for k, _, v in (ln.partition(":") for ln in lines) if k.lower() == "content-length"), 0)  # fmt: skip
    return lines[0], await reader.readexactly(length)


def script_name(body: bytes) -> str:
    """最后一条消息的内容就是剧本名; 工具的结果回来了 (role: tool), 剧本是 "tool-result"。"""
    try:
        last = json.loads(body)["messages"][-1]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    if last.get("role") == "tool":
        TOOL_RESULTS.append(last.get("content", ""))
        return "tool-result"
    return last.get("content", "")


TOOL_RESULTS: list[str] = []  # 收到的工具结果, 最新的在最后


async def send_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(b"%x\r\n%s\r\n" % (len(data), data))  # 一个 HTTP/1.1 分块 (第 03 课)
    await writer.drain()


async def serve_script(
    name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    if name == "hang-headers":
        await reader.read(1)  # 一直不回答; 对方断开时这里读到 EOF
        stats["gave_up_waiting"] += 1
        return
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    for piece in good() if SCRIPTS.get(name) is None else SCRIPTS[name]():  # type: ignore[misc]
        await send_chunk(writer, piece)
    if name == "big-line":
        await send_chunk(writer, b"data: " + b"x" * (1 << 20))  # 一行 50 MB, 分 50 次发, 没有换行
        for _ in range(49):
            await send_chunk(writer, b"x" * (1 << 20))
    elif name == "huge-answer":
        piece = chunk({"content": "流" * 1000})
        for _ in range(7000):  # 约 21 MB
            await send_chunk(writer, piece)
        for piece in finish_and_done():
            await send_chunk(writer, piece)
    elif name == "silent":
        await reader.read(1)  # 一声不吭, 直到对方断开
        stats["closed_mid_stream"] += 1
        return
    elif name == "slow":
        while True:
            await asyncio.sleep(0.05)
            await send_chunk(writer, chunk({"content": "慢"}))
    writer.write(b"0\r\n\r\n")  # 分块传输的结尾: 响应体"正常"地结束了 (内容却不完整)
    await writer.drain()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    name = ""
    try:
        request_line, body = await read_request(reader)
        if request_line.startswith("GET /stats"):
            data = json.dumps(stats).encode()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
            return
        stats["requests"] += 1
        name = script_name(body)
        await serve_script(name, reader, writer)
    except (ConnectionError, asyncio.IncompleteReadError):
        stats["closed_mid_stream"] += 1
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"服务已启动: http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="测试用的坏上游")
    parser.add_argument("--port", type=int, default=0, help="端口, 0 = 任意 (默认 0)")
    try:
        asyncio.run(main(parser.parse_args().port))
    except KeyboardInterrupt:
        sys.exit(0)
