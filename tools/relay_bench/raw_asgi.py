"""上限: 不用框架的原始 ASGI 应用 + aiohttp 读上游, 只解析必要的 JSON, 直接写 SSE 字节。

没有校验、没有并发限制、没有合并、没有保活 —— 它不是可以上线的写法, 只是"这台机器上的 Python
relay 最省能省到哪里"的参照。协议和第 06 课相同: POST /chat → event: delta / done。
"""

import asyncio
import json
import os

import aiohttp

URL = os.environ.get("OPENAI_BASE_URL", "http://127.0.0.1:8100/v1") + "/chat/completions"
HEADERS = {"Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', 'bench')}"}
MODEL = os.environ.get("OPENAI_MODEL", "bench")
SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]  # fmt: skip
session: aiohttp.ClientSession | None = None  # 每个进程一个, 连接池反复使用


def sse(event: bytes, payload: dict) -> bytes:
    return b"event: " + event + b"\ndata: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"  # fmt: skip


async def relay(messages: list, send) -> None:
    request = {"model": MODEL, "messages": messages, "stream": True}
    async with session.post(URL, json=request, headers=HEADERS) as upstream:
        if upstream.status != 200:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b"upstream error"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
        finish_reason = None
        async for line in upstream.content:  # aiohttp 按行切好, 跨网络块的行也会拼起来
            if not line.startswith(b"data: "):
                continue
            if line.startswith(b"data: [DONE]"):
                break
            for choice in json.loads(line[6:])["choices"]:
                if text := choice["delta"].get("content"):
                    await send({"type": "http.response.body", "body": sse(b"delta", {"text": text}), "more_body": True})  # fmt: skip
                finish_reason = choice.get("finish_reason") or finish_reason
    await send({"type": "http.response.body", "body": sse(b"done", {"finish_reason": finish_reason})})  # fmt: skip


async def wait_disconnect(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def app(scope, receive, send) -> None:
    global session
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1000))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] != "/chat" or scope["method"] != "POST":
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    # 客户端走了就取消 relay: 离开 async with, aiohttp 关掉还没读完的上游连接。
    tasks = [asyncio.create_task(relay(json.loads(body)["messages"], send)),
             asyncio.create_task(wait_disconnect(receive))]  # fmt: skip
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if tasks[0] in done:
        tasks[0].result()
