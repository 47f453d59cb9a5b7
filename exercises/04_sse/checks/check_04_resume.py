"""检查 04_resume: 新客户端、认得的编号、太旧太新、各种看起来像数字的假 id。"""

from __future__ import annotations

from checklib import expect_equal, fail, parse_sse, see, show

SEE = see("04_sse_protocol", "4. 服务器: 有编号的事件, 以及续传")
HISTORY = [(n, f"第 {n} 条" + ("\n(两行)" if n % 3 == 0 else "")) for n in range(11, 21)]
RESET = "reset"


def sent(ex, last_event_id):
    """resume 交出的事件: [(类型, id 或 None, data)]"""
    body = b"".join(ex.resume(HISTORY, last_event_id))
    return [(e["event"], e.get("id"), e["data"]) for e in parse_sse(body)]


def expected(first_id: int, reset: bool = False):
    events = [(RESET, None, "从头开始")] if reset else []
    return events + [("message", str(n), text) for n, text in HISTORY if n >= first_id]


def expect_sent(ex, last_event_id, first_id: int, reset: bool, why: str) -> None:
    got = sent(ex, last_event_id)
    want = expected(first_id, reset)
    if reset and got[:1] and got[0][0] == RESET:
        got[0] = want[0]  # reset 事件里写什么都可以, 只看类型
    if got != want:
        ids = [event_id or event for event, event_id, _ in got]
        wanted = [event_id or event for event, event_id, _ in want]
        fail(f"Last-Event-ID={show(last_event_id)} ({why}): 发出 {wanted}", f"发出了 {ids}")


def check_new_client(ex):
    """没有 Last-Event-ID: 发全部事件, 每条带 id, 多行文本完好"""
    expect_sent(ex, None, 11, False, "新客户端")
    expect_sent(ex, "", 11, False, "空的 Last-Event-ID 也是新客户端")
    expect_equal(sent(ex, None)[1][2], "第 12 条\n(两行)", "第 12 条的 data")


def check_known_ids(ex):
    """认得的编号: 从下一条接着发"""
    expect_sent(ex, "15", 16, False, "收到了第 15 条")
    expect_sent(ex, "10", 11, False, "收到了 history 第一条的前一条: 没有缺")
    expect_sent(ex, "20", 21, False, "已经是最新的: 什么都不用发")


def check_unknown_ids_reset(ex):
    """太旧或太新的编号: 先发 reset, 再发全部"""
    expect_sent(ex, "3", 11, True, "太旧: 第 4~10 条已经丢了")
    expect_sent(ex, "25", 11, True, "比最后一条还新: 不是这台服务器发的")


def check_fake_numbers_reset(ex):
    """看起来像数字的假 id (全角、阿拉伯数字、空格、符号): 也是 reset, 而且不能出错"""
    for fake in [
        "abc",
        "-1",
        "+15",
        " 15",
        "15 ",
        "1_5",
        "1.5",
        "١٥",
        "１５",
        "15\x00",
        "9" * 40,
        "9" * 5000,
    ]:
        try:
            expect_sent(ex, fake, 11, True, "认不出的 id")
        except (ValueError, OverflowError, IndexError) as exc:
            fail(
                f"Last-Event-ID={show(fake)}: 发出 reset 和全部事件", f"{type(exc).__name__}: {exc}"
            )
