"""练习 07_rag_stream (★): RAG 的流 —— 资料先到, 引用要核对

知识库问答先检索, 再让模型根据资料回答 (第 07 课 §3)。模型读资料、想一想要好几百毫秒:
这段时间里, 读者应该已经看到"答案会根据哪几段资料"。回答里的 [n] 是模型写的, 不能全信。

任务:
    rag_stream(question, search, ask_model) 是一个异步生成器, 交出 (事件名, 数据):
        await search(question)     -> 检索到的资料: [{"title": 标题, "text": 全文, "score": 分数}, ...], 可能是 []
        ask_model(question, hits)  -> 模型的回答: 一个异步迭代器, 一片一片地交出文本 (hits 就是检索到的资料)

        ("retrieval", {"sources": [...], "note": ...})     第一个事件
            sources 里每条: {"id": 编号 (1, 2, 3……), "title": 标题, "snippet": 摘要, "score": 分数}
            摘要是全文的前 SNIPPET_CHARS 个字; 全文不要发
            没找到资料: sources 为 [], note 是一句给读者看的说明; 找到了: note 为 None
        ("delta", {"text": 文本})                          模型的每一片 (空字符串不发)
        ("done", {"citations": [...], "grounded": ...})    最后一个事件

做完的样子:
    - retrieval 在模型的第一个字之前交出: 不要等模型开口;
    - 模型的每一片一到就交出, 不攒;
    - citations: 回答里真正出现的 [n] 的编号, 从小到大、不重复, 而且只算 sources 里确实有的编号
      (模型会编出 [7]、[0]); 一个 [n] 可能被切在两片里 ("[" 在这一片, "2]" 在下一片);
      只认 ASCII 数字 0-9 (页面也只把这样的 [n] 变成链接);
    - grounded: citations 不为空; 没找到资料时, 就算模型写了 [1], 也没有引用。

运行:
    python exercises/check.py 07_rag_stream
"""

from __future__ import annotations

import re  # noqa: F401 (你会用到它)
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

SNIPPET_CHARS = 120  # 摘要最多几个字

Hit = dict[str, Any]  # {"title": 标题, "text": 全文, "score": 分数}
Search = Callable[[str], Awaitable[list[Hit]]]
AskModel = Callable[[str, list[Hit]], AsyncIterator[str]]


async def rag_stream(
    question: str, search: Search, ask_model: AskModel
) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    # TODO 1: 检索, 交出 retrieval 事件 (编号、标题、摘要、分数; 没找到时的 note)
    # TODO 2: 读模型的回答: 每一片交出一个 delta, 同时记下全文
    # TODO 3: 在全文里找 [n], 只留下 sources 里有的编号; 交出 done
    raise NotImplementedError("TODO: 实现 rag_stream")
    yield  # 有了 yield, 这个函数才是异步生成器
