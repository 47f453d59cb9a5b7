"""第 01 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "01_lazy_stages": [
        "函数体里只要出现 yield, 调用它就只会返回一个生成器, 函数体要等第一次 next() 才开始执行。",
        "keep 的骨架: for piece in stream: 然后 if predicate(piece): yield piece。transform 更简单。",
        "不要先 items = list(stream): 无限的上游会让它永远不返回, 首字时间也变成了总时间。",
    ],
    "01_rechunk": [
        "参数检查要在调用时就报错: 写一个普通函数检查 size, 再 return 一个内部生成器"
        " (第 01 课「常见误区」第 1 条)。",
        "用一个字符串 buffer 攒字符: 每来一片就 buffer += piece, 然后"
        " while len(buffer) >= size: yield buffer[:size]; buffer = buffer[size:]。",
        "上游结束后, buffer 里可能还剩不到 size 个字符: if buffer: yield buffer。",
    ],
    "01_budget": [
        "在 yield 之前检查额度: 已经交出 max_chars 个字, 就不要再去取下一片 (取下一片 = 再等模型一个 token)。",
        "把整个循环放进 try/finally, 在 finally 里调用 stream.close(): 正常结束、额度用完、"
        "消费者 close() 你的生成器 (GeneratorExit 出现在 yield 处), 都会走到 finally。",
        "用 iter(stream) 手动 next(), 或者 for piece in stream 都可以; 最后一片超出额度时, 交出 piece[:剩余额度]。",
    ],
}
