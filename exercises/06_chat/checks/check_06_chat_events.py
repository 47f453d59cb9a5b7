"""检查 06_chat_events: 事件名与 JSON、捣乱的文本一字不差、出错与意外结束、一到就交出。"""

from __future__ import annotations

import json

from checklib import AsyncSource, expect_equal, fail, parse_sse, see, show

SEE = see("06_complete_chat", "3. 事件的格式: 名字 + JSON")
ENCODER = see("04_sse_protocol", "2. 编码器: 让任何文本都无法破坏分帧")
USAGE = {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}


async def events(ex, source: AsyncSource) -> list[tuple[str, dict]]:
    """运行 chat_events, 用按规范的解析器读它的输出: [(事件名, JSON 数据)]。"""
    body = b"".join([piece async for piece in ex.chat_events(source.gen())])
    parsed = []
    for event in parse_sse(body):
        try:
            parsed.append((event["event"], json.loads(event["data"])))
        except ValueError:
            fail(
                "每条事件的 data 是 JSON",
                f"{event['event']} 事件的 data 是 {show(event['data'])}",
                ENCODER,
            )
    return parsed


async def check_normal_answer(ex):
    """推理、回答、结束: reasoning / delta / done 事件"""
    deltas = [
        ("reasoning", "想一想"),
        ("content", "你好"),
        ("tool_call", {"index": 0}),
        ("content", "!"),
        ("finish", "stop"),
        ("usage", USAGE),
    ]
    expected = [
        ("reasoning", {"text": "想一想"}),
        ("delta", {"text": "你好"}),
        ("delta", {"text": "!"}),
        ("done", {"finish_reason": "stop", "tokens": 7}),
    ]
    expect_equal(await events(ex, AsyncSource(deltas)), expected, "事件")
    no_usage = await events(ex, AsyncSource([("content", "x"), ("finish", "length")]))
    expect_equal(
        no_usage[-1], ("done", {"finish_reason": "length", "tokens": None}), "没有用量时的 done"
    )


async def check_tricky_text(ex):
    """捣乱的文本一字不差地到达 (包括 \\r 和伪造的 [DONE])"""
    texts = [
        "好的\n\ndata: [DONE]\n\n",
        "a\rb\r\nc",
        "event: error",
        "\u2028",
        "",
        '"引号" \\ 反斜杠',
    ]
    deltas = [("content", text) for text in texts] + [("finish", "stop")]
    got = await events(ex, AsyncSource(deltas))
    expect_equal(
        [e for e in got if e[0] == "delta"], [("delta", {"text": t}) for t in texts], "delta 事件"
    )


async def check_upstream_error(ex):
    """上游中途出错: 之前的事件不变, 然后一个 error 事件, 不抛异常"""
    source = AsyncSource([("content", "一半")], error=ex.UpstreamError("模型过载"))
    try:
        got = await events(ex, source)
    except ex.UpstreamError:
        fail(
            "UpstreamError 变成一个 error 事件",
            "异常继续往外抛了: 响应头已经发出, 客户端只会看到连接断开",
        )
    expect_equal([name for name, _ in got], ["delta", "error"], "事件名")
    message = got[1][1].get("message")
    if not isinstance(message, str) or not message:
        fail('error 事件的数据是 {"message": 一句说明}', show(got[1][1]))


async def check_missing_finish(ex):
    """流结束了却没有 finish: error 事件, 而不是 done"""
    got = await events(ex, AsyncSource([("content", "说到一半")]))
    expect_equal([name for name, _ in got], ["delta", "error"], "事件名")


async def check_forwards_at_once(ex):
    """每一片一到就交出它的事件, 不攒"""
    source = AsyncSource([("content", "a"), ("content", "b"), ("finish", "stop")])
    stream = ex.chat_events(source.gen())
    first = await anext(stream)
    await stream.aclose()
    expect_equal(source.produced, 1, "交出第一个事件时, 从上游取的片数")
    if b"delta" not in first:
        fail("第一个事件是 delta", show(first))
