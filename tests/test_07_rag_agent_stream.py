"""第 07 课的测试: 真实的 uvicorn 进程上的 /rag 和 /agent (两种引擎), 知识库, 工具, 以及 Chromium 里的页面。只访问 127.0.0.1。"""

from __future__ import annotations

import asyncio
import json
import re
import time
from contextlib import contextmanager

import httpx
import pytest
from chat_helpers import send, wait_done
from conftest import ROOT, load_script, start_script

rag = load_script("07")
sse = load_script("04")
QUESTION = "SSE 的 id 有什么用?"


def ask(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


def events(url: str, path: str, text: str) -> list[sse.Event]:
    with httpx.stream("POST", f"{url}{path}", json=ask(text), timeout=60) as response:
        assert response.status_code == 200, response.read()
        return sse.SSEDecoder().feed(b"".join(response.iter_bytes()))


def payload(event: sse.Event) -> dict:
    return json.loads(event.data)


def shape(evts: list[sse.Event]) -> list[str]:
    """事件名的顺序, 相邻的同名文字事件合成一个 (合并窗口让它们的个数不确定)。"""
    names: list[str] = []
    for e in evts:
        if not (names and names[-1] == e.event and e.event in ("delta", "reasoning")):
            names.append(e.event)
    return names


@contextmanager
def server07(*args: str):
    with start_script(
        "07", "--token-delay", "0.01", "--tool-delay", "0.05", *args, deadline=60
    ) as app:
        yield app


@pytest.fixture(scope="module")
def app():
    with server07() as running:
        yield running


# ---------- 知识库问答 ----------


def test_retrieval_arrives_before_any_answer_text_and_comes_from_the_lessons(app):
    evts = events(app.url, "/rag", QUESTION)
    names = [e.event for e in evts]
    assert names[0] == "retrieval", names
    assert names.index("delta") > names.index("retrieval")
    sources = payload(evts[0])["sources"]
    assert any(s["passage"].startswith("04#") for s in sources), "第 04 课 (id 与续传) 在资料里"
    for source in sources:
        lesson = next((ROOT / "lessons").glob(source["passage"].split("#")[0] + "_*.md"))
        lesson_text = re.sub(r"[*`\s]", "", lesson.read_text(encoding="utf-8"))
        assert re.sub(r"\s", "", source["snippet"])[:30] in lesson_text, (
            "摘要真的来自它标明的那一课"
        )
        assert {"id", "title", "snippet", "score"} <= source.keys()
    done = payload(evts[-1])
    assert evts[-1].event == "done" and done["grounded"] is True
    assert set(done["citations"]) <= {s["id"] for s in sources} and done["citations"]
    answer = "".join(payload(e)["text"] for e in evts if e.event == "delta")
    assert "[1]" in answer


def test_no_passage_found_is_said_and_the_answer_is_marked(app):
    evts = events(app.url, "/rag", "量子纠缠的原理是什么")
    retrieval = payload(evts[0])
    assert (
        evts[0].event == "retrieval"
        and retrieval["sources"] == []
        and "没有找到" in retrieval["note"]
    )
    done = payload(evts[-1])
    assert done["grounded"] is False and done["citations"] == []
    assert "没有出处" in "".join(payload(e)["text"] for e in evts if e.event == "delta")


def test_rag_refuses_bad_input_like_06(app):
    response = httpx.post(f"{app.url}/rag", json={"messages": []})
    assert response.status_code == 422 and "不能为空" in response.json()["error"]


# ---------- 智能体 ----------


def test_tool_events_pair_up_before_the_answer(app):
    evts = events(app.url, "/agent", "(3+4)*12 等于多少?")
    assert shape(evts) == ["tool_start", "tool_end", "delta", "done"]
    start, end = payload(evts[0]), payload(evts[1])
    assert start["id"] == end["id"] and start["name"] == "calculator"
    assert start["args"] == {"expression": "(3+4)*12"}
    assert end["result"] == "84" and end["error"] is None and end["duration_ms"] >= 0
    assert "84" in "".join(payload(e)["text"] for e in evts if e.event == "delta")


def test_a_failing_tool_is_reported_and_the_agent_goes_on(app):
    evts = events(app.url, "/agent", "1/0 等于多少?")
    assert shape(evts) == ["tool_start", "tool_end", "delta", "done"]
    assert payload(evts[1])["error"] == "除数是 0" and payload(evts[1])["result"] is None


def test_closing_the_agent_closes_the_models_stream_at_once(monkeypatch):
    closed = []

    async def endless(response):
        try:
            while True:
                yield [("content", "字")]
                await asyncio.sleep(0)
        finally:
            closed.append("closed")

    monkeypatch.setattr(rag.oa, "raw_batches", endless)
    service = rag.chat.Service(rag.chat.Settings(target=rag.oa.Target(None, "key", "model")), rag.chat.StreamLimit(1))  # fmt: skip

    async def run():
        stream = rag.agent_stream(service, {}, None, [{"role": "user", "content": "你好"}])
        await anext(stream)
        await stream.aclose()  # 读者走了
        return list(closed)

    assert asyncio.run(run()) == ["closed"], "模型的流当场关闭, 不等垃圾回收"


def test_a_buggy_tool_is_a_result_whose_details_stay_in_the_log():
    async def search(query: str) -> str:
        raise RuntimeError("连不上 http://10.0.0.7:9200 (内部地址)")

    outcome = asyncio.run(rag.run_tool({"search": search}, "search", '{"query": "x"}'))
    assert outcome.result is None and "RuntimeError" in outcome.error, (
        "工具的 bug 也是结果, 不是崩溃"
    )
    assert "10.0.0.7" not in outcome.error, "意外异常的消息只进日志: 它可能带着内部地址"


def test_only_ascii_digits_are_citations():
    assert rag.citations("续传靠 id [٢]。名额 [２] 在流结束时归还 [1], 另见 [7]。", 3) == [1]


async def timed_batches(plan: list[tuple[float, list]]):
    """按计划交出几批: (先睡几秒, 这一批)。"""
    for pause, batch in plan:
        await asyncio.sleep(pause)
        yield batch


def run_chunker(plan: list[tuple[float, list]], max_wait: float) -> list[tuple[float, list]]:
    async def run():
        start, got = time.monotonic(), []
        async for out in rag.by_sentence(timed_batches(plan), max_wait):
            got.append((time.monotonic() - start, out))
        return got

    return asyncio.run(run())


def test_by_sentence_sends_a_half_sentence_when_the_model_pauses():
    wait = 0.1
    got = run_chunker(
        [(0, [("content", "这是一句很长的话")]), (6 * wait, [("content", "说完了。")])], wait
    )
    first_at, first = got[0]
    assert first == [("content", "这是一句很长的话")]
    assert 0.5 < first_at / wait < 2.5, (
        f"模型停下时, 攒着的字最多等大约 max_wait: 等了 {first_at / wait:.1f} 个"
    )
    assert got[-1][1] == [("content", "说完了。")]


def test_by_sentence_keeps_text_before_what_follows_it():
    got = run_chunker([(0, [("content", "我来算一下"), ("finish", "tool_calls")])], 10)
    assert [item for _, out in got for item in out] == [
        ("content", "我来算一下"),
        ("finish", "tool_calls"),
    ]


@pytest.mark.parametrize(
    ("expression", "problem"),
    [("__import__('os').system('echo x')", "算不了"), ("9**9**9", "算不了"), ("1/0", "除数是 0"), ("abs(-1)", "算不了")],
)  # fmt: skip
def test_the_calculator_never_evals(expression, problem):
    with pytest.raises(rag.ToolError, match=problem):
        rag.calculator(expression)
    assert rag.calculator("(3+4)*12") == "84" and rag.calculator("2^10") == "1024"


def test_cancel_mid_tool_stops_the_tool_and_the_model():
    with server07("--tool-delay", "30") as app:
        stats = app.wait_for(r"统计: (http://127\.0\.0\.1:\d+/sim/stats)")[1]
        decoder = sse.SSEDecoder()
        with httpx.stream(
            "POST", f"{app.url}/agent", json=ask("SSE 是什么"), timeout=30
        ) as response:
            for chunk in response.iter_bytes():
                if any(e.event == "tool_start" for e in decoder.feed(chunk)):
                    started = time.monotonic()
                    break  # 工具在跑 (它要 30 秒): 用户点了停止
        app.wait_for(r"工具 search_lessons 被取消", 5)
        stopped = time.monotonic() - started
        assert stopped < 5, "工具应当随断开一起停下, 而不是跑完 30 秒"
        time.sleep(0.3)
        assert httpx.get(stats).json()["streams_started"] == 1, "第二轮模型请求不应该发出"


def test_the_agent_gives_up_after_max_steps(monkeypatch):
    """一个每次都要调用工具的模型: 智能体走到上限, 以一个说明停下, 而不是无限循环。"""

    async def always_tool(response):
        yield [("tool_call", {"index": 0, "id": "call_x", "function": {"name": "current_time", "arguments": "{}"}}),
               ("finish", "tool_calls")]  # fmt: skip

    async def open_again(stack, client, model, messages, **options):
        return None

    monkeypatch.setattr(rag.oa, "raw_batches", always_tool)
    monkeypatch.setattr(rag.oa, "open_raw_stream", open_again)
    settings = rag.chat.Settings(target=rag.oa.Target(None, "key", "model"))
    service = rag.chat.Service(settings, rag.chat.StreamLimit(1))
    tools = rag.tool_functions(None, 0)

    async def run():
        got = []
        with pytest.raises(rag.TooManySteps, match="停下了"):
            async for batch in rag.agent_stream(service, tools, None, [{"role": "user", "content": "几点了"}]):  # fmt: skip
                got += batch
        return got

    got = asyncio.run(run())
    starts = [v for k, v in got if k == "event" and v[0] == "tool_start"]
    assert len(starts) == rag.MAX_STEPS - 1, "最后一轮要的工具不再运行: 它们的结果没有模型会读了"
    assert rag.chat.describe(rag.TooManySteps("停下了"), None) == "停下了", "给用户看的就是这句中文"


def test_langchain_engine_produces_the_same_events(app):
    with server07("--engine", "langchain") as other:
        for question in ("(3+4)*12 等于多少?", "1/0 等于多少?", "现在几点了?"):
            ours, theirs = (
                events(app.url, "/agent", question),
                events(other.url, "/agent", question),
            )
            assert shape(ours) == shape(theirs), question
            tools = [
                [payload(e) for e in evts if e.event.startswith("tool_")] for evts in (ours, theirs)
            ]
            for left, right in zip(*tools, strict=True):
                for key in ("name", "args", "error"):
                    assert left.get(key) == right.get(key), (question, key)


# ---------- 知识库本身 ----------


def test_the_corpus_is_every_other_lesson_without_code():
    passages = rag.read_passages()
    lessons = {p.id.split("#")[0] for p in passages}
    expected = {path.stem.split("_")[0] for path in (ROOT / "lessons").glob("*.md")} - {"07"}
    assert expected == lessons, "除了本课 (它引用了示例问题), 每一课都在知识库里"
    assert len({p.id for p in passages}) == len(passages)
    assert not any("```" in p.text for p in passages), "代码块不进知识库"
    assert not any(p.title.endswith("· 练习") for p in passages), "「练习」一节只有问题, 不进知识库"
    assert all(len(p.text) <= rag.PASSAGE_CHARS * 2 for p in passages)


# ---------- 页面 ----------


@pytest.mark.browser
def test_browser_sources_come_first_and_citations_link_to_them(page):
    with server07("--token-delay", "0.05") as app:
        page.goto(app.url + "/")
        page.wait_for_function("() => document.querySelector('[data-testid=mode]').options.length === 3")  # fmt: skip
        page.get_by_test_id("mode").select_option("rag")
        send(page, QUESTION)
        sources = page.get_by_test_id("sources").first
        sources.wait_for()
        seen = page.evaluate(
            "() => document.querySelector('[data-testid=answer]').textContent.length"
        )
        assert seen == 0, "资料在回答的第一个字之前就显示出来"
        wait_done(page)
        assert sources.locator("li").count() >= 1
        link = page.locator("a.cite").first
        target = link.get_attribute("href")
        assert target.startswith("#src-") and page.locator(target).count() == 1
        assert page.locator(f"{target}.cited").count() == 1, "done 标出真正被引用的资料"


@pytest.mark.browser
def test_browser_tool_cards_show_running_then_done_or_failed(page):
    with server07("--tool-delay", "1") as app:
        page.goto(app.url + "/")
        page.wait_for_function("() => document.querySelector('[data-testid=mode]').options.length === 3")  # fmt: skip
        page.get_by_test_id("mode").select_option("agent")
        send(page, "SSE 是什么")  # 搜索工具要跑 1 秒: 卡片先是"运行中"
        card = page.get_by_test_id("tool-card").first
        card.wait_for()
        assert card.get_attribute("data-state") == "running"
        wait_done(page)
        assert card.get_attribute("data-state") == "done" and "search_lessons" in card.inner_text()
        send(page, "1/0 等于多少?")
        wait_done(page, 2)
        failed = page.get_by_test_id("tool-card").nth(1)
        assert failed.get_attribute("data-state") == "failed" and "除数是 0" in failed.inner_text()


@pytest.mark.browser
def test_browser_offers_only_the_modes_of_its_server(page):
    with start_script("06", "--token-delay", "0") as app:
        page.goto(app.url + "/")
        page.wait_for_function("() => document.querySelector('[data-testid=model]').textContent.includes('sim')")  # fmt: skip
        assert page.get_by_test_id("mode").is_hidden(), "06 只有聊天: 没有可以切换的模式"
