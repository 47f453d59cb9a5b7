"""第 04 课的测试: 编码器与按规范的解码器、续传、保活、手写版与 fastapi.sse 一致、真实浏览器。"""

from __future__ import annotations

import asyncio
import http.client
import json
import random
import time
from urllib.parse import urlsplit

import pytest
from conftest import load_script, run_script, start_script
from fastapi.testclient import TestClient

sse = load_script("04")
Event = sse.Event


# ---------- 解码器: 每个用例都用三种切法喂进去, 结果必须一样 ----------


def feed_whole(data: bytes):
    decoder = sse.SSEDecoder()
    return decoder.feed(data), decoder


def feed_chunked(data: bytes):
    decoder = sse.SSEDecoder()
    rng = random.Random(len(data))  # 像网络一样, 在随机的位置切开
    events, i = [], 0
    while i < len(data):
        step = rng.randint(1, 7)
        events += decoder.feed(data[i : i + step])
        i += step
    return events, decoder


def feed_bytewise(data: bytes):
    decoder = sse.SSEDecoder()
    events = [e for i in range(len(data)) for e in decoder.feed(data[i : i + 1])]
    return events, decoder


FEEDS = pytest.mark.parametrize("feed", [feed_whole, feed_chunked, feed_bytewise])


@FEEDS
def test_spec_example_multiline_data(feed):
    events, _ = feed(b"data: YHOO\ndata: +2\ndata: 10\n\n")
    assert events == [Event("YHOO\n+2\n10")]


@FEEDS
def test_spec_example_ids_and_spaces(feed):
    stream = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n"
    events, _ = feed(stream)
    assert events == [Event("first event", id="1"), Event("second event"), Event(" third event")]


@FEEDS
def test_spec_example_empty_data_and_unfinished_event(feed):
    events, _ = feed(b"data\n\ndata\ndata\n\ndata:")
    assert events == [Event(""), Event("\n")]


@FEEDS
def test_spec_example_one_leading_space_only(feed):
    events, _ = feed(b"data:test\n\ndata: test\n\n")
    assert events == [Event("test"), Event("test")]


@FEEDS
@pytest.mark.parametrize("newline", [b"\n", b"\r", b"\r\n"])
def test_all_three_line_endings(feed, newline):
    stream = newline.join([b"event: add", b"data: 1", b"data: 2", b"", b"data: 3", b"", b""])
    events, _ = feed(stream)
    assert events == [Event("1\n2", "add"), Event("3")]


@FEEDS
def test_mixed_line_endings_and_cr_cr_is_two_lines(feed):
    events, _ = feed(b"data: a\r\ndata: b\r\rdata: c\n\r\n")
    assert events == [Event("a\nb"), Event("c")]


def test_crlf_split_across_chunks_is_one_line_ending():
    decoder = sse.SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == [], "\\r 之后的 \\n 与它同属一个 CRLF, 不是空行"
    assert decoder.feed(b"\n") == [Event("a")]
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\r") == [Event("b")], "\\r\\r 是两个换行"


