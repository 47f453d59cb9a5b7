"""第 07 课: RAG 与智能体的事件流 —— 先给出处, 再给答案; 工具的每一步都让用户看见

你将学到:
- 知识库问答 (RAG) 的流: 先发 retrieval 事件 (答案依据的资料), 再流式输出答案, done 里列出引用了哪几条
- 智能体的流: 每次工具调用是一对 tool_start / tool_end; 工具失败照实说, 智能体接着走; 停止时模型和工具一起停
- 同一个智能体用 LangChain 来写 (create_agent + astream_events v2), 映射成同样的事件 (--engine langchain)
- token 与 chunk: 逐 token、按时间窗口、按句子发送, 各自的首字时间、事件数和字节数 (tools/token_vs_chunk.py)

运行:
    python examples/07_rag_agent_stream.py          # 浏览器打开 http://127.0.0.1:8007, 切换到 知识库问答 / 智能体
    curl -N http://127.0.0.1:8007/rag -H 'Content-Type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "SSE 的 id 有什么用?"}]}'
    curl -N http://127.0.0.1:8007/agent -H 'Content-Type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "(3+4)*12 等于多少?"}]}'
    python examples/07_rag_agent_stream.py --engine langchain   # 同一个智能体, 由 LangChain 驱动
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, aclosing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import bm25s
import jieba
import lesson  # 按编号导入前面的课
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from simpleeval import SimpleEval

chat = lesson.load("06")  # 校验、名额、中转、取消、error 事件、前门、命令行: 全部来自第 06 课
oa = chat.oa  # 第 05 课: open_raw_stream / raw_batches

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"  # 知识库: 这套教程自己的课程
# 问题不是答案: 本课原样引用了示例问题 ("量子纠缠是什么?"), 每课的「练习」一节全是问题;
# 放进知识库, 关键词检索会把"提到了这个问题"的段落当成"回答了这个问题"的段落。见课文第 2 节。
NOT_INDEXED = ("07_",)  # 这些文件不进知识库
QUESTIONS_ONLY = ("练习",)  # 这些小节不进知识库
PORT = 8007
TOP_K = 3  # 每个问题最多取几段资料
MIN_SCORE = 1.0  # BM25 分数低于它的段落不算"找到了"
PASSAGE_CHARS = 500  # 一段资料最多几个字
SNIPPET_CHARS = 120  # retrieval 事件里每段资料给页面看的摘要长度
MAX_STEPS = 4  # 智能体最多调用几轮模型
TOOL_TIMEOUT = 10.0  # 一次工具调用最多几秒
TOOL_DELAY = 0.3  # search_lessons 模拟一次网络搜索的耗时 (秒)

log = logging.getLogger("chat")
jieba.setLogLevel(logging.WARNING)  # 不要 "Building prefix dict..." 那几行


# --8<-- [start:corpus]
@dataclass(frozen=True)
class Passage:
    id: str  # "04#3": 第 04 课的第 3 段
    title: str  # "第 04 课 · 4. 服务器: 有编号的事件, 以及续传"
    text: str


def sections(markdown: str) -> list[tuple[str, str]]:
    """按 "## " 切成 (小节标题, 正文); 代码块和 HTML 注释去掉: 它们是代码, 不是讲解。"""
    markdown = re.sub(r"```.*?```|<!--.*?-->|</?(?:details|summary)>", "", markdown, flags=re.S)
    parts = re.split(r"^## (.+)$", markdown, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=True))


def read_passages(folder: Path = LESSONS) -> list[Passage]:
    passages = []
    for path in sorted(folder.glob("*.md")):
        if path.name.startswith(NOT_INDEXED):
            continue
        lesson_title = path.read_text(encoding="utf-8").split("\n", 1)[0].lstrip("# ").split(":")[0]
        for heading, body in sections(path.read_text(encoding="utf-8")):
            if heading.strip() in QUESTIONS_ONLY:
                continue
            for text in pack(p.strip() for p in body.split("\n\n")):
                number = path.stem.split("_")[0]  # "04"、"06b"
                passages.append(Passage(f"{number}#{len(passages)}", f"{lesson_title} · {heading}", text))  # fmt: skip
    return passages


def pack(paragraphs) -> list[str]:
    """把相邻的段落拼成不超过 PASSAGE_CHARS 个字的资料。"""
    chunks, current = [], ""
    for paragraph in filter(None, paragraphs):
        if current and len(current) + len(paragraph) > PASSAGE_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current}\n{paragraph}".strip()[: PASSAGE_CHARS * 2]
    return chunks + ([current] if current else [])


# --8<-- [end:corpus]


# --8<-- [start:library]
# 最常见的虚词: 几乎每段都有, 只会让分数变得模糊
STOPWORDS = frozenset("的 了 是 在 有 和 与 吗 呢 吧 啊 么 什么 怎么 怎样 如何 为什么 一个 这个 那个 我 你 他 它 会 能 要 就 都 也 还 用".split())  # noqa: SIM905  # fmt: skip


def words(text: str) -> list[str]:
    """中文没有空格: jieba 分词 (搜索模式, 长词再切一遍), 去掉标点和最常见的虚词。"""
    return [w for w in jieba.lcut_for_search(text.lower()) if w.strip() and w not in STOPWORDS and any(c.isalnum() for c in w)]  # fmt: skip


class Library:
    """一个 BM25 索引。检索不是这一课的主题 (它的事件才是), 所以交给专门的库: bm25s + jieba。"""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.index = bm25s.BM25()
        # 标题算两遍: 小节标题往往就是这一段在讲什么
        self.index.index(
            [words(f"{p.title} {p.title} {p.text}") for p in passages], show_progress=False
        )
        self.vocabulary = set(self.index.vocab_dict)

    def search(self, query: str, k: int = TOP_K) -> list[tuple[Passage, float]]:
        terms = [w for w in words(query) if w in self.vocabulary]
        if not terms:
            return []  # 一个词都不认识: 没什么可找的
        ids, scores = self.index.retrieve([terms], k=min(k, len(self.passages)), show_progress=False)  # fmt: skip
        return [(self.passages[i], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s >= MIN_SCORE]  # fmt: skip


# --8<-- [end:library]


# --8<-- [start:rag]
RAG_PROMPT = """你是这套流式输出教程的助教。只根据下面的资料回答; 用到某段资料时, 在那句话后面用 [编号] 标出出处。
资料里没有的, 就直说资料里没有, 不要编造。

