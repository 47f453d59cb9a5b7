"""检查 04_sse_encoder: 用按规范的解析器读你的输出, 各种捣乱的文本都必须还原成一条事件。"""

from __future__ import annotations

from checklib import expect_equal, fail, parse_sse, see, show

SEE = see("04_sse_protocol", "2. 编码器: 让任何文本都无法破坏分帧")
TRICKY = [
    "你好",
    "",
    "好的\n\ndata: [DONE]\n\n",
    "第一行\r\n第二行\r第三行",
    "id: 99\nevent: evil\nretry: 0",
    ": 这不是注释",
    "data: 套娃",
    "结尾有换行\n",
    "\r",
    " 前导空格",
    "🚀 emoji 和 \t 制表符",
]
NOT_BREAKS = ["a\u2028b", "a\u2029b", "a\x85b", "a\x0bb", "a\x0cb", "a\x1cb"]


def roundtrip(ex, text: str, **fields: str) -> dict[str, str]:
    body = ex.encode_event(text, **fields)
    if not isinstance(body, bytes):
        fail("encode_event 返回 bytes", f"返回了 {type(body).__name__}: {show(body)}")
    events = parse_sse(body)
    if len(events) != 1:
        fail(
            f"encode_event({show(text)}) 被解析成正好一条事件",
            f"解析出 {len(events)} 条: {show(events)}\n你的输出: {show(body)}",
        )
    return events[0]


def check_simple(ex):
    """一行文本: 一条事件, data 和原文一样"""
    event = roundtrip(ex, "你好")
    expect_equal(event["data"], "你好", "客户端收到的 data")


def check_tricky_text(ex):
    """捣乱的文本 (空行、伪造的字段、三种换行) 都还原成一条事件"""
    for text in TRICKY:
        event = roundtrip(ex, text)
        expected = text.replace("\r\n", "\n").replace("\r", "\n")  # 规范: 客户端看到的换行都是 \n
        expect_equal(event["data"], expected, f"encode_event({show(text)}) 之后客户端收到的 data")
        expect_equal(event["event"], "message", f"encode_event({show(text)}) 的事件类型")
        if "id" in event:
            fail("文本伪造不出 id 字段", f"客户端读到了 id={event['id']!r}")


def check_not_line_breaks(ex):
    """U+2028 等字符不是 SSE 的换行, 原样留在 data 里"""
    for text in NOT_BREAKS:
        event = roundtrip(ex, text)
        if event["data"] != text:
            fail(
                f"{show(text)} 原样到达 (SSE 只认 \\r\\n、\\r、\\n)",
                f"客户端收到 {show(event['data'])}: 是不是用了 str.splitlines()?",
            )


def check_event_and_id(ex):
    """event 和 id 字段"""
    event = roundtrip(ex, "进度 5/10", event="milestone", id="5")
    expect_equal(event, {"data": "进度 5/10", "event": "milestone", "id": "5"}, "客户端收到的事件")
    event = roundtrip(ex, "x", id="\u2028")
    expect_equal(event.get("id"), "\u2028", "id='\\u2028' (不是换行, 允许) 时客户端收到的 id")


def check_rejects_bad_fields(ex):
    """event 或 id 里有换行、id 里有 NUL: ValueError"""
    for fields in [
        {"event": "a\nb"},
        {"event": "a\rdata: x"},
        {"id": "1\n"},
        {"id": "1\r\n2"},
        {"id": "1\x002"},
    ]:
        try:
            ex.encode_event("x", **fields)
        except ValueError:
            continue
        fail(f"encode_event('x', **{fields!r}) 抛 ValueError", "没有报错")
