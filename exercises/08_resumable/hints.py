"""第 08 课练习的提示: python exercises/check.py --hint NAME 一次显示一条。"""

HINTS = {
    "08_resume_after": [
        "Last-Event-ID 是客户端收到的最后一条的位置, 所以要发的是位置 n + 1 起的事件。"
        "位置 = 下标 + 1, 于是 entries[n:] 正好是它们。",
        '判断"是不是我们发出去的位置"不要用 isdigit() 或 try: int(...): 用 re.fullmatch(r"[0-9]{1,9}", raw)。'
        " isdigit() 认 '٣'、'３'、'²'; int() 认 '-1'、'+3'、' 3'、'1_0', 五千位的数字还会抛 ValueError。",
        "认出了一个数字 n, 还要看 n <= last: 比最后一条还大的位置 (比如同一个 run id 的新日志) 也从头读。",
        "to_send: 先 after = resume_after(raw, len(entries)); finished 而且 after == len(entries) 时返回 None, "
        "否则返回 list(entries[after:]) —— 还在生成时, 它可以是 []。",
    ],
    "08_follow": [
        '不要记"上次看到日志有多长", 只记 after = 已经交出的最后一条的位置。每次要交出东西之前, 都重新看 log.entries[after:]。',
        "你停在 yield 处的时候, 生成者可能追加了好几条。所以交出一条之后不能直接去等 log.changed: 先回到循环开头,"
        " 再看一遍日志; 真的没有新的了, 才去等。",
        "看日志和开始等之间不要有 await: 那样就不会有追加溜过去。"
        " 等的时候用 await asyncio.wait_for(log.changed.wait(), keepalive); 超时 (asyncio.TimeoutError) 就 yield None。",
        "wait_for 被取消时, 会把里面的 log.changed.wait() 一起取消: 什么都不会留下。"
        " 自己 create_task(log.changed.wait()) 再 asyncio.wait(..., timeout=...) 的话, 超时和取消时都要记得取消那个任务。",
        "结束的两种情况: 刚交出的是 done / error —— return; 没有新的了而且 log.finished —— 也 return (不要去等)。",
    ],
    "08_lease": [
        "append 的每一步 (hget、exists、xadd、hset) 都是一次往返, 往返途中别的调用能插进来。"
        ' 十个读者都先 hget 到 "running", 然后都去写 —— 这就是"两个结尾"。',
        "把整个 append 写成一个同步函数 script(server, ...), 里面用 server.hget / server.exists / server.xadd / server.hset,"
        " 然后 return await r.eval(script, ...)。脚本执行的时候, 别人插不进来 —— 这正是第 08 课的 APPEND Lua 脚本。",
        '脚本里的顺序: state 是 None -> NO_RUN; 不是 "running" -> FINISHED; orphan_only 而 server.exists(lease) -> OWNER_ALIVE;'
        ' 然后 last = int(hget(meta, "last")), 每条 last += 1 再 xadd; 最后 hset(meta, last=str(last)), final 时再加 state="finished"。',
        "watch 的循环: entries = await r.xread(events, after, block=poll); 交出每一条, after = 它的位置, 遇到 done/error 就 return。"
        " 读到了东西就回到循环开头; 什么都没读到, 才 await state(r, run_id)。",
        "state 是 None 或者 (finished 而且 after >= last): return。没结束而 lease_alive 是 False:"
        " await append(r, run_id, [ORPHANED], final=True, orphan_only=True), 不管它返回什么, 接着读 —— 结尾会出现在日志里。",
    ],
}
