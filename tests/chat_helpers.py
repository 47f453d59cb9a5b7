"""第 06 课 (以及以后建立在它之上的课) 的测试共用的小工具: 发请求、读事件、等计数器。"""

from __future__ import annotations

import http.server
import json
import threading
import time
from contextlib import contextmanager

import httpx
from conftest import load_script, start_script

sse = load_script("04")


def user(text: str) -> dict[str, list[dict[str, str]]]:
    return {"messages": [{"role": "user", "content": text}]}


@contextmanager
def chat_server(*args: str):
    """启动 06 (模拟模式), 返回 (服务器, 模拟模型的 /sim/stats 地址)。"""
    with start_script("06", "--token-delay", "0.01", *args) as server:
        stats = server.wait_for(r"统计: (http://127\.0\.0\.1:\d+/sim/stats)")[1]
        yield server, stats


def read_events(response: httpx.Response) -> list[tuple[float, sse.Event]]:
    """边读边解码, 记下每个事件到达的时刻。"""
    decoder, events, start = sse.SSEDecoder(), [], time.perf_counter()
    for chunk in response.iter_bytes():
        events += [(time.perf_counter() - start, e) for e in decoder.feed(chunk)]
    return events


def post_chat(url: str, body: object) -> tuple[httpx.Response, list[sse.Event]]:
    with httpx.stream("POST", f"{url}/chat", json=body, timeout=30) as response:
        if response.status_code != 200:
            response.read()
            return response, []
        return response, [e for _, e in read_events(response)]


def texts(events: list[sse.Event], name: str) -> str:
    return "".join(json.loads(e.data)["text"] for e in events if e.event == name)


def cancelled(stats_url: str) -> int:
    return httpx.get(stats_url).json()["streams_cancelled"]


def wait_for_count(stats_url: str, before: int, deadline: float = 1.0) -> float:
    """等 /sim/stats 的 streams_cancelled 增加, 返回用了几秒; 超过期限就失败。"""
    start = time.monotonic()
    while cancelled(stats_url) == before:
        assert time.monotonic() - start < deadline, f"{deadline} 秒内上游没有被取消"
        time.sleep(0.02)
    return time.monotonic() - start


@contextmanager
def recording_server():
    """第二个本机端口, 充当"别的网站": 记下它收到的每一个请求。"""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def send(page, text: str) -> None:
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def wait_done(page, n: int = 1):
    page.wait_for_function(
        f"() => document.querySelectorAll('article.assistant[data-done=true]').length >= {n}",
        timeout=30_000,
    )
    return page.get_by_test_id("answer").nth(n - 1)