资料:
{sources}"""


def plain(text: str) -> str:
    """摘要给人看: 去掉 Markdown 的记号 (**、`、# 和列表的编号), 换行变空格。"""
    text = re.sub(r"^\s*(?:\d+\.|[-*>#]+)\s+", "", text, flags=re.M)
    return re.sub(r"\s+", " ", re.sub(r"[*`]", "", text)).strip()


def retrieval_event(question: str, hits: list[tuple[Passage, float]]) -> dict[str, Any]:
    """答案依据的资料: 编号、标题、一小段摘要、分数。整段原文不发: 页面只需要让读者知道出处, 点开再看。"""
    sources = [{"id": n, "passage": p.id, "title": p.title, "snippet": plain(p.text)[:SNIPPET_CHARS],
                "score": round(score, 2)} for n, (p, score) in enumerate(hits, 1)]  # fmt: skip
    note = None if hits else "知识库里没有找到相关的段落: 下面的回答没有出处"
    return {"query": question, "sources": sources, "note": note}


def rag_messages(conversation: list[dict[str, str]], hits: list[tuple[Passage, float]]):
    listing = "\n\n".join(f"[{n}] {p.title}\n{p.text}" for n, (p, _) in enumerate(hits, 1))
    system = RAG_PROMPT.format(sources=listing or "(没有找到相关的资料)")
    return [
        {"role": "system", "content": system},
        *conversation,
    ]  # 系统提示词由服务器决定, 不由浏览器发来


async def rag_stream(response: Any, retrieval: dict[str, Any]) -> AsyncIterator[list]:
    """先交出检索结果 (在任何一个字之前), 再原样交出模型的增量; 最后把答案里的 [n] 整理成引用列表。"""
    yield [("event", ("retrieval", retrieval))]
    answer: list[str] = []
    async for batch in oa.raw_batches(response):
        answer += [value for kind, value in batch if kind == "content"]
        yield batch
    cited = citations("".join(answer), len(retrieval["sources"]))
    yield [("meta", {"citations": cited, "grounded": bool(cited)})]


