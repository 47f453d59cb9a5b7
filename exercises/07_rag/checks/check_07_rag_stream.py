"""检查 07_rag_stream: retrieval 在第一个字之前、只发摘要、一到就交出、引用核对过、没找到就直说。"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing

from checklib import expect_equal, fail, now, see, show

SEE = see("07_rag_agent_stream", "3. RAG 的流: 资料先到")
ORDER = see("07_rag_agent_stream", "1. 一条流, 好几种事件")
MISTAKES = see("07_rag_agent_stream", "常见误区")
QUESTION = "SSE 的 id 有什么用?"
STEP = 0.03  # 模型每片之间的间隔 (秒): 看你是不是等到下一片来了才交出
HITS = [
    {"title": "第 04 课 · 4. 服务器: 有编号的事件, 以及续传", "text": "续传" * 400, "score": 7.2},
    {"title": "第 04 课 · 3. 解码器", "text": "解码" * 400, "score": 5.1},
    {"title": "第 06 课 · 7. 并发限制", "text": "名额" * 400, "score": 2.3},
]


class Library:
    """假的检索: 记下被问了什么。"""

    def __init__(self, hits: list[dict]) -> None:
        self.hits = hits
        self.queries: list[str] = []

    async def search(self, question: str) -> list[dict]:
        self.queries.append(question)
        await asyncio.sleep(0)
        return self.hits


class Model:
    """假的模型: 每片之前等 delay 秒; 记下被问了几次、拿到了哪些资料、交出了几片。"""

    def __init__(self, pieces: list[str], delay: float = 0.0) -> None:
        self.pieces, self.delay = pieces, delay
        self.asked: list[tuple[str, list[dict]]] = []
        self.times: list[float] = []  # 每一片交出的时刻

    @property
    def produced(self) -> int:
        return len(self.times)

    def ask(self, question: str, hits: list[dict]):
        self.asked.append((question, hits))
        return self._answer()

    async def _answer(self):
        for piece in self.pieces:
            await asyncio.sleep(self.delay)
            self.times.append(now())
            yield piece


async def run(ex, library: Library, model: Model) -> list[tuple[str, dict]]:
    events = [event async for event in ex.rag_stream(QUESTION, library.search, model.ask)]
    for event in events:
        if not (isinstance(event, tuple) and len(event) == 2 and isinstance(event[1], dict)):
            fail("每个事件是 (事件名, dict)", f"交出了 {show(event)}")
    return events


def last_done(events: list[tuple[str, dict]]) -> dict:
    names = [name for name, _ in events]
    if names.count("done") != 1 or names[-1] != "done":
        fail("最后一个事件是 done, 而且只有一个", f"事件名依次是 {names}", ORDER)
    return events[-1][1]


async def check_retrieval_before_any_text(ex):
    """retrieval 是第一个事件, 在模型的第一个字之前 (不等模型开口)"""
    library, model = Library(HITS), Model(["续传靠 id [1]。"], delay=0.05)
    async with aclosing(ex.rag_stream(QUESTION, library.search, model.ask)) as stream:
        try:
            name, _ = await anext(stream)
        except StopAsyncIteration:
            fail("交出 retrieval 事件", "什么都没有交出就结束了")
        if name != "retrieval":
            fail(
                "第一个事件是 retrieval",
                f"第一个事件是 {name!r}: 读者要先看到答案依据的资料, 再看到答案",
                ORDER,
            )
        if model.produced:
            fail(
                "交出 retrieval 时, 模型还一个字都没有交出",
                f"那时模型已经交出了 {model.produced} 片: 你等模型开口之后才发资料,"
                " 模型想多久, 读者就对着空白等多久",
            )
    expect_equal(library.queries, [QUESTION], "search() 被调用时收到的问题")


async def check_retrieval_event(ex):
    """retrieval 事件: 编号从 1 开始、标题、摘要 (不是全文)、分数, note 为 None"""
    library, model = Library(HITS), Model(["好的。"])
    events = await run(ex, library, model)
    name, data = events[0]
    expect_equal(name, "retrieval", "第一个事件的名字", ORDER)
    sources = data.get("sources")
    if not isinstance(sources, list) or len(sources) != len(HITS):
        fail(f"sources 是 {len(HITS)} 条资料的列表", show(sources))
    for n, (source, hit) in enumerate(zip(sources, HITS, strict=True), 1):
        expect_equal(source.get("id"), n, f"第 {n} 条资料的 id")
        expect_equal(source.get("title"), hit["title"], f"第 {n} 条资料的 title")
        expect_equal(source.get("score"), hit["score"], f"第 {n} 条资料的 score")
        snippet = source.get("snippet")
        if not isinstance(snippet, str) or not snippet or not hit["text"].startswith(snippet):
            fail(f"第 {n} 条资料的 snippet 是全文开头的一小段", show(snippet))
        if len(snippet) > ex.SNIPPET_CHARS:
            fail(
                f"snippet 最多 {ex.SNIPPET_CHARS} 个字",
                f"第 {n} 条的 snippet 有 {len(snippet)} 个字",
            )
    size = len(json.dumps(data, ensure_ascii=False))
    if size > 1500:
        fail(
            "retrieval 事件只带出处 (编号、标题、摘要、分数), 整个事件不到 1500 个字",
            f"整个事件有 {size} 个字: 把全文也发了? 它挡在第一个字前面, 页面又用不上",
            MISTAKES,
        )
    if data.get("note") is not None:
        fail("找到了资料时, note 为 None", f"note 是 {show(data.get('note'))}")
    if not model.asked or model.asked[0][1] != HITS:
        fail(
            "ask_model(question, hits) 拿到检索到的资料", f"ask_model 收到的是 {show(model.asked)}"
        )


async def check_deltas_at_once(ex):
    """模型的每一片一到就交出一个 delta, 空字符串不发, 最后是 done"""
    pieces = ["", "续传", "靠 ", "id", "", "。\n\ndata: [DONE]"]
    model = Model(pieces, delay=STEP)
    seen = []  # (文本, 收到的时刻)
    stream = ex.rag_stream(QUESTION, Library(HITS).search, model.ask)
    async with aclosing(stream):
        async for name, data in stream:
            if name == "delta":
                seen.append((data.get("text"), now()))
    expect_equal([text for text, _ in seen], [p for p in pieces if p], "delta 事件的文本 (依次)")
    indexes = [i for i, p in enumerate(pieces) if p]  # 每个 delta 是模型的第几片 (从 0 数)
    for (text, at), i in zip(seen, indexes, strict=True):
        if i + 1 < len(pieces) and at >= model.times[i + 1]:
            fail(
                "每一片一到就交出 (在模型交出下一片之前)",
                f"{text!r} 是模型的第 {i + 1} 片, 你等第 {i + 2} 片也到了才交出它: 先把回答攒起来了?",
            )
    events = await run(ex, Library(HITS), Model(pieces))
    last_done(events)


async def check_citations(ex):
    """citations: 全文里真正出现、而且确实存在的 [n] (被切开的也算, 编出来的不算)"""
    pieces = ["续传靠 id [", "2]。名额在", "流结束时归还 [3]。", "另见 [7]、[0]、[12]。", "[3]"]
    events = await run(ex, Library(HITS), Model(pieces))
    done = last_done(events)
    citations = done.get("citations")
    if citations != [2, 3]:
        why = ""
        if isinstance(citations, list) and 2 not in citations:
            why = ': "[" 和 "2]" 在两片里 —— 要在拼好的全文里找, 不能一片一片地找'
        elif isinstance(citations, list) and set(citations) - {2, 3}:
            why = ": 只有 3 条资料, [7]、[0]、[12] 是模型编出来的, 不算引用"
        fail(
            f"回答 {''.join(pieces)!r} 的 citations 是 [2, 3] (从小到大、不重复)",
            f"{show(citations)}{why}",
            MISTAKES if "编" in why else None,
        )
    expect_equal(done.get("grounded"), True, "有引用时 done 的 grounded")


async def check_only_ascii_digits(ex):
    """只认 ASCII 数字的 [n]: "[٢]"、"[２]" 不是引用"""
    pieces = ["续传靠 id [٢]。", "名额 [２] 在流结束时归还 [1]。"]
    events = await run(ex, Library(HITS), Model(pieces))
    citations = last_done(events).get("citations")
    if citations != [1]:
        fail(
            f"回答 {''.join(pieces)!r} 的 citations 是 [1]",
            f"{show(citations)}: Python 正则里的 \\d 也匹配 '٢' (阿拉伯-印度数字) 和 '２' (全角数字),"
            " int() 也认它们; 页面却只把 [0-9] 的 [n] 变成链接。用 [0-9] 代替 \\d",
        )


async def check_nothing_found(ex):
    """没找到资料: sources 为 []、note 说明; 模型照样回答, 但它写的 [1] 不算引用"""
    library, model = Library([]), Model(["资料里没有提到量子纠缠 [1]。"])
    events = await run(ex, library, model)
    name, data = events[0]
    expect_equal(name, "retrieval", "第一个事件的名字", ORDER)
    expect_equal(data.get("sources"), [], "没找到资料时的 sources")
    note = data.get("note")
    if not isinstance(note, str) or not note.strip():
        fail("没找到资料时, note 是一句给读者看的说明", f"note 是 {show(note)}")
    if len(model.asked) != 1:
        fail(
            "没找到资料, 也照样问模型 (让它直说资料里没有)",
            f"ask_model 被调用了 {len(model.asked)} 次",
        )
    expect_equal([n for n, _ in events], ["retrieval", "delta", "done"], "事件名")
    done = events[-1][1]
    if done.get("citations") != [] or done.get("grounded") is not False:
        fail(
            '没找到资料时, done 是 {"citations": [], "grounded": False}',
            f"{show(done)}: 没有任何资料, 模型写的 [1] 是编出来的",
            MISTAKES,
        )
