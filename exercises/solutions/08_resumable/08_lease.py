"""参考答案: 练习 08_lease —— 主人死了, 读者替它写下结尾。先自己做, 再来对照。

append 就是第 08 课的 APPEND Lua 脚本 (第 4 节), 用 Python 写; watch 就是 LogStreamResponse.events (第 3 节),
去掉了保活。FakeRedis 等"已经写好"的部分和练习文件一模一样。
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


def append_script(
    server: Server, run_id: str, records: list[tuple[str, str]], final: bool, orphan_only: bool
) -> int:
    """在"服务器"上一口气执行: 检查、编号、写入、结束, 中间插不进别的命令 (第 08 课的 APPEND)。"""
    events, meta, lease_key = keys(run_id)
    current = server.hget(meta, "state")
    if current is None:
        return NO_RUN
    if current != "running":
        return FINISHED  # 终止事件只能有一个; 结尾之后什么都不写
    if orphan_only and server.exists(lease_key):
        return OWNER_ALIVE  # 主人还活着: 不替它收尾
    last = int(server.hget(meta, "last") or 0)
    for name, data in records:
        last += 1
        server.xadd(events, last, name, data)
    if final:
        server.hset(meta, last=str(last), state="finished")
        server.delete(lease_key)
    else:
        server.hset(meta, last=str(last))
    return last


async def append(
    r: FakeRedis,
    run_id: str,
    records: list[tuple[str, str]],
    final: bool = False,
    orphan_only: bool = False,
) -> int:
    return await r.eval(append_script, run_id, records, final, orphan_only)


async def watch(r: FakeRedis, run_id: str, after: int, poll: float) -> AsyncIterator[Entry]:
    events = keys(run_id)[0]
    while True:
        entries = await r.xread(events, after, block=poll)  # 有新事件立刻返回, 没有就最多等 poll 秒
        for entry in entries:
            yield entry
            after = entry[0]
            if entry[1] in TERMINAL:
                return
        if entries:
            continue
        # 等了 poll 秒, 什么都没有。看看为什么:
        now = await state(r, run_id)
        if now is None or (now.finished and after >= now.last):
            return  # 过期了; 或者结尾早就读到了
        if not now.finished and not now.lease_alive:
            # 主人死了: 替它写下结尾。几个读者同时这样做也没关系: append 是原子的, 只有一个会成功
            await append(r, run_id, [ORPHANED], final=True, orphan_only=True)
