"""第 06 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "06_chat_events": [
        '一个小函数: f"event: {name}\\ndata: {json.dumps(payload, ensure_ascii=False)}\\n\\n".encode()。'
        " JSON 把换行写成 \\n 两个字符, 所以 data 永远只有一行。",
        "finish 和 usage 先记在变量里, 循环结束之后再决定发 done 还是 error。",
        "try: async for ... except UpstreamError as exc: yield 一个 error 事件, 然后 return —— 不要 raise。",
    ],
    "06_stream_limit": [
        "open_limited 用 def 而不是 async def: 先 if not limit.try_acquire(): raise Busy(...), 再返回流对象。",
        "为什么不能用异步生成器 + finally? 在第一次 anext() 之前 aclose(), 函数体根本没有开始执行, finally 也不会执行。"
        " 写一个类: __aiter__ 返回 self, __anext__ 读 source, aclose 归还名额并关闭 source。",
        "__anext__ 里: try: return await anext(self.source) except BaseException: 归还; raise ——"
        " 读完 (StopAsyncIteration)、出错、被取消都会经过这里。",
        '用一个布尔值记住"名额还在不在我手里", 归还时先检查它: 这样无论调用几次, 只归还一次。',
    ],
    "06_coalesce": [
        "第 06 课 §8 的 relay 就是这个结构: 一个读任务把片 append 进列表并 wake.set(); 主循环 await wake.wait()。",
        '主循环: 等 wake -> wake.clear() -> 有东西就 yield "".join(buffer) 并清空 -> await asyncio.sleep(window)。'
        " 歇着的这段时间里到达的片会被合在一起; 安静时主循环停在 wake.wait(), 新的一片一来就立刻醒来。",
        "读任务用 try/except/finally: 出错时把异常存起来, finally 里标记 done 并 wake.set()。"
        " 主循环在 done 且 buffer 为空时退出, 然后如果有存起来的异常就 raise。",
        "最外层 finally: reader.cancel(); await asyncio.gather(reader, return_exceptions=True)。",
    ],
    "06_relay": [
        "两件事要同时等: 上游的下一块, 和客户端的断开。各开一个任务: forwarding (async for ... await send)"
        " 和 watching (循环 await receive(), 直到 type 是 http.disconnect)。",
        "done, pending = await asyncio.wait({forwarding, watching}, return_when=asyncio.FIRST_COMPLETED)。"
        " forwarding 没结束 -> 客户端断开了。forwarding 结束了 -> forwarding.result() 会抛出它的异常 (如果有)。",
        'forwarding.result() 抛 ConnectionError 时返回 "disconnected"; 其他异常让它继续往外抛。',
        "finally: 取消两个任务, await asyncio.gather(..., return_exceptions=True), 最后 await upstream.aclose()。"
        ' 顺序很重要: 任务还在读上游时就 aclose(), 会得到 "asynchronous generator is already running"。',
    ],
    "06_safe_render": [
        "两步: marked.parse(text) 得到 HTML, DOMPurify.sanitize(html, 设置) 清理它, 然后才赋给 box.innerHTML。"
        " 顺序不能反: 先清理再转换, Markdown 可以重新造出 javascript: 链接。",
        "DOMPurify 的默认设置挡住了脚本, 但不挡 <img>、<video>、style、<form>、id。用白名单:"
        " {ALLOWED_TAGS: [Markdown 需要的标签…], ALLOWED_ATTR: ['href', 'title', 'start', 'align']}。",
        "Markdown 图片: marked.use({renderer: {image: ({href, text}) => 转义后的 `[图片: ${text || href}]`}})"
        " —— 这段文字会被当成 HTML, 所以先把 & < > \" ' 换成字符实体。",
        '链接: DOMPurify.addHook("afterSanitizeAttributes", (node) => { if (node.tagName === "A") 设置 target 和 rel })。',
        "marked.use 和 DOMPurify.addHook 都是全局的: 放在函数外面, 只调用一次。第 06 课 chat.html 的第 3 段就是完整的写法。",
    ],
}