@FEEDS
def test_leading_bom_is_stripped_once(feed):
    events, _ = feed(b"\xef\xbb\xbfdata: a\n\n")
    assert events == [Event("a")]
    events, _ = feed(b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n")
    assert events == [], "第二个 BOM 成了字段名的一部分, 这一行被忽略"


@FEEDS
def test_utf8_split_anywhere_and_invalid_bytes_become_replacement(feed):
    events, _ = feed("data: 流式🚀\n\n".encode() + b"data: \xff\xfe ok\n\n")
    assert events == [Event("流式🚀"), Event("\ufffd\ufffd ok")]


@FEEDS
def test_comments_unknown_fields_and_fields_without_colon(feed):
    events, _ = feed(b": ping\nfoo: bar\nretry\ndata\ndata: x\n\n")
    assert events == [Event("\nx")]


@FEEDS
@pytest.mark.parametrize(
    ("line", "expected"),
    [(b"retry: 1500", 1500), (b"retry:0", 0), (b"retry: 15a", None), (b"retry: ", None),
     (b"retry: -1", None), (b"retry: 1.5", None), ("retry: ١٢".encode(), None)],
)  # fmt: skip
def test_retry_only_if_all_ascii_digits(feed, line, expected):
    _, decoder = feed(line + b"\n\n")
    assert decoder.retry == expected


@FEEDS
def test_id_with_nul_is_ignored_and_id_carries_over(feed):
    stream = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\ndata: c\n\nid\ndata: d\n\n"
    events, decoder = feed(stream)
    assert [e.id for e in events] == ["1", "1", "1", ""]
    assert decoder.last_event_id == ""


@FEEDS
def test_block_without_data_dispatches_nothing_but_sets_id(feed):
    events, decoder = feed(b"id: 7\nevent: x\n\ndata: y\n\n")
    assert events == [Event("y", "message", "7")], "event 类型在派发 (或丢弃) 后重置"
    assert decoder.last_event_id == "7"


@FEEDS
def test_last_event_id_only_commits_when_an_event_is_dispatched(feed):
    """规范: id 先进 "last event ID buffer", 遇到空行派发时才成为 "last event ID string"。
    流在第二条事件的空行之前断了: 客户端只收到了第一条, 重连时必须带 1, 而不是 2。"""
    events, decoder = feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert events == [Event("a", id="1")]
    assert decoder.last_event_id == "1"


@FEEDS
def test_incomplete_event_at_end_of_stream_is_discarded(feed):
    events, _ = feed(b"data: complete\n\ndata: incomplete\n")
    assert events == [Event("complete")]


# ---------- 编码器 ----------


def test_encoder_wire_format():
    wire = sse.encode_event("第一行\n第二行", event="token", id="7", retry=1000)
    assert wire == "event: token\nid: 7\nretry: 1000\ndata: 第一行\ndata: 第二行\n\n".encode()
    assert sse.encode_event(comment="keep-alive") == b": keep-alive\n\n"
    assert sse.encode_event("") == b"data: \n\n"


@pytest.mark.parametrize(
    "kwargs",
    [{"event": "a\nb"}, {"event": "a\rb"}, {"id": "1\n"}, {"id": "1\x002"}, {"retry": -5}],
)
def test_encoder_refuses_values_that_would_break_the_framing(kwargs):
    with pytest.raises(ValueError):
        sse.encode_event("x", **kwargs)


PIECES = ["a", " ", "  ", ":", "\r", "\n", "\r\n", "\n\n", "中文", "🚀", "\0", "\ufeff",
          "data: x", "id: 9", "\t", "é", "event: end", "\u2028", "\x0b", "\r\r\n"]  # fmt: skip


def random_texts(seed: int) -> list[str]:
    rng = random.Random(seed)
    generated = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(300)]
    return ["", "\n", "\r", "\r\n\r\n", "data: [DONE]\n\n"] + generated


def test_encoder_and_decoder_round_trip_arbitrary_text():
    r"""SSE 的 data 是一行一行的: \r 和 \r\n 到达时都变成 \n (规范如此, 浏览器也一样)。
    除此之外一字不差, 而且文本永远无法伪造字段、提前结束事件或吞掉下一条。"""
    texts = random_texts(4)
    sent = [sse.Event(t, "token" if i % 2 else "message", str(i)) for i, t in enumerate(texts)]
    wire = b"".join(sse.encode_event(e.data, event=e.event, id=e.id) for e in sent)
    normalised = [sse.Event(sse.LINE_BREAK.sub("\n", e.data), e.event, e.id) for e in sent]
    for feed in (feed_whole, feed_chunked, feed_bytewise):
        received, _ = feed(wire)
        assert received == normalised, feed.__name__
    assert any("\r" in t for t in texts)


def test_json_data_round_trips_any_text_exactly():
    texts = random_texts(5)
    wire = b"".join(sse.encode_json_event({"text": t}, id=str(i)) for i, t in enumerate(texts))
    for feed in (feed_whole, feed_chunked, feed_bytewise):
        received, _ = feed(wire)
        assert [json.loads(e.data)["text"] for e in received] == texts, feed.__name__
        assert all("\n" not in e.data for e in received), "JSON 的 data 永远只有一行"


# ---------- 服务器 (进程内) ----------


@pytest.fixture
def client(monkeypatch):
    monkeypatch.setattr(sse.settings, "delay", 0)
    with TestClient(sse.app) as client:
        yield client


