"""检查 04_sse_decoder: 每个用例都用三种切法喂 (一次全部、一个字节一个字节、随机切块), 结果必须一样。"""

from __future__ import annotations

from checklib import expect_equal, see, splits

SEE = see("04_sse_protocol", "3. 解码器: 按规范, 不管字节怎么切")
RESUME = see("04_sse_protocol", "4. 服务器: 有编号的事件, 以及续传")


def decode(ex, data: bytes, last_event_id: str = ""):
    """三种切法各喂一遍; 三种的事件和 last_event_id 必须一样。返回 (事件, 解码器)。"""
    results = []
    for how, pieces in splits(data):
        decoder = ex.SSEDecoder(last_event_id)
        events = [event for piece in pieces for event in decoder.feed(piece)]
        results.append((how, events, decoder))
    _, events, decoder = results[0]
    for how, other_events, other in results[1:]:
        expect_equal(other_events, events, f"{how}得到的事件 (应该和一次全部喂入时一样)")
        expect_equal(other.last_event_id, decoder.last_event_id, f"{how}之后的 last_event_id")
    return events, decoder


def check_basic(ex):
    """一条事件、多行 data、事件类型"""
    Event = ex.Event
    events, _ = decode(ex, b"data: YHOO\ndata: +2\ndata: 10\n\n")
    expect_equal(events, [Event("YHOO\n+2\n10")], "事件")
    events, _ = decode(ex, "event: milestone\ndata: 进度 5/10\n\ndata: 下一条\n\n".encode())
    expect_equal(events, [Event("进度 5/10", "milestone"), Event("下一条")], "事件")


def check_line_breaks(ex):
    """\\r\\n、\\r、\\n 都是换行 (\\r\\n 被切在两段之间也不会多出一个空行)"""
    events, _ = decode(ex, b"data: a\r\rdata: b\r\n\r\ndata: c\n\r\n")
    expect_equal(events, [ex.Event("a"), ex.Event("b"), ex.Event("c")], "事件")


def check_fields(ex):
    """一个空格、没有冒号的行、注释、未知字段、名字区分大小写"""
    Event = ex.Event
    stream = b": comment\ndata:  two spaces\nunknown: x\nData: ignored\n\ndata\n\ndata:x\n\n"
    events, _ = decode(ex, stream)
    expect_equal(events, [Event(" two spaces"), Event(""), Event("x")], "事件")
    events, _ = decode(ex, b"event: ping\n\ndata: after\n\n")
    expect_equal(events, [Event("after")], "没有 data 的事件不派发; 它的类型也不会留给下一条")


def check_utf8_and_bom(ex):
    """切开的汉字、坏字节变成 U+FFFD、开头的 BOM 只去一个"""
    Event = ex.Event
    events, _ = decode(ex, "data: 你好🚀\n\n".encode())
    expect_equal(events, [Event("你好🚀")], "事件")
    events, _ = decode(ex, b"data: \xff\xfe!\n\n")
    expect_equal(events, [Event("\ufffd\ufffd!")], "坏字节的事件")
    events, _ = decode(ex, "\ufeffdata: a\n\n\ufeffdata: b\n\n".encode())
    expect_equal(events, [Event("a")], "开头有 BOM, 第二条以 BOM 开头 (名字变成了 '\\ufeffdata')")


def check_retry(ex):
    """retry 只接受全是 ASCII 数字的值"""
    _, decoder = decode(ex, b"retry: 3000\n\n")
    expect_equal(decoder.retry, 3000, "retry")
    _, decoder = decode(ex, "retry: 3000\nretry: 1.5\nretry: ١٢\nretry: -1\n\n".encode())
    expect_equal(decoder.retry, 3000, "后面那些不合格的 retry 被忽略之后的 retry")


def check_ids_carry_over(ex):
    """id 延续到后面的事件; 含 NUL 的 id 被忽略; 空的 id 把它清空"""
    Event = ex.Event
    stream = b"id: 1\ndata: a\n\ndata: b\n\nid: 2\x003\ndata: c\n\nid\ndata: d\n\n"
    events, _ = decode(ex, stream)
    expected = [Event("a", id="1"), Event("b", id="1"), Event("c", id="1"), Event("d", id="")]
    expect_equal(events, expected, "事件")
    events, _ = decode(ex, b"data: x\n\n", last_event_id="41")
    expect_equal(events, [Event("x", id="41")], "SSEDecoder('41') 之后的第一条事件")


def check_id_commits_on_dispatch(ex):
    """id 在派发时才生效: 断在事件中间时, last_event_id 还是上一条的"""
    _, decoder = decode(ex, "id: 6\ndata: 第六条\n\nid: 7\ndata: 第七条的前半\n".encode())
    expect_equal(decoder.last_event_id, "6", "第 7 条还没结束时的 last_event_id", RESUME)
    events = decoder.feed(b"\n")
    expect_equal(events, [ex.Event("第七条的前半", id="7")], "空行到达之后的事件")
    expect_equal(decoder.last_event_id, "7", "第 7 条派发之后的 last_event_id")


def check_id_without_data(ex):
    """只有 id 没有 data 的事件: 不派发, 但 id 在空行时生效"""
    events, decoder = decode(ex, b"data: a\nid: 1\n\nid: 8\n\n")
    expect_equal(events, [ex.Event("a", id="1")], "事件")
    expect_equal(decoder.last_event_id, "8", "last_event_id")
