"""第 07 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "07_rag_stream": [
        "第一件事: hits = await search(question), 马上 yield retrieval 事件。在这之前不要碰 ask_model ——"
        " 模型想多久, 读者就会对着空白等多久。",
        'sources 用 enumerate(hits, 1) 编号; snippet = hit["text"][:SNIPPET_CHARS]。'
        "note: hits 为空时是一句说明, 否则是 None。",
        "读模型: async for text in ask_model(question, hits): 空字符串跳过; 每片 yield 一个 delta,"
        " 同时 append 到一个列表 (最后要在全文里找引用)。",
        '引用在拼好的全文里找: re.findall(r"\\[([0-9]+)\\]", "".join(answer))。'
        '为什么不用 \\d? 在 Python 里它也匹配 "٢"、"２", int() 也认它们。',
        "只留下确实存在的编号: sorted({int(n) for n in found} & set(range(1, len(sources) + 1)))。"
        " grounded = bool(citations)。",
    ],
    "07_by_sentence": [
        "难点在'上游一片都没来时, 也要按时交出'。只在下一片到来时才看时间不够:"
        " 等下一片的时候就要带上期限。",
        "但不能用 asyncio.wait_for(anext(source), 剩下的时间): 超时会取消那次读取, 取消穿进上游的生成器,"
        " 它就结束了, 后面的文字全丢。要让读取在超时后接着挂着: reading = asyncio.create_task(next_item()),"
        " 其中 async def next_item(): return await anext(source, END) (END = object(), 表示读完了)。",
        "done, _ = await asyncio.wait({reading}, timeout=...): done 是空的, 就是到期了 —— 交出攒着的文字,"
        " reading 不动, 下一圈接着等它。没有攒着的文字时 timeout=None (一直等)。",
        "期限: 文字从空变成非空时 deadline = loop.time() + max_wait (loop = asyncio.get_running_loop());"
        " 切出句子之后剩下的字是刚到的, 重新算。切在最后一个结尾:"
        " cut = max((m.end() for m in SENTENCE_END.finditer(pending)), default=0)。",
        "不是文字的一项: if pending: 先 yield 攒着的文字, 再 yield 它。reading.result() 抛异常时:"
        " 也是先交出攒着的, 再 raise。",
        "finally: reading 还挂着就 reading.cancel(); await asyncio.gather(reading, return_exceptions=True);"
        " 最后 await source.aclose()。顺序不能反: 读取还在跑时 aclose() 会报 'already running'。",
    ],
    "07_run_tool": [
        "整个过程放进一个 try: 找工具 (没有就 raise ToolError(带上名字的说明)), kwargs = json.loads(arguments or"
        ' "{}"), 检查 isinstance(kwargs, dict), 调用 function(**kwargs)。出错都在 except 里变成 Outcome(error=...)。',
        "普通函数直接给出返回值, async 函数给出一个 awaitable: if inspect.isawaitable(result):"
        " result = await asyncio.wait_for(result, timeout)。wait_for 到期时会取消工具, 再抛 asyncio.TimeoutError。",
        "捕获 Exception, 不要捕获 BaseException, 也不要 except asyncio.CancelledError 然后 return:"
        " CancelledError 是 BaseException, 它要继续往外传。asyncio.TimeoutError 单独捕获, 说明里写'超时'。",
        "两个 except: (ToolError, ValueError, TypeError) 的说明是 str(exc) or type(exc).__name__;"
        ' 其余的 Exception: log.exception(...) 记下原文, 说明只写类名 f"工具内部出错 ({type(exc).__name__})"。'
        " 计时: start = time.perf_counter() 放在 try 之前,"
        " 最后 round((time.perf_counter() - start) * 1000)。",
    ],
    "07_agent_loop": [
        "先写一轮: calls = {}; finish = None; async with aclosing(model(messages)) as stream:"
        ' async for kind, value in stream: "tool_call" 交给 add_fragment, "finish" 记下来, 其余原样 yield。',
        'finish != "tool_calls": 有 finish 就 yield ("finish", finish), 然后 return。否则把 assistant 的 tool_calls'
        " 消息放进对话 —— 开头先 messages = list(messages), 不要改调用者的列表。",
        "每个调用 (按 index 从小到大): yield tool_start → result, error = await 运行工具 → yield tool_end →"
        " messages.append(tool 消息)。直接 await 工具: 任务被取消时, CancelledError 就从这里穿进工具。",
        "运行工具: try: ... except Exception as exc: 返回 (None, str(exc) or type(exc).__name__)。"
        " 不认识的名字、坏 JSON 都在 try 里 raise。不要捕获 BaseException: 取消不是工具出错。",
        "外面一层 for step in range(1, max_steps + 1); 循环走完还没有 return, 就 raise TooManySteps(带上 max_steps 的说明)。"
        " 最后一轮模型还要调用工具时, 运行了也没有模型会读结果 —— 可以直接 break。",
    ],
}