def get_events(client, url, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return sse.SSEDecoder().feed(response.content), response


def test_events_are_numbered_typed_and_end_with_a_terminal_event(client):
    events, response = get_events(client, "/events?count=6")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert [e.id for e in events] == ["1", "2", "3", "4", "5", "6", "7"], "end 也有自己的 id"
    assert events[4] == Event("进度 5/6", "milestone", "5")
    assert events[2].data == "第 3 条消息\n(这一条有两行)"
    assert events[-1].event == "end"
    assert b"retry: 1000" in response.content


@pytest.mark.parametrize("path", ["/events", "/fastapi/events"])
def test_resume_continues_right_after_last_event_id(client, path):
    events, _ = get_events(client, f"{path}?count=6", **{"Last-Event-ID": "3"})
    assert [e.id for e in events] == ["4", "5", "6", "7"]
    assert events[-1].event == "end"
    by_query, _ = get_events(client, f"{path}?count=6&last_event_id=3")
    assert by_query == events


@pytest.mark.parametrize(
    "bad_id", ["abc", "9" * 5000, "%00", "1%002", "-1", "%D9%A3", "3.0", " 3", "%0A3"]
)
def test_garbage_last_event_id_starts_from_the_beginning(client, bad_id):
    events, _ = get_events(client, f"/events?count=3&last_event_id={bad_id}")
    assert [e.id for e in events] == ["1", "2", "3", "4"]


@pytest.mark.parametrize("bad_id", ["abc", "9" * 5000, "-1", "3.0", "0x3"])
def test_garbage_last_event_id_header_is_ignored(client, bad_id):
    events, _ = get_events(client, "/events?count=3", **{"Last-Event-ID": bad_id})
    assert [e.id for e in events] == ["1", "2", "3", "4"]


def test_drop_after_drops_once_and_resume_has_no_gap_or_duplicate(client):
    first, _ = get_events(client, "/events?count=6&drop_after=2")
    assert [e.id for e in first] == ["1", "2"], "断线前没有 end 事件"
    second, _ = get_events(client, "/events?count=6&drop_after=2", **{"Last-Event-ID": "2"})
    assert [e.id for e in second] == ["3", "4", "5", "6", "7"]
    assert [e.data for e in first + second[:-1]] == [sse.message(n, 6)[1] for n in range(1, 7)]


@pytest.mark.parametrize("path", ["/events", "/fastapi/events"])
def test_a_client_that_already_has_the_end_gets_204(client, path):
    """HTML 标准里让 EventSource 停止重连的办法: 重连时回 204 No Content。"""
    response = client.get(f"{path}?count=6", headers={"Last-Event-ID": "7"})
    assert response.status_code == 204 and response.content == b""
    assert client.get(f"{path}?count=6&last_event_id=7").status_code == 204
    assert client.get(f"{path}?count=6", headers={"Last-Event-ID": "6"}).status_code == 200


def test_handwritten_and_fastapi_sse_send_the_same_events(client):
    for query in ["count=7", "count=7&drop_after=3", "count=7&last_event_id=5"]:
        mine, _ = get_events(client, f"/events?{query}")
        theirs, _ = get_events(client, f"/fastapi/events?{query}")
        assert mine == theirs, query


def test_bad_query_values_get_422(client):
    for query in ["count=0", "count=abc", f"count={sse.MAX_COUNT + 1}", "drop_after=0"]:
        assert client.get(f"/events?{query}").status_code == 422


def test_keepalive_comments_fill_the_silence_without_changing_events(client, monkeypatch):
    monkeypatch.setattr(sse.settings, "delay", 0.06)
    monkeypatch.setattr(sse.settings, "keepalive", 0.02)
    events, response = get_events(client, "/events?count=2")
    assert response.content.count(b": keep-alive\n\n") >= 2
    assert [e.id for e in events] == ["1", "2", "3"]


def test_keepalive_wrapper_closes_the_source_when_the_consumer_leaves():
    closed = []

    async def source():
        try:
            yield b"first"
            await asyncio.sleep(10)
            yield b"never"
        finally:
            closed.append(True)

    async def run():
        stream = sse.with_keepalive(source(), 0.01)
        got = [await anext(stream)]
        got.append(await anext(stream))  # 上游在睡觉: 这一条是保活注释
        await stream.aclose()
        return got

    assert asyncio.run(run()) == [b"first", sse.KEEPALIVE]
    assert closed == [True]


# ---------- 真实进程、真实端口 ----------


def test_first_event_arrives_long_before_the_last_is_sent():
    with start_script("04", "--delay", "0.15") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
        conn.request("GET", "/events?count=6")
        response = conn.getresponse()
        decoder, arrivals, start = sse.SSEDecoder(), [], time.perf_counter()
        while chunk := response.read1():
            arrivals += [(time.perf_counter() - start, e) for e in decoder.feed(chunk)]
        conn.close()
    assert [e.id for _, e in arrivals][:6] == ["1", "2", "3", "4", "5", "6"]
    first, last = arrivals[0][0], arrivals[-1][0]
    assert first < last / 3, f"第一条 {first:.2f}s, 最后一条 {last:.2f}s"


def test_ctrl_c_stops_the_server_cleanly():
    with start_script("04", "--delay", "0") as server:
        pass  # 离开 with 时, conftest 像 Ctrl+C 一样发送 SIGINT
    assert server.proc.returncode == 0
    assert "服务器已停止" in server.text()


def test_client_mode_resumes_after_a_drop():
    with start_script("04", "--delay", "0") as server:
        result = run_script("04", "--client", f"{server.url}/events?count=6&drop_after=2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Last-Event-ID: 2" in out
    ids = [line.split()[0] for line in out.splitlines() if line.startswith("  id=")]
    assert ids == [f"id={n}" for n in range(1, 8)]
    assert "收到 end 事件" in out


def test_client_mode_gives_up_on_a_non_stream_response():
    with start_script("04", "--delay", "0") as server:
        result = run_script("04", "--client", f"{server.url}/events?count=0")
    assert result.returncode == 1
    assert "HTTP 422" in result.stdout


# ---------- 真实浏览器 ----------


@pytest.mark.browser
@pytest.mark.parametrize("impl", ["handwritten", "fastapi"])
def test_browser_eventsource_reconnects_and_resumes_without_gaps(page, impl):
    with start_script("04", "--delay", "0.05") as server:
        page.goto(f"{server.url}/?count=8&drop_after=3&impl={impl}")
        page.wait_for_function("() => window.sseStats && window.sseStats.done", timeout=20_000)
        stats = page.evaluate("window.sseStats")
    assert stats["ids"] == list(range(1, 9)), "浏览器收到的 id 必须恰好是 1..8, 不重复不遗漏"
    assert stats["opens"] == 2 and stats["errors"] == 1, "应当断开一次、重连一次"
    assert urlsplit(server.url).hostname == "127.0.0.1"


PLAIN_EVENTSOURCE = """(url) => new Promise((resolve) => {
  // 一个最朴素的 EventSource: 不监听 end, 也从不调用 close()。它会不会永远重连下去?
  const source = new EventSource(url);
  const seen = {opens: 0, ids: []};
  source.onopen = () => { seen.opens += 1; };
  source.addEventListener("message", (e) => seen.ids.push(e.lastEventId));
  source.addEventListener("end", (e) => seen.ids.push("end:" + e.lastEventId));
  setTimeout(() => resolve({...seen, state: source.readyState}), 3500);  // 重连间隔 1 秒: 够它重连好几次
})"""


@pytest.mark.browser
@pytest.mark.parametrize("impl", ["/events", "/fastapi/events"])
def test_browser_plain_eventsource_stops_after_the_end(page, impl):
    with start_script("04", "--delay", "0.01") as server:
        page.goto(f"{server.url}/?count=3")
        seen = page.evaluate(PLAIN_EVENTSOURCE, f"{impl}?count=3")
    assert seen["ids"] == ["1", "2", "3", "end:4"], "每条事件只收到一次, end 也只有一次"
    assert seen["opens"] == 1 and seen["state"] == 2, (
        "收到 204 之后 EventSource 关闭 (CLOSED), 不再重连"
    )


def test_client_mode_stops_on_204():
    with start_script("04", "--delay", "0") as server:
        result = run_script("04", "--client", f"{server.url}/events?count=3&last_event_id=4")
    assert result.returncode == 0, result.stdout
    assert "204" in result.stdout
