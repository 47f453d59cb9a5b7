"""第 02 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "02_item_timeout": [
        '不要用 async for 读上游: 期限要包住的是"等下一片"这一步。手动写: item = await anext(stream)。',
        "asyncio.wait_for(anext(stream), seconds) 超时会抛 asyncio.TimeoutError (3.11 起它就是内置的"
        " TimeoutError); 上游读完时 anext 抛 StopAsyncIteration, 这时 return。",
        "整个循环放进 try/finally, finally 里 await stream.aclose(): 消费者提前停下时, 上游还暂停在 yield 处。",
    ],
    "02_line_reader": [
        "先按字节切行, 再解码: 一个汉字的三个字节可能分在两次 recv() 里, 整行凑齐了才 decode。",
        '*lines, buffer = buffer.split(b"\\n") —— 最后一段是还没结束的半行, 留着等下一次。',
        "用 try/finally 包住整个循环, finally 里 await conn.aclose()。不要写 except BaseException 或裸 except:"
        " 取消 (CancelledError) 会从 recv() 里冒出来, 让它穿过 finally 继续往外传。",
    ],
    "02_merge": [
        "结构和第 02 课 §6 一样: 每条流一个生产者任务 (asyncio.create_task), merge 自己是消费者;"
        " 队列是 asyncio.Queue(maxsize)。",
        '队列里放 (种类, 值): ("item", x)、("error", exc)、("done", None)。数到和流一样多的 done 就结束;'
        " 收到 error 就 raise。",
        "生产者任务被取消时, 流可能正暂停在 yield 处 (任务停在 queue.put 上): 用 async with"
        " contextlib.aclosing(stream) 包住读流的循环, 它的 finally 才会执行。",
        "merge 的 finally: 对每个任务 task.cancel(), 然后 await asyncio.gather(*tasks, return_exceptions=True)"
        " —— 等它们真正结束, 检查才数不出遗留的任务。",
    ],
}