def citations(answer: str, count: int) -> list[int]:
    r"""答案里真正存在的 [n]: 模型编出来的编号 ([0]、[7]) 不算。用 [0-9] 而不是 \d: Python 的 \d 也认 "٢"、"２",
    int() 也认它们, 页面却只把 ASCII 数字的 [n] 变成链接 —— 服务器和页面对"引用了哪几条"的看法就不一样了。"""
    return sorted({int(n) for n in re.findall(r"\[([0-9]+)\]", answer)} & set(range(1, count + 1)))


async def rag_endpoint(library: Library, service: Any, request: Request) -> Response:
    found: dict[str, Any] = {}

    async def prepare() -> list[dict[str, str]]:
        conversation = await chat.read_and_validate(request, service)
        question = conversation[-1]["content"]
        hits = library.search(question)
        found["retrieval"] = retrieval_event(question, hits)
        return rag_messages(conversation, hits)

    return await answer(service, request, prepare, lambda r: rag_stream(r, found["retrieval"]))


# --8<-- [end:rag]


async def answer(service: Any, request: Request, prepare, stream, **options: Any) -> Response:
    """和 06 的 /chat 一样: 先占名额, 再读请求体、请求模型; 流开始之前的问题回一个带中文说明的 JSON 错误。"""
    try:
        return await chat.chat_with_slot(
            service, request.receive, prepare, stream=stream, **options
        )
    except chat.ChatError as exc:
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)


# --8<-- [start:tools]
def tool(name: str, description: str, **params: str) -> dict[str, Any]:
    """一个 OpenAI 格式的工具定义; params: 参数名 → 说明 (都是字符串参数)。"""
    properties = {p: {"type": "string", "description": d} for p, d in params.items()}
    return {"type": "function", "function": {"name": name, "description": description,
            "parameters": {"type": "object", "properties": properties, "required": list(params)}}}  # fmt: skip


TOOL_SCHEMAS = [
    tool("calculator", "计算一个四则运算算式, 例如 (3+4)*12", expression="算式"),
    tool("current_time", "现在的日期和时间"),
    tool("search_lessons", "在这套教程的课程里搜索", query="要搜索的问题或关键词"),
]


class ToolError(Exception):
    """工具失败了: 消息会原样交给模型和页面 (它不含任何秘密)。"""


def calculator(expression: str) -> str:
    """算式交给 simpleeval: 只认数字和运算符, 绝不 eval —— 模型给的参数和用户的输入一样不可信。"""
    evaluator = SimpleEval(functions={})  # 不允许调用任何函数
    try:
        return str(evaluator.eval(expression.replace("^", "**")))
    except ZeroDivisionError:
        raise ToolError("除数是 0") from None
    except Exception as exc:  # 语法错、名字不认识、数字太大……
        raise ToolError(f"算不了 {expression!r}: {type(exc).__name__}") from None


def current_time() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


async def search_lessons(library: Library, delay: float, query: str) -> str:
    await asyncio.sleep(delay)  # 真的搜索要走网络; 这一段让"取消正在运行的工具"看得见
    hits = library.search(query)
    if not hits:
        return "没有找到相关的段落"
    return json.dumps([{"title": p.title, "text": p.text[:200]} for p, _ in hits], ensure_ascii=False)  # fmt: skip


@dataclass
class Outcome:
    result: str | None = None
    error: str | None = None
    duration_ms: int = 0


