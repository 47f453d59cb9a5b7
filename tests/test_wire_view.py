"""chat.html 的线路视图 (课堂演示用): 每一帧的原文与到达时间、时间线、停止的标记。在 Chromium 里, 只访问 127.0.0.1。"""

from __future__ import annotations

import pytest
from chat_helpers import chat_server, send, wait_done

pytestmark = pytest.mark.browser

FRAMES = """() => [...document.querySelectorAll('[data-testid=frames] li')].map((li) => ({
    t: parseFloat(li.querySelector('.t').textContent), raw: li.querySelector('pre').textContent,
    mark: li.classList.contains('mark') }))"""
BARS = """() => [...document.querySelectorAll('[data-testid=timeline] rect')].map((r) => ({
    x: parseFloat(r.getAttribute('x')), kind: r.dataset.kind }))"""
GUIDES = """() => Object.fromEntries([...document.querySelectorAll('[data-testid=timeline] line[data-label]')]
    .map((l) => [l.dataset.label.split(' ')[0], parseFloat(l.getAttribute('x1'))]))"""


@pytest.fixture(scope="module")
def server():
    with chat_server("--token-delay", "0.02") as running:
        yield running


def test_wire_view_shows_each_frame_exactly_as_it_arrived_and_draws_the_timeline(page, server):
    app, _ = server
    page.goto(app.url + "/")
    assert page.get_by_test_id("wire-view").is_hidden(), "线路视图默认关着"
    page.get_by_test_id("wire-toggle").click()
    assert page.get_by_test_id("wire-view").is_visible()
    with page.expect_response(lambda r: r.url.endswith("/chat")) as response:
        send(page, "你好")
    wait_done(page)
    page.wait_for_timeout(100)  # 最后一次重画在下一帧画面
    body = response.value.body().decode()
    frames = page.evaluate(FRAMES)
    assert "".join(f["raw"] + "\n\n" for f in frames) == body, "列出的帧拼起来, 就是线上收到的原文"
    times = [f["t"] for f in frames]
    assert times == sorted(times) and times[0] > 0
    assert times[-1] > 5 * times[0], f"帧是陆续到达的, 不是一次到齐: {times[:3]}…{times[-1]}"
    bars = page.evaluate(BARS)
    assert len(bars) == len(frames), "每一帧一根竖条"
    assert {b["kind"] for b in bars} >= {"reasoning", "delta", "done"}
    guides = page.evaluate(GUIDES)
    first_text = next(b["x"] for b in bars if b["kind"] in ("reasoning", "delta"))
    assert abs(guides["首字"] - (first_text + 1)) < 0.5, "首字线画在第一根文字竖条上"
    summary = page.get_by_test_id("wire-summary").inner_text()
    assert f"{len(frames)} 帧" in summary and "首字" in summary


def test_wire_view_opened_mid_stream_replays_what_came_and_marks_the_stop(page, server):
    app, _ = server
    page.goto(app.url + "/")
    send(page, "/long")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=answer]').textContent.length > 20"
    )
    page.get_by_test_id("wire-toggle").click()  # 回答进行到一半才打开
    assert len(page.evaluate(FRAMES)) >= 2, "打开时补上已经收到的帧"
    page.wait_for_timeout(200)
    page.get_by_test_id("stop").click()
    wait_done(page)
    page.wait_for_timeout(300)  # 停止之后不应再有帧
    frames = page.evaluate(FRAMES)
    assert frames[-1]["mark"] and "停止" in frames[-1]["raw"]
    bars = page.evaluate(BARS)
    assert len(bars) == len(frames) - 1
    guides = page.evaluate(GUIDES)
    assert guides["停止"] >= max(b["x"] for b in bars), "停止线在最后一帧之后"
    assert page.get_by_test_id("wire-toggle").get_attribute("aria-pressed") == "true"
