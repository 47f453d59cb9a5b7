"""练习 08_lease (★★★): 主人死了, 读者替它写下结尾 —— 结尾只能有一个

一个被 kill -9 的 worker 什么都来不及做: 它正在生成的 run 永远等不到 done。第 08 课的办法:
生成者定期续租约 (一个会过期的键); 读者等不到新事件时看一眼租约, 租约没了而 run 还没结束, 就替它写下一条 error。
几个读者可能同时发现 —— 结尾只能有一个; 结尾之后的追加 (比如主人只是卡住了, 醒来接着写) 一律拒绝。

FakeRedis 是一个假的 Redis (已经写好, 在下面)。和真的一样, 每个 await r.命令(...) 都是一次网络往返:
往返途中, 别的任务 (别的读者、醒过来的主人) 都能插进来执行它们的命令。
await r.eval(script, *args) 像 EVAL 一段 Lua 脚本: script(server, *args) 在"服务器"上一口气执行完,
中间插不进任何别的命令; 脚本里用 server.hget(...) 这样的同步方法, 就像 Lua 里的 redis.call('HGET', ...)。

一个 run 是三个键 (keys(run_id), 和第 08 课一样):
    events  一个流: [(位置, 事件名, 数据), ...], 位置从 1 连续编号, 就是 SSE 的 id
    meta    一个哈希: state ("running" 或 "finished")、last (最后一条的位置, 字符串)、owner
    lease   主人的租约: 一个会过期的键。主人定期续约 (heartbeat); 停止续约 lease 秒之后, 它就不存在了

任务:
    1. append(r, run_id, records, final=False, orphan_only=False) 追加一批事件 [(事件名, 数据), ...],
       返回最后一条的位置:
       - 没有这个 run: 返回 NO_RUN, 什么都不写;
       - run 已经结束: 返回 FINISHED, 一条也不写 (终止事件只能有一个, 结尾之后不能再有文字);
       - orphan_only=True (替死去的主人收尾) 而主人的租约还在: 返回 OWNER_ALIVE, 什么都不写;
       - 否则接着 last 编号、写入、更新 last; final=True (这一批以 done/error 结尾) 时把 state 设成 "finished"。
       整批要么都写下, 要么都不写。几个同时的调用, 不能写到同一个位置, 也不能都"赢"。
    2. watch(r, run_id, after, poll) 是一个异步生成器 (一个读者): 交出位置大于 after 的每一条,
       交出 done 或 error 之后结束。用 await r.xread(events, after, block=poll) 等新事件;
       等了 poll 秒还是没有, 就看一眼 await state(r, run_id):
       - run 不存在, 或者已经结束而你已经读到了最后一条: 结束;
       - 还没结束而主人的租约已经没了: await append(r, run_id, [ORPHANED], final=True, orphan_only=True),
         然后接着读 —— 结尾不管是谁写下的, 每个读者都从日志里读到它。

做完的样子:
    - 十个读者同时发现主人死了: 恰好一个写成功, 日志里只有一条 error, 每个读者都收到这同一条;
    - 主人卡住又醒来, 正好和读者的收尾撞在一起: 位置不重复, 结尾之后没有文字;
    - 主人还活着 (按时续约), 只是很久不说话 (模型在想): 谁都不替它收尾;
    - 主人被 kill -9: 读者在大约 lease + poll 秒内收到结尾;
    - 安静地等着时, 读者每 poll 秒只发几个命令, 不是忙等;
    - 读者的任务被取消 (浏览器走了): 取消往外传, 日志里不多出任何东西, 不留下任务。

运行:
    python exercises/check.py 08_lease
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

Entry = tuple[int, str, str]  # (位置, 事件名, JSON 文本)
TERMINAL = ("done", "error")  # 一个 run 的最后一条一定是其中之一
NO_RUN = -1  # append 的返回值: 没有这个 run
FINISHED = -2  # 它已经结束了: 一条也没写
OWNER_ALIVE = -4  # orphan_only, 而主人的租约还在: 一条也没写
ORPHANED = (
    "error",
    '{"message": "生成这个回答的服务器意外停止了, 回答不完整", "reason": "orphaned"}',
)


class ResponseError(Exception):
    """Redis 拒绝了一个命令 (和 redis-py 的 ResponseError 一样)。"""


class Server:
    """服务器上的数据和命令 (同步的; 已经写好)。eval 的脚本里用的就是它, 就像 Lua 里的 redis.call。"""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.expires: dict[str, float] = {}  # 键 → 过期的时刻 (time.monotonic)
        self.changed = asyncio.Event()  # 每次 xadd 都 set, 然后换一个新的 (xread 的 block 用它)

    def exists(self, key: str) -> bool:
        if key in self.expires and self.expires[key] <= time.monotonic():
            self.delete(key)  # 过期了
        return key in self.data

    def set(self, key: str, value: str, px: int | None = None) -> None:
        """SET key value [PX 毫秒]: px 毫秒之后, 这个键就不存在了。"""
        self.data[key] = value
        self.expires.pop(key, None)
        if px is not None:
            self.expires[key] = time.monotonic() + px / 1000

    def delete(self, key: str) -> None:
        self.data.pop(key, None)
        self.expires.pop(key, None)

    def hget(self, key: str, field: str) -> str | None:
        return self.data[key].get(field) if self.exists(key) else None

    def hset(self, key: str, **fields: str) -> None:
        """HSET key 字段 值 ...: 例如 server.hset(meta, state="finished", last="7")。"""
        if not self.exists(key):
            self.data[key] = {}
        self.data[key].update(fields)

    def xadd(self, key: str, position: int, name: str, data: str) -> None:
        """XADD key 0-位置 ...: 和真的 Redis 一样, 位置必须比流里最后一条的大, 否则报错。"""
        stream = self.data.setdefault(key, [])
        if position < 1 or (stream and position <= stream[-1][0]):
            top = stream[-1][0] if stream else 0
            raise ResponseError(f"XADD 的 id 0-{position} 不比流里最后一条 0-{top} 大")
        stream.append((position, name, data))
        self.changed.set()
        self.changed = asyncio.Event()

    def xrange(self, key: str, after: int) -> list[Entry]:
        """位置大于 after 的全部事件。"""
        return [entry for entry in self.data.get(key, []) if entry[0] > after]


class FakeRedis:
    """客户端 (已经写好)。每个命令都是一次网络往返; calls 数一数一共发了几个命令。"""

    def __init__(self) -> None:
        self.server = Server()
        self.calls = 0

    async def _call(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        await asyncio.sleep(0)  # 命令在路上: 别的任务可以先执行它们的命令
        result = command(*args, **kwargs)
        await asyncio.sleep(0)  # 结果在路上
        return result

    async def exists(self, key: str) -> bool:
        return await self._call(self.server.exists, key)

    async def set(self, key: str, value: str, px: int | None = None) -> None:
        await self._call(self.server.set, key, value, px)

    async def delete(self, key: str) -> None:
        await self._call(self.server.delete, key)

    async def hget(self, key: str, field: str) -> str | None:
        return await self._call(self.server.hget, key, field)

    async def hset(self, key: str, **fields: str) -> None:
        await self._call(self.server.hset, key, **fields)

    async def xadd(self, key: str, position: int, name: str, data: str) -> None:
        await self._call(self.server.xadd, key, position, name, data)

    async def eval(self, script: Callable[..., Any], *args: Any) -> Any:
        """像 EVAL 一段 Lua 脚本: script(server, *args) 一口气执行完, 中间插不进任何别的命令。"""
        return await self._call(script, self.server, *args)

    async def xread(self, key: str, after: int, block: float) -> list[Entry]:
        """XREAD BLOCK: 位置大于 after 的事件; 暂时没有就等, 最多等 block 秒, 还没有就返回 []。"""
        self.calls += 1
        await asyncio.sleep(0)
        deadline = time.monotonic() + block
        while not (entries := self.server.xrange(key, after)):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(self.server.changed.wait(), left)
            except asyncio.TimeoutError:
                break
        await asyncio.sleep(0)
        return entries


def keys(run_id: str) -> tuple[str, str, str]:
    """一个 run 的三个键: events、meta、lease。"""
    tag = "{" + run_id + "}"
    return f"run:{tag}:events", f"run:{tag}:meta", f"run:{tag}:lease"


async def create(r: FakeRedis, run_id: str, owner: str, lease: float) -> None:
    """新建一个 run, 为 owner 拿下租约 (已经写好)。"""
    _, meta, lease_key = keys(run_id)
    await r.hset(meta, state="running", last="0", owner=owner)
    await r.set(lease_key, owner, px=int(lease * 1000))


async def heartbeat(r: FakeRedis, run_id: str, owner: str, lease: float) -> None:
    """主人续租约 (已经写好)。主人每隔不到 lease 秒调用一次; 不再调用, lease 秒后租约就没了。"""
    await r.set(keys(run_id)[2], owner, px=int(lease * 1000))


@dataclass
class RunState:
    finished: bool  # 最后一条 (done / error) 已经写下了
    last: int  # 最后一条的位置
    lease_alive: bool  # 主人的租约还在吗


async def state(r: FakeRedis, run_id: str) -> RunState | None:
    """看一眼 run 的状态 (已经写好)。没有这个 run: None。三个命令, 不是原子的: 只能用来"看一眼"。"""
    _, meta, lease_key = keys(run_id)
    current = await r.hget(meta, "state")
    if current is None:
        return None
    last = int(await r.hget(meta, "last") or 0)
    return RunState(current == "finished", last, await r.exists(lease_key))


async def append(
    r: FakeRedis,
    run_id: str,
    records: list[tuple[str, str]],
    final: bool = False,
    orphan_only: bool = False,
) -> int:
    # TODO 1: 检查 state 和租约 → 接着 last 编号 → 写入每一条 → 更新 meta。
    #         这几步之间不能让别的命令插进来 (看看 FakeRedis 给了你什么)
    raise NotImplementedError("TODO: 实现 append")


async def watch(r: FakeRedis, run_id: str, after: int, poll: float) -> AsyncIterator[Entry]:
    # TODO 2: 循环: 用 r.xread 等新事件, 交出每一条 (after 跟着前进), 交出 done/error 就 return
    # TODO 3: 什么都没等到: 看一眼 state; 该结束就结束; 主人的租约没了就替它写下 ORPHANED
    raise NotImplementedError("TODO: 实现 watch")
    yield  # 有了 yield, 这个函数才是异步生成器