async def run_tool(tools: dict[str, Callable], name: str, arguments: str) -> Outcome:
    """按名字找到工具, 解析参数, 运行, 计时 (和第 05 课的 call_tool 一样: 出错是结果, 不是崩溃)。"""
    start = time.perf_counter()
    try:
        function = tools.get(name)
        if function is None:
            raise ToolError(f"没有名为 {name!r} 的工具")
        kwargs = json.loads(arguments or "{}")
        if not isinstance(kwargs, dict):
            raise ToolError("参数应当是一个 JSON 对象")
        result = function(**kwargs)
        if isinstance(result, Awaitable):
            result = await asyncio.wait_for(result, TOOL_TIMEOUT)
        outcome = Outcome(result=str(result))
    except (
        ToolError,
        ValueError,
        TypeError,
        TimeoutError,
    ) as exc:  # 坏参数、超时: 原样告诉模型和页面
        outcome = Outcome(error=str(exc) or type(exc).__name__)
    except (
        Exception
    ) as exc:  # 工具里的 bug、它连的服务挂了: 也是结果, 但消息可能带着内部地址, 只进日志
        log.exception("工具 %s 出错", name)
        outcome = Outcome(error=f"工具内部出错 ({type(exc).__name__})")
    except asyncio.CancelledError:  # 不是出错: 用户按了停止, 取消继续往外传
        log.warning("工具 %s 被取消 (用了 %.2f 秒)", name, time.perf_counter() - start)
        raise
    outcome.duration_ms = round((time.perf_counter() - start) * 1000)
    return outcome


# --8<-- [end:tools]


# --8<-- [start:agent]
class TooManySteps(chat.UserFacing):
    pass


TOOL_FAILED = "错误: "  # 工具失败时, 交给模型的结果以它开头: 模型据此知道要换个做法


def tool_calls(batch: list, calls: dict[int, dict[str, str]]) -> list:
    """把工具调用的碎片按 index 拼起来 (第 05 课); 交出其余的部分 (思考、文字、用量)。"""
    rest = []
    for kind, value in batch:
        if kind != "tool_call":
            rest.append((kind, value))
            continue
        call = calls.setdefault(value["index"], {"id": "", "name": "", "arguments": ""})
        call["id"] = value.get("id") or call["id"]
        function = value.get("function") or {}
        call["name"] += function.get("name") or ""
        call["arguments"] += function.get("arguments") or ""
    return rest


async def agent_stream(
    service: Any, tools: dict, response: Any, messages: list
) -> AsyncIterator[list]:
    """智能体的循环: 读模型 → 它要调用工具就执行, 结果放回对话 → 再问模型, 直到它给出回答。
    每次调用都是一对事件: 参数齐了就发 tool_start, 结果回来就发 tool_end; 中间那一轮的 finish 不往外传。"""
    messages = list(messages)
    for step in range(1, MAX_STEPS + 1):
        calls: dict[int, dict[str, str]] = {}
        finish = None
        async with AsyncExitStack() as stack:
            if step > 1:  # 第一轮的响应已经由 06 的 open_upstream 拿到了
                opening = oa.open_raw_stream(stack, service.client, service.settings.target.model, messages, tools=TOOL_SCHEMAS)  # fmt: skip
                response = await asyncio.wait_for(opening, service.settings.headers_timeout)
            # 读者走了: 当场关闭
            batches = await stack.enter_async_context(aclosing(oa.raw_batches(response)))
            async for batch in batches:
                rest = tool_calls(batch, calls)
                finish = next((v for k, v in rest if k == "finish"), finish)
                if visible := [(k, v) for k, v in rest if k != "finish"]:
                    yield visible
        if finish != "tool_calls":
            if finish:
                yield [("finish", finish)]
            return  # 没有 finish: 06 会说"模型的流意外结束"
        if step == MAX_STEPS:
            break  # 这一轮要的工具不再运行: 它们的结果已经没有模型会读了
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in calls.values()]})  # fmt: skip
        for call in calls.values():
            yield [("event", ("tool_start", {"id": call["id"], "name": call["name"], "args": parse_args(call["arguments"])}))]  # fmt: skip
            outcome = await run_tool(tools, call["name"], call["arguments"])
            yield [("event", ("tool_end", {"id": call["id"], "result": outcome.result, "error": outcome.error, "duration_ms": outcome.duration_ms}))]  # fmt: skip
            content = outcome.result if outcome.error is None else f"{TOOL_FAILED}{outcome.error}"
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    raise TooManySteps(f"智能体调用了 {MAX_STEPS} 轮模型还没有给出回答, 停下了")


def parse_args(arguments: str) -> Any:
    try:
        return json.loads(arguments or "{}")
    except ValueError:
        return arguments  # 模型给的参数不是 JSON: 原样给页面看 (run_tool 会报错)


