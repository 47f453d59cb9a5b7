"""参考答案: 练习 07_rag_stream —— RAG 的流: 资料先到, 引用要核对。先自己做, 再来对照。

和第 07 课的 rag_stream 是同一个结构。编号用 [0-9]+ 而不是 \\d+ ——
Python 的 \\d 也认 "٢"、"２" 这样的数字, int() 也认; 页面的 JavaScript 却只把 ASCII 数字的 [n] 变成链接。
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

SNIPPET_CHARS = 120  # 摘要最多几个字

Hit = dict[str, Any]  # {"title": 标题, "text": 全文, "score": 分数}
Search = Callable[[str], Awaitable[list[Hit]]]
AskModel = Callable[[str, list[Hit]], AsyncIterator[str]]

CITATION = re.compile(r"\[([0-9]+)\]")


async def rag_stream(
    question: str, search: Search, ask_model: AskModel
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    hits = await search(question)
    sources = [
        {
            "id": n,
            "title": hit["title"],
            "snippet": hit["text"][:SNIPPET_CHARS],
            "score": hit["score"],
        }
        for n, hit in enumerate(hits, 1)
    ]
    note = None if hits else "知识库里没有找到相关的资料: 下面的回答没有出处"
    yield ("retrieval", {"sources": sources, "note": note})  # 在请求模型之前: 读者先看到依据

    answer: list[str] = []
    async for text in ask_model(question, hits):
        if text:
            answer.append(text)
            yield ("delta", {"text": text})

    # 在拼好的全文里找: 一个 [n] 可能被切在两片里
    found = {int(n) for n in CITATION.findall("".join(answer))}
    citations = sorted(found & set(range(1, len(sources) + 1)))  # 模型编出来的编号不算
    yield ("done", {"citations": citations, "grounded": bool(citations)})
