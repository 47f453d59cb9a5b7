"""第 06 课的测试: 真实的 uvicorn 进程 (模拟模式) 上的 API, 以及无头 Chromium 里的页面。只访问 127.0.0.1。"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import signal
import time

import httpx
import openai_sim
import pytest
from chat_helpers import (
    cancelled,
    chat_server,
    post_chat,
    read_events,
    recording_server,
    send,
    texts,
    user,
    wait_done,
    wait_for_count,
)
from conftest import ROOT, load_script, start_script, unused_port

chat = load_script("06")
sse = load_script("04")
TRICKY = "\n\ndata: [DONE]\n\n<script>alert(1)</script>\r\n第二段\r末尾 🚀"
REASONING = openai_sim.REASONING.format(question="你好")
ANSWER = openai_sim.ANSWER.format(question="你好")


# ---------- API: 真实进程, 真实端口 ----------


@pytest.fixture(scope="module")
def server():
    with chat_server() as running:
        yield running


def test_event_order_and_json_shapes(server):
    app, _ = server
    response, events = post_chat(app.url, user("你好"))
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    names = [e.event for e in events]
    assert names[0] == "reasoning" and names[-1] == "done"
    assert names == sorted(names, key=["reasoning", "delta", "done"].index), "思考 → 回答 → done"
    assert texts(events, "reasoning") == REASONING
    assert texts(events, "delta") == ANSWER
    done = json.loads(events[-1].data)
    assert done["finish_reason"] == "stop" and done["model"] == "sim-reasoner"
    assert done["tokens"] > 0 and 0 <= done["ttft_ms"] <= done["duration_ms"]


def test_first_event_arrives_long_before_the_last(server):
    app, _ = server
    with httpx.stream("POST", f"{app.url}/chat", json=user("你好"), timeout=30) as response:
        events = read_events(response)
    first, last = events[0][0], events[-1][0]
    assert first < last / 5, f"第一个事件 {first:.2f}s, 最后一个 {last:.2f}s"
    assert len(events) > 10, "应当是很多个事件, 而不是攒成一个"


def test_multi_turn_history_reaches_the_model(server):
    app, _ = server
    history = [
        {"role": "user", "content": "第一轮"},
        {"role": "assistant", "content": "好的"},
        {"role": "user", "content": "/echo 第二轮"},
    ]
    _, events = post_chat(app.url, {"messages": history})
    assert texts(events, "delta") == "第二轮"


def test_tricky_text_arrives_intact_in_delta_events(server):
    app, _ = server
    _, events = post_chat(app.url, user(f"/echo {TRICKY}"))
    assert [e.event for e in events[:-1]] == ["delta"] * (len(events) - 1)
    assert texts(events, "delta") == TRICKY
    assert events[-1].event == "done"


def test_error_mid_stream_keeps_partial_text_then_sends_error(server):
    app, _ = server
    _, events = post_chat(app.url, user("/error"))
    partial = "".join(openai_sim.tokenize(openai_sim.ANSWER.format(question="/error"))[:5])
    assert texts(events, "delta") == partial
    message = json.loads(events[-1].data)["message"]
    assert events[-1].event == "error" and "模型在生成途中出错" in message
    assert openai_sim.UPSTREAM_ERROR not in message, "上游的原文只进服务器日志"
    app.wait_for(re.escape(openai_sim.UPSTREAM_ERROR), 5)  # 原文在服务器的日志里
    assert "done" not in [e.event for e in events]


def test_truncated_upstream_is_reported_as_an_error(server):
    app, _ = server
    _, events = post_chat(app.url, user("/cut"))
    assert events[-1].event == "error" and "不完整" in json.loads(events[-1].data)["message"]


def test_disconnect_cancels_the_upstream_within_a_second(server):
    app, stats = server
    before = cancelled(stats)
    with httpx.stream("POST", f"{app.url}/chat", json=user("/long"), timeout=30) as response:
        decoder = sse.SSEDecoder()
        for chunk in response.iter_bytes():
            if decoder.feed(chunk):
                break  # 收到第一个事件就离开: 关闭连接
    wait_for_count(stats, before)
    sent = httpx.get(stats).json()["tokens_sent"]
    time.sleep(openai_sim.LONG_TOKEN_DELAY * 6)
    assert httpx.get(stats).json()["tokens_sent"] == sent, "断开之后模型不应再生成"


BAD_INPUTS = [
    (b"{bad json", 400, "不是合法的 JSON"),
    (b"[]", 422, "JSON 对象"),
    (b"{}", 422, "缺少 messages"),
    (b'{"messages": []}', 422, "不能为空"),
    (b'{"messages": "hi"}', 422, "必须是列表"),
    (b'{"messages": [{"role": "user", "content": 5}]}', 422, "必须是字符串"),
    (b'{"messages": [{"role": "robot", "content": "hi"}]}', 422, "只能是 user 或 assistant"),
    (b'{"messages": [{"role": "user", "content": ""}]}', 422, "是空的"),
    (b'{"messages": [{"role": "user", "content": "  \\n "}]}', 422, "空白"),
    (b'{"messages": [{"role": "assistant", "content": "hi"}]}', 422, "必须来自用户"),
    (json.dumps(user("长" * (chat.MAX_MESSAGE_CHARS + 1))).encode(), 413, "太长"),
    (json.dumps({"messages": [{"role": "user", "content": "x"}] * 41}).encode(), 413, "对话太长"),
    (b'{"messages": [' + b" " * (chat.MAX_BODY_BYTES + 1) + b"]}", 413, "请求体太大"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_INPUTS)
def test_bad_input_gets_a_readable_4xx_and_no_stream(server, body, status, message):
    app, _ = server
    response = httpx.post(
        f"{app.url}/chat", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_non_json_content_type_is_refused_and_server_keeps_serving(server):
    app, _ = server
    response = httpx.post(f"{app.url}/chat", content=b'{"messages": []}')
    assert response.status_code == 415
    chunked = httpx.post(  # 没有 Content-Length 的分块请求体也要数字节
        f"{app.url}/chat",
        content=iter([b'{"messages": [', b" " * (chat.MAX_BODY_BYTES + 10), b"]}"]),
        headers={"Content-Type": "application/json"},
    )
    assert chunked.status_code == 413
    _, events = post_chat(app.url, user("/echo 还在"))
    assert texts(events, "delta") == "还在"


def test_seed_commands_and_content_negotiation(server):
    app, _ = server
    basic = httpx.get(app.url + "/", headers={"Accept": "*/*"})
    assert basic.headers["content-type"].startswith("text/event-stream")
    assert "你好！" in basic.text
    page = httpx.get(app.url + "/", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp and "img-src 'self' data:" in csp
    assert "unsafe-inline" not in csp
    with httpx.stream("GET", f"{app.url}/chat/你好", timeout=30) as response:
        events = [e for _, e in read_events(response)]
    assert texts(events, "delta") == ANSWER
    cross = httpx.get(f"{app.url}/chat/你好", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403


def test_cors_allows_only_the_file_page(server):
    app, _ = server
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    from_file = httpx.options(f"{app.url}/chat", headers={"Origin": "null"} | preflight)
    assert from_file.status_code == 200
    assert from_file.headers["access-control-allow-origin"] == "null"
    assert "access-control-allow-credentials" not in from_file.headers
    other = httpx.options(f"{app.url}/chat", headers={"Origin": "http://127.0.0.2:9"} | preflight)
    assert other.headers.get("access-control-allow-origin") is None


def test_concurrency_limit_holds_for_the_whole_stream():
    with chat_server("--max-streams", "2") as (app, _), httpx.Client(timeout=30) as client:
        opened = []
        for _ in range(2):
            response = client.send(
                client.build_request("POST", f"{app.url}/chat", json=user("/long")), stream=True
            )
            chunks = response.iter_bytes()  # 留住迭代器: 丢掉它, httpx 就会关闭这个响应
            next(chunks)  # 流确实开始了: handler 早已返回
            opened.append((response, chunks))
        full = client.post(f"{app.url}/chat", json=user("hi"))
        assert full.status_code == 503 and full.headers["retry-after"].isdigit()
        assert "服务器正忙" in full.json()["error"]
        opened.pop()[0].close()  # 一条流结束, 名额才归还
        deadline = time.monotonic() + 5
        while (retry := client.post(f"{app.url}/chat", json=user("/echo ok"))).status_code == 503:
            assert time.monotonic() < deadline, "名额在流结束后没有归还"
            time.sleep(0.05)
        assert retry.status_code == 200 and "ok" in retry.text
        opened.pop()[0].close()


def test_keepalive_comments_while_the_model_is_silent():
    with (
        start_script("06", "--token-delay", "0.4", "--keepalive", "0.1") as app,
        httpx.stream("POST", f"{app.url}/chat", json=user("/echo 慢"), timeout=30) as r,
    ):
        raw = b"".join(r.iter_bytes())
    assert raw.count(b": keep-alive\n\n") >= 2
    assert texts(sse.SSEDecoder().feed(raw), "delta") == "慢"


def test_upstream_unreachable_gives_a_clear_error_and_never_leaks_the_key():
    secret = "sk-test-SECRET-never-in-the-browser"
    args = ["--base-url", f"http://127.0.0.1:{unused_port()}/v1", "--model", "m"]  # 连不上的上游
    with start_script("06", *args, env={"OPENAI_API_KEY": secret}) as app:
        failed = httpx.post(f"{app.url}/chat", json=user("你好"), timeout=30)
        page = httpx.get(app.url + "/", headers={"Accept": "text/html"})
        config = httpx.get(app.url + "/config")
    assert failed.status_code == 502 and "连不上模型服务" in failed.json()["error"]
    assert config.json()["simulated"] is False and config.json()["model"] == "m"
    for response in (failed, page, config):
        assert secret not in response.text and "SECRET" not in response.text


def test_ctrl_c_ends_open_streams_within_a_bounded_time():
    with chat_server() as (app, _):
        with httpx.stream("POST", f"{app.url}/chat", json=user("/long"), timeout=30) as response:
            chunks = response.iter_bytes()
            next(chunks)
            app.proc.send_signal(signal.SIGINT)
            start = time.monotonic()
            try:
                for _ in chunks:
                    pass  # 宽限期内流照常进行; 宽限期一过, 服务器取消它并关闭连接
            except httpx.RemoteProtocolError:
                pass
            ended = time.monotonic() - start
        app.proc.wait(timeout=10)
    assert ended < chat.SHUTDOWN_GRACE + 3
    assert app.proc.returncode == 0 and "服务器已停止" in app.text()


def test_vendored_libraries_are_unchanged():
    expected = {
        "marked.umd.js": "bb95d4c15f1289f78486eaacebf3bb18688475ed58a040ef762ed49337090542",
        "purify.min.js": "8053ee2a6a09f9d50f7fcd6fb7f07072f52c7f3fa9aa12147cab4feaf65ee970",
    }
    for name, digest in expected.items():
        assert hashlib.sha256((ROOT / "vendor" / name).read_bytes()).hexdigest() == digest


# ---------- Relay: 合并、上限、出错、取消 (进程内) ----------


async def timed_source(items, delay, log):
    """一个假的上游: 每 delay 秒交出一批 (这里每批一片)。"""
    try:
        for item in items:
            await asyncio.sleep(delay)
            yield [item]
    finally:
        log.append("source closed")


def run_relay(source_items, delay=0.0, window=0.0, max_pending=10**6, source=None):
    """跑一遍 Relay, 返回 ([(到达时刻, 一次交出的内容)], 日志, 最后抛出的错误)。"""

    async def run():
        log, got, error, start = [], [], None, time.perf_counter()

        async def close_upstream():
            log.append("upstream closed")

        relay = chat.Relay(
            source or timed_source(source_items, delay, log), window, max_pending, close_upstream
        )
        try:
            async for batch in relay.flushes():
                got.append((time.perf_counter() - start, batch))
        except Exception as exc:
            error = exc
        await relay.aclose()
        return got, log, error

    return asyncio.run(run())


def joined(got) -> str:
    return "".join(v for _, batch in got for _, v in batch)


def test_relay_sends_the_first_piece_at_once_and_coalesces_the_rest():
    pieces = [("content", str(i)) for i in range(20)]
    got, log, _ = run_relay(pieces, delay=0.005, window=0.05)
    assert joined(got) == "".join(v for _, v in pieces)
    assert got[0][1] == [("content", "0")], "第一片立刻单独交出"
    assert len(got) < len(pieces) / 2, "之后的片在时间窗口内合并"
    assert log == ["source closed", "upstream closed"]


def test_relay_keeps_kinds_and_order_apart():
    items = [("reasoning", "想"), ("reasoning", "好了"), ("content", "答"), ("finish", "stop")]
    got, _, _ = run_relay(items, window=0.05)
    # 第一片立刻单独交出; 窗口内到达的同类文字合并, 种类和顺序不变。
    expected = [("reasoning", "想"), ("reasoning", "好了"), ("content", "答"), ("finish", "stop")]
    assert [item for _, batch in got for item in batch] == expected


def test_relay_without_window_passes_every_batch():
    pieces = [("content", str(i)) for i in range(5)]
    got, _, _ = run_relay(pieces, delay=0.01)
    assert [batch for _, batch in got] == [[p] for p in pieces]


def test_relay_flushes_text_before_raising_an_upstream_error():
    async def failing():
        yield [("content", "半")]
        yield [("content", "句")]
        raise RuntimeError("上游断了")

    got, _, error = run_relay([], window=0.05, source=failing())
    assert joined(got) == "半句" and str(error) == "上游断了"


def test_relay_stops_reading_a_reader_cannot_keep_up_with():
    """读者慢 = 写的一方不来取: 积压超过上限, 停止读上游 (而不是把整段回答攒进内存)。"""

    async def run():
        log = []

        async def close_upstream():
            log.append("upstream closed")

        relay = chat.Relay(
            timed_source([("content", "字" * 100)] * 1000, 0, log), 0, 250, close_upstream
        )
        await asyncio.sleep(0.05)  # 这段时间里没有人来取
        got = [batch async for batch in relay.flushes()]
        return got, log

    with pytest.raises(chat.SlowReader):
        asyncio.run(run())


def test_closing_the_relay_closes_the_source_and_the_upstream():
    async def run():
        log = []

        async def close_upstream():
            log.append("upstream closed")

        relay = chat.Relay(
            timed_source([("content", "x")] * 100, 0.01, log), 0, 10**6, close_upstream
        )
        await anext(relay.flushes())
        await relay.aclose()
        return log

    assert asyncio.run(run()) == ["source closed", "upstream closed"]


# ---------- 真实浏览器 ----------


@pytest.mark.browser
def test_browser_streams_text_in_many_steps_with_reasoning_and_metrics(page, server):
    app, _ = server
    page.goto(app.url + "/")
    send(page, "你好")
    lengths = page.evaluate(
        """() => new Promise((resolve) => {
            const seen = [];
            const timer = setInterval(() => {
              const answers = document.querySelectorAll('[data-testid=answer]');
              const last = answers[answers.length - 1];
              if (last) seen.push(last.textContent.length);
              if (document.querySelector('article.assistant[data-done=true]')) {
                clearInterval(timer); resolve(seen);
              }
            }, 20);
        })"""
    )
    assert len({n for n in lengths if n}) >= 3, f"回答应当分多次增长: {lengths}"
    reasoning = page.get_by_test_id("reasoning").first
    assert reasoning.is_visible() and "用户问的是" in reasoning.text_content()
    answer = page.get_by_test_id("answer").first
    assert "流式输出的三个要点" in answer.inner_text()
    assert answer.locator("ol li").count() == 3 and answer.locator("pre code").count() == 1
    meta = page.get_by_test_id("meta").first.inner_text()
    assert "首字" in meta and "token/s" in meta
    assert page.get_by_test_id("model").inner_text() == "模型: sim-reasoner"


@pytest.mark.browser
def test_browser_stop_halts_the_text_and_cancels_upstream(page, server):
    app, stats = server
    page.goto(app.url + "/")
    before = cancelled(stats)
    send(page, "/long")
    answer = page.get_by_test_id("answer").first
    page.wait_for_function(
        "() => document.querySelector('[data-testid=answer]').textContent.length > 20"
    )
    page.get_by_test_id("stop").click()
    page.wait_for_selector("article.assistant[data-done=true]")
    stopped_at = answer.text_content()
    wait_for_count(stats, before)
    page.wait_for_timeout(400)
    assert answer.text_content() == stopped_at, "停止之后文字不应再增长"
    assert page.get_by_test_id("status").first.inner_text() == "已停止"


@pytest.mark.browser
def test_browser_error_keeps_partial_text_with_a_mark_and_retry(page, server):
    app, _ = server
    page.goto(app.url + "/")
    send(page, "/error")
    answer = wait_done(page)
    partial = "".join(openai_sim.tokenize(openai_sim.ANSWER.format(question="/error"))[:5])
    assert answer.inner_text().strip() == partial.strip()
    assert "回答不完整" in page.get_by_test_id("status").first.inner_text()
    retry = page.get_by_test_id("retry").first
    assert retry.is_visible()
    retry.click()
    wait_done(page)
    assert page.get_by_test_id("answer").count() == 1, "重试替换掉失败的回答"


@pytest.mark.browser
def test_browser_model_output_cannot_run_script_or_load_remote_images(page, server):
    app, _ = server
    with recording_server() as (other_origin, hits):
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(app.url + "/")
        payload = (
            f'<img src="{other_origin}/raw.png" onerror="window.__xss = 1">'
            "<script>window.__xss = 2</script>\n\n"
            f"![图]({other_origin}/md.png) [点我](javascript:window.__xss=3)"
        )
        send(page, f"/echo {payload}")
        answer = wait_done(page)
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__xss") is None
        assert answer.locator("img, script").count() == 0
        assert "[图片: 图]" in answer.inner_text()
        hrefs = answer.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        assert not any(h and h.startswith("javascript:") for h in hrefs)
        assert hits == [] and not [u for u in requests if u.startswith(other_origin)]


@pytest.mark.browser
def test_browser_page_opened_from_disk_works(page, server):
    app, _ = server
    token = app.wait_for(r"#server=\S+&token=(\S+)")[1]  # 服务器启动时打印的链接
    page.goto(f"{(ROOT / 'chat.html').as_uri()}#server={app.url}&token={token}")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=model]').textContent.includes('sim')"
    )
    send(page, "/echo 从磁盘打开也能用")
    assert wait_done(page).inner_text() == "从磁盘打开也能用"


@pytest.mark.browser
def test_browser_enter_sends_shift_enter_adds_a_line_and_history_is_sent(page, server):
    app, _ = server
    bodies = []
    page.on(
        "request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/chat") else None
    )
    page.goto(app.url + "/")
    box = page.get_by_test_id("chat-input")
    box.fill("/echo 第一行")
    box.press("Shift+Enter")
    box.type("第二行")
    assert box.input_value() == "/echo 第一行\n第二行"
    box.press("Enter")
    assert wait_done(page).inner_text() == "第一行\n第二行"
    send(page, "/echo 第二轮")
    assert wait_done(page, 2).inner_text() == "第二轮"
    assert [m["role"] for m in bodies[-1]["messages"]] == ["user", "assistant", "user"]


@pytest.mark.browser
def test_browser_respects_a_reader_who_scrolled_up_and_fits_a_phone(page, server):
    app, _ = server
    page.set_viewport_size({"width": 375, "height": 640})
    page.goto(app.url + "/")
    send(page, "/long")
    page.wait_for_function(
        "() => document.querySelector('#messages').scrollHeight > 800", timeout=30_000
    )
    page.evaluate("() => { document.querySelector('#messages').scrollTop = 0; }")
    page.wait_for_timeout(500)
    assert page.evaluate("() => document.querySelector('#messages').scrollTop") == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    page.get_by_test_id("stop").click()