async def agent_endpoint(tools: dict, service: Any, request: Request) -> Response:
    kept: dict[str, Any] = {}

    async def prepare() -> list[dict[str, str]]:
        kept["messages"] = await chat.read_and_validate(request, service)
        return kept["messages"]

    def stream(response: Any) -> AsyncIterator[list]:
        return agent_stream(service, tools, response, kept["messages"])

    return await answer(service, request, prepare, stream, tools=TOOL_SCHEMAS)


# --8<-- [end:agent]


# --8<-- [start:langchain]
def langchain_agent(target: Any, library: Library, delay: float):
    """同一个智能体, 用 LangChain 来写: 今天的写法是 create_agent (旧的 AgentExecutor 已经不用了)。
    工具抛 ToolException 时, handle_tool_error=True 让它变成一条 status="error" 的工具结果, 智能体接着走。"""
    from langchain.agents import create_agent
    from langchain_core.tools import StructuredTool, ToolException
    from langchain_openai import ChatOpenAI

    def wrap(function: Callable, name: str) -> Callable:
        async def call(**kwargs: Any) -> str:
            outcome = await run_tool({name: function}, name, json.dumps(kwargs))
            if outcome.error is not None:
                raise ToolException(f"{TOOL_FAILED}{outcome.error}")
            return outcome.result or ""

        return call

    functions = tool_functions(library, delay)
    lc_tools = [
        StructuredTool.from_function(coroutine=wrap(functions[s["function"]["name"]], s["function"]["name"]),
                                     name=s["function"]["name"], description=s["function"]["description"],
                                     args_schema=s["function"]["parameters"], handle_tool_error=True)
        for s in TOOL_SCHEMAS
    ]  # fmt: skip
    model = ChatOpenAI(model=target.model, base_url=target.base_url, api_key=target.api_key, streaming=True, stream_usage=True)  # fmt: skip
    return create_agent(model, tools=lc_tools)


async def langchain_stream(agent: Any, messages: list) -> AsyncIterator[list]:
    """astream_events(version="v2") 的事件, 换成和 SDK 写法一样的 (种类, 值)。"""
    finish, started = None, {}  # started: 工具的 run_id → 开始的时刻
    async for ev in agent.astream_events({"messages": messages}, version="v2"):
        kind, data = ev["event"], ev["data"]
        if kind == "on_chat_model_stream":
            chunk = data["chunk"]
            if reasoning := chunk.additional_kwargs.get(
                "reasoning_content"
            ):  # ChatOpenAI 不给; ChatDeepSeek 给
                yield [("reasoning", reasoning)]
            if isinstance(chunk.content, str) and chunk.content:
                yield [("content", chunk.content)]
        elif kind == "on_chat_model_end":
            output = data["output"]
            finish = output.response_metadata.get("finish_reason")
            if usage := output.usage_metadata:
                yield [("usage", {"completion_tokens": usage["output_tokens"]})]
        elif kind == "on_tool_start":
            started[ev["run_id"]] = time.perf_counter()
            yield [("event", ("tool_start", {"id": ev["run_id"], "name": ev["name"], "args": data.get("input")}))]  # fmt: skip
        elif kind == "on_tool_end":
            output = data["output"]
            failed = getattr(output, "status", "success") == "error"
            text = str(getattr(output, "content", output))
            took = round((time.perf_counter() - started.pop(ev["run_id"], time.perf_counter())) * 1000)  # fmt: skip
            yield [("event", ("tool_end", {"id": ev["run_id"], "result": None if failed else text,
                   "error": text.removeprefix(TOOL_FAILED) if failed else None, "duration_ms": took}))]  # fmt: skip
    if finish:
        yield [("finish", finish)]


async def langchain_endpoint(agent: Any, service: Any, request: Request) -> Response:
    """LangChain 自己调用模型, 所以没有 "先拿到上游的响应头" 这一步: 连不上模型只能变成流里的 error 事件。"""
    service.limit.acquire()
    try:
        messages = await chat.read_and_validate(request, service)
    except chat.ChatError as exc:
        service.limit.release()
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
    except BaseException:
        service.limit.release()
        raise
    leaving = asyncio.ensure_future(chat.until_disconnected(request.receive))

    async def cleanup() -> None:
        service.limit.release()

    async def nothing_to_close() -> None:
        pass

    batches = langchain_stream(agent, messages)
    return chat.stream_response(service.settings, batches, leaving, cleanup, nothing_to_close)


# --8<-- [end:langchain]


# --8<-- [start:sentences]
SENTENCE_END = re.compile(r"[。！？!?\n]")
SENTENCE_WAIT = 0.5  # 一句话最多攒几秒


async def by_sentence(batches: AsyncIterator[list], max_wait: float = SENTENCE_WAIT):
    """按句子发: 攒到句号、问号、换行才交出一段 (语音合成要整句; 引用 [n] 也跟在句子后面)。
    但一段文字最多攒 max_wait 秒, 即使模型说到一半停下来: 只在下一批到来时才看表是不够的。
    其余种类 (思考、finish、用量) 随到随交, 但先让攒着的文字出去: 顺序不变。"""
    loop = asyncio.get_running_loop()
    source, reading = aiter(batches), None  # reading: 正在等的下一批
    pending, deadline = "", 0.0
    try:
        while True:
            reading = reading or asyncio.ensure_future(anext(source, None))
            # 带期限地等, 但到期不取消读取 (wait_for 会取消它, 取消穿进上游, 后面的字就全丢了)
            done, _ = await asyncio.wait({reading}, timeout=max(0.0, deadline - loop.time()) if pending else None)  # fmt: skip
            if not done:
                yield [("content", pending)]  # 等太久了: 没说完也先发, 读取接着挂着
                pending = ""
                continue
            finished, reading = reading, None
            if finished.exception() and pending:
                yield [("content", pending)]  # 上游出错: 先交出已经有的
                pending = ""
            batch = finished.result()  # 出错就在这里抛出去
            if batch is None:
                break
            out = []
            for kind, value in batch:
                if kind != "content":
                    out += [("content", pending), (kind, value)] if pending else [(kind, value)]
                    pending = ""
                    continue
                deadline = deadline if pending else loop.time() + max_wait  # 期限从最早的那个字算起
                pending += value
                cut = max((m.end() for m in SENTENCE_END.finditer(pending)), default=0)
                if cut:
                    out.append(("content", pending[:cut]))
                    pending, deadline = pending[cut:], loop.time() + max_wait  # 剩下的字是刚到的
            if out:
                yield out
        if pending:
            yield [("content", pending)]
    finally:
        if reading:  # 消费者提前走了: 取消还挂着的读取, 等它结束
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)


# --8<-- [end:sentences]


def tool_functions(library: Library, delay: float) -> dict[str, Callable]:
    return {"calculator": calculator, "current_time": current_time,
            "search_lessons": partial(search_lessons, library, delay)}  # fmt: skip


def routes(args: Any, library: Library) -> Callable[[Any], dict[str, Any]]:
    """POST 路径 → 处理函数。智能体用哪个引擎, 由 --engine 决定; 模型服务要等 06 选好之后才知道。"""

    def build(target: Any) -> dict[str, Any]:
        tools = tool_functions(library, args.tool_delay)
        agent = partial(agent_endpoint, tools)
        if args.engine == "langchain":
            agent = partial(langchain_endpoint, langchain_agent(target, library, args.tool_delay))
        return {"/chat": chat.chat_endpoint, "/rag": partial(rag_endpoint, library), "/agent": agent}  # fmt: skip

    return build


def main(argv: list[str] | None = None) -> int:
    parser = chat.build_parser("第 07 课: RAG 与智能体的事件流", port=PORT)
    parser.add_argument("--engine", choices=["sdk", "langchain"], default="sdk", help="智能体由谁驱动 (默认 sdk: openai SDK 写的循环)")  # fmt: skip
    parser.add_argument("--tool-delay", type=float, default=TOOL_DELAY, help=f"search_lessons 模拟搜索的耗时, 秒 (默认 {TOOL_DELAY})")  # fmt: skip
    args = parser.parse_args(argv)
    chat.console.print("正在为课程建立索引……", style="dim")
    library = Library(read_passages())
    chat.console.print(f"知识库: lessons/ 下 {len(library.passages)} 段资料", style="dim")
    return chat.run(args, routes(args, library), modes=("chat", "rag", "agent"))


if __name__ == "__main__":
    raise SystemExit(main())
