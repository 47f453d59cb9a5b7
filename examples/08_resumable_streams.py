"""第 08 课: 刷新页面、换一个 worker、worker 死掉, 回答都不丢 —— 后台生成 + 日志 + Last-Event-ID

你将学到:
- 生成和阅读分开: POST /runs 让回答在后台生成, 每个时间窗口往日志里追加一次; 读者从日志读, 哪个 worker 都行
- 事件 id = 它在日志里的位置: 带着 Last-Event-ID 回来, 不重复、不遗漏; 读完了再来, 得到 204
- 同一套语义的两种日志: 内存 (默认, 一个进程) 与 Redis Streams (--redis, 几个进程共享所有的 run)
- 租约与心跳、幂等键、TTL、从任何 worker 取消、优雅关闭; nginx 的缓冲什么时候把流攒成一整块

运行:
    python examples/08_resumable_streams.py                 # 浏览器打开 http://127.0.0.1:8008 (刷新页面试试)
    curl http://127.0.0.1:8008/runs -H 'Content-Type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "你好"}]}'   # 返回 {"run_id": …, "stream_url": …}
    curl -N http://127.0.0.1:8008/runs/<run_id>/stream                     # 从头读
    curl -N http://127.0.0.1:8008/runs/<run_id>/stream -H 'Last-Event-ID: 5'   # 从第 6 个事件接着读
    curl -X POST http://127.0.0.1:8008/runs/<run_id>/cancel                # 停止生成
    python examples/08_resumable_streams.py --redis redis://127.0.0.1:6379/0 --port 8018   # 多开几个, 共享所有的 run
    python examples/08_resumable_streams.py --demo          # Redis + 两个 worker + nginx: 刷新、杀掉 worker、续传
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lesson  # 按编号导入前面的课
import local_services  # 本机的 Redis、nginx 和脚本进程 (--demo 用)
import openai_sim  # 模拟模型 (第 05 课)
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # 只监听本机
PORT = 8008
LEASE = 5.0  # 租约 (秒): 生成 run 的 worker 每 LEASE/3 秒续一次; 超过 LEASE 秒没续, 就当它死了
RUN_TTL = 600  # run 结束后, 日志再保留几秒 (之后 404)
MAX_RUN_TIME = 600  # 一个 run 最多生成几秒; 到点就停止, 以 error 事件结束
RUNNING_GRACE = 60  # 还在生成的 run 的日志至少保留 MAX_RUN_TIME + RUN_TTL + 这么多秒: 机器再忙, 到点的 error 也写得进去
MAX_EVENTS = 20000  # 一个 run 的日志最多几条事件 (含最后的 done / error)
READ_BATCH = 1000  # 读者一次从日志取几条
SHUTDOWN_GRACE = 5.0  # 收到 SIGTERM / Ctrl+C 之后, 给自己正在生成的 run 几秒把话说完
MAX_KEY_CHARS = 200  # Idempotency-Key 最长几个字符
CANCEL_CHANNEL = "runs:cancel"  # Redis 的 pub/sub 频道: "请停止这个 run"
REDIS_CONNECTIONS = (
    4000  # 一个进程到 Redis 最多几个连接: 每个正在等新事件的读者占一个 (XREAD BLOCK)
)

console = Console(highlight=False, soft_wrap=True)
log = logging.getLogger("runs")

# --8<-- [start:reuse]
sse = lesson.load("04")  # SSE 编码器、保活注释、防缓冲响应头、服务器启动器
oa = lesson.load("05")  # open_raw_stream / raw_batches: 读模型的原始字节
chat = lesson.load("06")  # 校验、名额、Relay、chat_records、describe、前门的检查、06 的全部路由
# --8<-- [end:reuse]


# --8<-- [start:store_api]
# 日志里的一条: (位置, 事件名, JSON 文本)。位置从 1 开始, 就是 SSE 的 id
Entry = tuple[int, str, str]
TERMINAL = ("done", "error")  # 一个 run 的最后一条一定是其中之一

# append 的返回值: 非负数是最后一条的位置; 负数说明没有写 (或者只写了一条终止事件)
NO_RUN = -1  # 没有这个 run (不存在, 或者已经过期)
FINISHED = -2  # 它已经结束了: 终止事件只能有一个, 之后的追加一律拒绝
CAPPED = -3  # 日志满了: 已经代为写下一条 error 并结束它
OWNER_ALIVE = -4  # 只在"主人死了"时才写, 而主人的租约还在


@dataclass
class RunState:
    finished: bool  # 最后一条 (done / error) 已经写下了
    last: int  # 最后一条的位置 (0 = 还没有任何事件)
    owner: str  # 哪个 worker 在生成它
    lease_alive: bool  # 主人的租约还在吗
    cancel: bool = False  # 有人请求停止它
    fingerprint: str = ""  # 建它的那个请求的指纹 (幂等键重发时比较)


class Store:
    """日志的接口。两个实现, 同一套语义 (tests/test_08_resumable_streams.py 把同一组测试跑两遍):
    MemoryStore —— 一个进程, 放在内存里; RedisStore —— 几个进程共享, 放在 Redis Streams 里。"""

    async def start(self, on_cancel) -> None:
        """on_cancel(run_id): 别的 worker 请求停止一个 run 时调用。"""

    async def close(self) -> None: ...

    async def create(self, run_id: str, owner: str, fingerprint: str) -> str | None:
        """新建一个 run 并为 owner 拿下租约, 返回 None; 已经有这个 run (幂等键重复), 返回它的请求指纹。"""
        raise NotImplementedError

    async def append(
        self, run_id: str, records: list, final: bool = False, orphan_only: bool = False
    ) -> int:
        """一次追加一个窗口的事件 [(名字, 数据), ...]。原子的: 要么都写下, 要么都不写。
        final: 这一批以终止事件结尾。orphan_only: 只在主人的租约已经过期时才写 (代替死去的主人收尾)。"""
        raise NotImplementedError

    async def read(self, run_id: str, after: int, wait: float) -> list[Entry]:
        """位置 after 之后的事件; 暂时没有新的, 最多等 wait 秒, 还没有就返回 []。"""
        raise NotImplementedError

    async def state(self, run_id: str) -> RunState | None:
        raise NotImplementedError

    async def heartbeat(self, run_ids: list[str], owner: str) -> dict[str, str]:
        """续租。返回需要停下来的 run: {run_id: "cancelled" (有人请求停止) / "taken" (已经被别人结束)}。"""
        raise NotImplementedError

    async def request_cancel(self, run_id: str) -> None:
        """记下"请停止", 并通知生成它的 worker (不管它在哪个进程)。"""
        raise NotImplementedError


def payloads(records: list) -> list[tuple[str, str]]:
    """[(名字, 数据字典)] → [(名字, JSON 文本)]。JSON 里没有换行, 读者可以原样放进 data: 行 (第 04 课)。"""
    return [(name, json.dumps(data, ensure_ascii=False)) for name, data in records]


def ms(seconds: float) -> int:
    """Redis 的 PEXPIRE / PX 用毫秒: 不把 1.5 秒截成 1 秒。"""
    return int(seconds * 1000)


def cap_record(max_events: int) -> tuple[str, str]:
    return payloads(
        [("error", {"message": f"回答太长: 一个回答最多 {max_events} 条事件, 已停止"})]
    )[0]


# --8<-- [end:store_api]


# --8<-- [start:memory_store]
@dataclass
class MemoryRun:
    owner: str
    fingerprint: str
    expires: float  # 到这个时刻 (time.monotonic) 就删掉
    entries: list[Entry] = field(default_factory=list)
    finished: bool = False
    cancel: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # 有新事件时 set, 然后换一个新的


class MemoryStore(Store):
    """默认的日志: 一个字典。只在一个进程里有效 —— 进程没了, 日志也没了; 但刷新页面、断线续传都照样工作。"""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.runs: dict[str, MemoryRun] = {}
        self.on_cancel = lambda run_id: None

    async def start(self, on_cancel) -> None:
        self.on_cancel = on_cancel

    def get(self, run_id: str) -> MemoryRun | None:
        run = self.runs.get(run_id)
        if run and run.expires < time.monotonic():  # 过期了: 用到时才删 (heartbeat 也会清理)
            del self.runs[run_id]
            return None
        return run

    async def create(self, run_id: str, owner: str, fingerprint: str) -> str | None:
        if run := self.get(run_id):
            return run.fingerprint
        expires = time.monotonic() + self.options.running_ttl
        self.runs[run_id] = MemoryRun(owner, fingerprint, expires)
        return None

    async def append(
        self, run_id: str, records: list, final: bool = False, orphan_only: bool = False
    ) -> int:
        run = self.get(run_id)
        if run is None:
            return NO_RUN
        if run.finished:
            return FINISHED
        if orphan_only:
            return OWNER_ALIVE  # 主人就是这个进程: 进程还活着, 主人就还活着
        new, result = payloads(records), 0
        room = self.options.max_events - (0 if final else 1)  # 最后一格留给终止事件
        if len(run.entries) + len(new) > room:
            new, final, result = [cap_record(self.options.max_events)], True, CAPPED
        start = len(run.entries)
        run.entries += [(start + i + 1, name, data) for i, (name, data) in enumerate(new)]
        if final:
            run.finished = True
            run.expires = time.monotonic() + self.options.ttl
        run.changed.set()  # 叫醒等着的读者
        run.changed = asyncio.Event()
        return result or len(run.entries)

    async def read(self, run_id: str, after: int, wait: float) -> list[Entry]:
        run = self.get(run_id)
        if run is None:
            return []
        if len(run.entries) <= after and not run.finished and wait > 0:
            try:
                await asyncio.wait_for(run.changed.wait(), wait)
            except asyncio.TimeoutError:
                return []
        return run.entries[after : after + READ_BATCH]

    async def state(self, run_id: str) -> RunState | None:
        run = self.get(run_id)
        if run is None:
            return None
        return RunState(
            run.finished, len(run.entries), run.owner, True, run.cancel, run.fingerprint
        )

    async def heartbeat(self, run_ids: list[str], owner: str) -> dict[str, str]:
        for run_id in list(self.runs):
            self.get(run_id)  # 顺便清理过期的
        return {}

    async def request_cancel(self, run_id: str) -> None:
        if run := self.get(run_id):
            run.cancel = True
            self.on_cancel(run_id)


# --8<-- [end:memory_store]


# --8<-- [start:redis_keys]
def keys(run_id: str) -> list[str]:
    """一个 run 的三个键。{run_id} 是 Redis Cluster 的"哈希标签": 只有花括号里的部分参与分片,
    所以这三个键一定在同一个分片上 —— 一段 Lua 脚本才能原子地同时改它们。"""
    tag = "{" + run_id + "}"
    return [f"run:{tag}:events", f"run:{tag}:meta", f"run:{tag}:lease"]


# 新建: 已经有了就返回它的请求指纹 (幂等键重复); 没有就写下元数据、拿下租约。
CREATE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return redis.call('HGET', KEYS[2], 'fp') end
redis.call('HSET', KEYS[2], 'state', 'running', 'last', 0, 'owner', ARGV[1], 'fp', ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
return false
"""
# --8<-- [end:redis_keys]

# --8<-- [start:append_lua]
# 追加一个窗口的事件。整段脚本在 Redis 里是原子的: 检查状态、编号、写入、结束, 中间插不进别的命令。
# 事件的位置 n 写成流的 id "0-n": 读者的 Last-Event-ID 就是 n, 原样换回 "0-n" 去读, 一来一回不差分毫。
APPEND = """
local state = redis.call('HGET', KEYS[2], 'state')
if not state then return -1 end
if state ~= 'running' then return -2 end
if ARGV[5] == '1' and redis.call('EXISTS', KEYS[3]) == 1 then return -4 end
local last = tonumber(redis.call('HGET', KEYS[2], 'last'))
local final = ARGV[4] == '1'
local result
local room = tonumber(ARGV[1]) - (final and 0 or 1)
if last + (#ARGV - 6) / 2 > room then
  last = last + 1
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '0-' .. last, 'e', 'error', 'd', ARGV[6])
  final, result = true, -3
else
  for i = 7, #ARGV, 2 do
    last = last + 1
    redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '0-' .. last, 'e', ARGV[i], 'd', ARGV[i + 1])
  end
  result = last
end
redis.call('HSET', KEYS[2], 'last', last)
if final then
  redis.call('HSET', KEYS[2], 'state', 'finished')
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  redis.call('DEL', KEYS[3])
elseif redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return result
"""
# --8<-- [end:append_lua]


# --8<-- [start:redis_store]
class RedisStore(Store):
    """日志放在 Redis Streams 里: 几个 worker (几台机器) 共享所有的 run。

    写: 一个窗口一次 EVALSHA (上面的 APPEND 脚本, 里面是几个 XADD)。读: XREAD BLOCK, 有新事件立刻返回。
    取消: PUBLISH 到 CANCEL_CHANNEL, 生成它的 worker 一直订阅着; 心跳时也顺便看一眼 cancel 标记, 万一通知丢了。"""

    def __init__(self, url: str, options: RunOptions) -> None:
        import redis.asyncio as aioredis  # 只有用 --redis 时才需要这个包

        self.options = options
        self.redis = aioredis.from_url(url, max_connections=REDIS_CONNECTIONS)
        self.create_script = self.redis.register_script(CREATE)
        self.append_script = self.redis.register_script(APPEND)
        self.listener: asyncio.Task | None = None

    async def start(self, on_cancel) -> None:
        await self.redis.ping()  # 连不上就在启动时失败, 而不是在第一个请求时
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CANCEL_CHANNEL)
        self.listener = asyncio.create_task(self.listen(pubsub, on_cancel))

    async def listen(self, pubsub, on_cancel) -> None:
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    on_cancel(message["data"].decode())
        finally:
            await pubsub.aclose()

    async def close(self) -> None:
        if self.listener:
            self.listener.cancel()
            await asyncio.gather(self.listener, return_exceptions=True)
        await self.redis.aclose()

    async def create(self, run_id: str, owner: str, fingerprint: str) -> str | None:
        opt = self.options
        existing = await self.create_script(
            keys=keys(run_id), args=[owner, ms(opt.lease), ms(opt.running_ttl), fingerprint]
        )
        return existing.decode() if existing is not None else None

    async def append(
        self, run_id: str, records: list, final: bool = False, orphan_only: bool = False
    ) -> int:
        opt = self.options
        args: list[Any] = [opt.max_events, ms(opt.ttl), ms(opt.running_ttl)]
        args += [int(final), int(orphan_only), cap_record(opt.max_events)[1]]
        for name, data in payloads(records):
            args += [name, data]
        return int(await self.append_script(keys=keys(run_id), args=args))

    async def read(self, run_id: str, after: int, wait: float) -> list[Entry]:
        block = int(wait * 1000) if wait > 0 else None  # BLOCK 0 在 Redis 里是"永远等", 不能用
        stream = keys(run_id)[0]
        reply = await self.redis.xread({stream: f"0-{after}"}, count=READ_BATCH, block=block)
        if not reply:
            return []
        return [
            (int(entry_id.split(b"-")[1]), fields[b"e"].decode(), fields[b"d"].decode())
            for entry_id, fields in reply[0][1]
        ]

    async def state(self, run_id: str) -> RunState | None:
        _, meta, lease = keys(run_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(meta, "state", "last", "owner", "cancel", "fp")
            pipe.exists(lease)
            (state, last, owner, cancel, fp), lease_alive = await pipe.execute()
        if state is None:
            return None
        finished = state == b"finished"
        return RunState(finished, int(last), owner.decode(), bool(lease_alive), bool(cancel), (fp or b"").decode())  # fmt: skip

    async def heartbeat(self, run_ids: list[str], owner: str) -> dict[str, str]:
        if not run_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                _, meta, lease = keys(run_id)
                pipe.set(lease, owner, px=int(self.options.lease * 1000))
                pipe.hmget(meta, "state", "cancel")
            replies = await pipe.execute()
        stop = {}
        for run_id, (state, cancel) in zip(run_ids, replies[1::2], strict=True):
            if state != b"running":
                stop[run_id] = "taken"  # 已经被别人结束了 (我们卡得太久, 租约过期了)
            elif cancel:
                stop[run_id] = "cancelled"
        return stop

    async def request_cancel(self, run_id: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(keys(run_id)[1], "cancel", 1)
            pipe.publish(CANCEL_CHANNEL, run_id)
            await pipe.execute()


# --8<-- [end:redis_store]


@dataclass
class RunOptions:
    """第 08 课新加的配置 (06 的 Settings 照旧: 模型、合并窗口、超时……)。"""

    lease: float = LEASE
    ttl: float = RUN_TTL
    max_run_time: float = MAX_RUN_TIME
    max_events: int = MAX_EVENTS
    shutdown_grace: float = SHUTDOWN_GRACE

    @property
    def running_ttl(self) -> float:
        """还在生成的 run 的日志保留多久。只是兜底: 主人死了、又没有读者替它收尾的 run, 最终也会被清掉。
        到点的 run 正常会在 max_run_time 秒时写下 error, 之后改成只保留 ttl 秒; 余量 RUNNING_GRACE 让那条 error 晚到也写得进去。"""
        return self.max_run_time + self.ttl + RUNNING_GRACE

    @property
    def poll(self) -> float:
        """读者等新事件, 一次最多等几秒; 等不到就看一眼主人的租约。"""
        return min(1.0, self.lease / 4)


@dataclass
class Worker:
    """一个进程的运行时状态: 06 的 Service (配置、名额、到模型的客户端)、日志、本进程正在生成的 run。"""

    service: Any  # chat.Service
    store: Store
    options: RunOptions
    id: str = ""  # 它的名字 (127.0.0.1:端口): 租约的主人、响应头 X-Served-By
    runs: dict[str, Run] = field(default_factory=dict)
    draining: bool = False  # 收到了 SIGTERM: 不再接新的 run
    drain_deadline: float = 0.0
    tasks: list[asyncio.Task] = field(default_factory=list)  # 心跳


REASONS = {  # 生成被打断的原因 → 写进日志的最后一条 error
    "cancelled": "回答被停止了",
    "timeout": "回答超过了最长生成时间 {max_run_time:g} 秒, 已停止",
    "shutdown": "服务器正在重启, 回答不完整, 请重试",
}
VANISHED = "这个回答在服务器上已经过期, 后面的内容读不到了"
STORE_DOWN = "暂时读不到这个回答的日志 (存储出了问题); 回答可能还在生成, 稍后带着 Last-Event-ID 重连可以接着读"
ORPHANED = "生成这个回答的服务器意外停止了 (超过 {lease:g} 秒没有心跳), 回答不完整"


# --8<-- [start:produce]
class Run:
    """一个正在本进程里生成的回答。它不属于任何一个 HTTP 请求: 读者来来去去, 它照样生成, 直到结束。"""

    def __init__(self, worker: Worker, run_id: str, messages: list[dict[str, str]]) -> None:
        self.worker, self.id = worker, run_id
        self.reason: str | None = None  # 为什么被打断: cancelled / timeout / shutdown / taken
        self.closing = False  # 结尾已经写下, 正在收尾: 这时的"停止"什么都不用做
        self.task = asyncio.create_task(produce(worker, self, messages))
        loop = asyncio.get_running_loop()
        self.timer = loop.call_later(worker.options.max_run_time, self.cancel, "timeout")

    def cancel(self, reason: str) -> None:
        if self.reason is None and not self.closing and not self.task.done():
            self.reason = reason
            self.task.cancel()  # 读上游的任务随之取消, 到模型的连接随之关闭 (第 06 课的 Relay)


async def open_model(service, messages, stack: AsyncExitStack):
    """向模型发出请求, 等到响应头。没有 HTTP 请求陪着它, 所以不听"客户端断开", 只管超时 (第 06 课的 open_upstream 的一半)。"""
    settings = service.settings
    opening = oa.open_raw_stream(stack, service.client, settings.target.model, messages)
    try:
        return await asyncio.wait_for(opening, settings.headers_timeout)
    except asyncio.TimeoutError:
        raise TimeoutError from None  # Python 3.10 里 asyncio.TimeoutError 还不是内置的 TimeoutError


async def produce(worker: Worker, run: Run, messages: list[dict[str, str]]) -> None:
    """生成一个回答, 每个时间窗口往日志里追加一次。最后一条一定是 done 或 error (第 06 课的 chat_records)。"""
    settings, store = worker.service.settings, worker.store
    upstream = AsyncExitStack()  # 负责关闭到模型的连接
    relay = None
    try:
        try:
            response = await open_model(worker.service, messages, upstream)
        except Exception as exc:  # key 不对、连不上、超时: 202 早已回过了, 错误写进日志
            log.warning("上游请求失败: %s: %s", type(exc).__name__, exc)
            await store.append(run.id, [("error", {"message": chat.describe(exc, settings)})], True)
            return
        relay = chat.Relay(
            oa.raw_batches(response), settings.coalesce, settings.max_pending, upstream.aclose
        )
        records = chat.chat_records(relay, settings)
        try:
            async for item in records:
                if isinstance(item, bytes):
                    continue  # 保活注释是读者的事, 不进日志
                final = item[-1][0] in TERMINAL
                if await store.append(run.id, item, final) < 0 or final:
                    return  # 结束了; 或者别人已经替它结束了 (日志满了、主人被判定死亡)
        finally:
            await records.aclose()
    except asyncio.CancelledError:
        if run.reason is None:
            raise  # 不是我们要求的 (事件循环在关闭): 照常传下去
        if run.reason != "taken":
            message = REASONS[run.reason].format(max_run_time=worker.options.max_run_time)
            await store.append(run.id, [("error", {"message": message, "reason": run.reason})], True)  # fmt: skip
    except Exception:
        # 比如 Redis 断了: 写不了结尾; Redis 回来之后, 读者在租约过期时替它写下 (说法是"服务器意外停止")
        log.exception("run %s 写日志失败", run.id)
    finally:
        # 先做不需要等待的收尾: 名额和登记一定归还。之后的 await 里再来的"停止"是空操作 (closing), 打断不了收尾
        run.closing = True
        run.timer.cancel()
        worker.runs.pop(run.id, None)
        worker.service.limit.release()
        if relay:
            await relay.aclose()
        await upstream.aclose()


# --8<-- [end:produce]


# --8<-- [start:start_run]
def new_run_id(key: str | None) -> str:
    """没有幂等键: 随机的 id。有: 由键算出来 —— 同一个键永远是同一个 run, 不需要第二个键去记"键 → run"。"""
    if key is None:
        return "r" + secrets.token_urlsafe(15)
    digest = hashlib.sha256(key.encode()).digest()
    return "k" + base64.urlsafe_b64encode(digest).decode()[:20]


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not (0 < len(key) <= MAX_KEY_CHARS and key.isascii() and key.isprintable()):  # fmt: skip
        raise chat.ChatError(
            400, f"Idempotency-Key 应当是 1 到 {MAX_KEY_CHARS} 个可见的 ASCII 字符"
        )
    return key


async def start_run(worker: Worker, request: Request) -> Response:
    """POST /runs: 校验、占名额、在日志里建好 run, 然后立刻回答 202 —— 生成在后台进行。"""
    if worker.draining:
        message = "这个服务器正在关闭, 不再接受新的回答; 请重试 (会由别的服务器接手)"
        raise chat.ChatError(503, message, {"Retry-After": "1"})
    service = worker.service
    key = idempotency_key(request)
    run_id = new_run_id(key)
    if key is not None and (state := await worker.store.state(run_id)) is not None:
        # 同一个幂等键又来了 (响应丢了, 页面重发): 回答那个 run, 不占名额 —— 服务器满着 (也许正因为它) 也一样
        messages = chat.validate(await chat.read_body(request, service.settings.body_timeout))
        return replayed(worker, run_id, fingerprint_of(messages), state.fingerprint)
    service.limit.acquire()  # 满了: 503 (第 06 课)。名额在 run 结束时归还, 不是在这个请求结束时
    try:
        messages = chat.validate(await chat.read_body(request, service.settings.body_timeout))
        fingerprint = fingerprint_of(messages)
        existing = await worker.store.create(run_id, worker.id, fingerprint)
    except BaseException:
        service.limit.release()
        raise
    if existing is not None:  # 同一个键的两个请求同时到达, 另一个先建好了 run
        service.limit.release()
        return replayed(worker, run_id, fingerprint, existing)
    worker.runs[run_id] = Run(worker, run_id, messages)
    return JSONResponse(run_body(worker, run_id), status_code=202)


def fingerprint_of(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


def run_body(worker: Worker, run_id: str) -> dict[str, str]:
    return {"run_id": run_id, "stream_url": f"/runs/{run_id}/stream", "worker": worker.id}


def replayed(worker: Worker, run_id: str, fingerprint: str, existing: str) -> Response:
    """幂等键重发: 还是那个 run, 不再生成第二遍。键相同而请求不同, 是调用者的错。"""
    if existing != fingerprint:
        raise chat.ChatError(422, "这个 Idempotency-Key 已经用在了另一个请求上")
    return JSONResponse(run_body(worker, run_id) | {"replayed": True}, status_code=200)


# --8<-- [end:start_run]


# --8<-- [start:stream_run]
def error_event(message: str, reason: str) -> bytes:
    """日志之外的 error 事件 (没有 id: 它不在日志里, 续传时不占位置)。"""
    return sse.encode_event(json.dumps({"message": message, "reason": reason}, ensure_ascii=False), event="error")  # fmt: skip


def resume_after(raw: str | None) -> int:
    """Last-Event-ID → 从哪个位置之后读。看不懂的 (乱码、负数、超长、含 NUL) 一律从头开始, 就像第 04 课。"""
    raw = raw or ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0


async def stream_run(worker: Worker, run_id: str, request: Request) -> Response:
    """GET /runs/{id}/stream: 从日志读, 从 Last-Event-ID 之后开始。哪个 worker 都行: 日志才是唯一的真相。"""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    after = resume_after(raw)
    state = await worker.store.state(run_id)
    if state is None:
        raise chat.ChatError(404, "找不到这个回答: 它不存在, 或者已经过期了")
    if after > state.last:
        after = 0  # 一个还不存在的位置: 当作看不懂, 从头开始 (宁可重复, 不可遗漏)
    if state.finished and after == state.last:
        # 最后一条已经收到了: 204 让 EventSource 不再重连 (第 04 课)
        return Response(status_code=204)
    return LogStreamResponse(worker, run_id, after)


class LogStreamResponse(Response):
    """把日志里的事件一段一段地发给一个读者, 直到终止事件。读者断开, 只是这个循环结束; run 照样生成。"""

    def __init__(self, worker: Worker, run_id: str, after: int) -> None:  # noqa: D107
        self.worker, self.run_id, self.after = worker, run_id, after
        self.status_code, self.background = 200, None
        headers = {"content-type": "text/event-stream; charset=utf-8", **sse.SSE_HEADERS,
                   "x-served-by": worker.id}  # fmt: skip
        self.raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        task, left = asyncio.current_task(), []

        def gone(future: asyncio.Future) -> None:  # 读者断开了: 停止读日志 (run 不受影响)
            if not future.cancelled():
                left.append(True)
                task.cancel()  # type: ignore[union-attr]

        leaving = asyncio.ensure_future(chat.until_disconnected(receive))
        leaving.add_done_callback(gone)
        watchdog = chat.SendWatchdog(self.worker.service.settings.send_timeout)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for data in self.events():
                await watchdog.send(send, {"type": "http.response.body", "body": data, "more_body": True})  # fmt: skip
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not (left or watchdog.fired):
                raise  # 服务器在关闭: 照常取消
            if hasattr(task, "uncancel"):  # 读者走了 / 读者不收: 这次取消是我们自己发起的
                task.uncancel()  # type: ignore[union-attr]
        finally:
            watchdog.stop()
            leaving.cancel()

    async def events(self) -> AsyncIterator[bytes]:
        """follow() 的事件; 日志本身出了问题 (Redis 断了), 也以一条 error 结束, 而不是掐断连接。"""
        try:
            async for data in self.follow():
                yield data
        except Exception as exc:  # noqa: BLE001 — 读者能得到的最好结果: 一句说明, 加上已经收到的部分
            log.warning("读日志失败 (run %s): %s: %s", self.run_id, type(exc).__name__, exc)
            yield error_event(STORE_DOWN, "store")

    async def follow(self) -> AsyncIterator[bytes]:
        worker, store, after = self.worker, self.worker.store, self.after
        settings, options = worker.service.settings, worker.options
        quiet_since = time.monotonic()
        while True:
            entries = await store.read(self.run_id, after, options.poll)
            if entries:
                yield b"".join(sse.encode_event(d, event=n, id=str(p)) for p, n, d in entries)
                after, quiet_since = entries[-1][0], time.monotonic()
                if entries[-1][1] in TERMINAL:
                    return
                continue
            # 等了 poll 秒, 什么都没有。看看为什么:
            if worker.draining and self.run_id not in worker.runs:
                return  # 这个进程要关了, 而 run 在别处生成: 读者换一个 worker 接着读 (Last-Event-ID)
            state = await store.state(self.run_id)
            if state is None:  # 读到一半, 日志没了 (过期、被删): 说一声, 不让流无声地结束
                yield error_event(VANISHED, "expired")
                return
            if state.finished and after >= state.last:
                return  # 结尾刚刚写下 (下一次读就会拿到它, 这里只是保险)
            if not state.finished and not state.lease_alive and self.run_id not in worker.runs:
                # 主人死了: 替它写下结尾, 只会成功一次。主人若就在本进程, 它没死: 只是事件循环太忙, 心跳晚了
                message = ORPHANED.format(lease=options.lease)
                await store.append(self.run_id, [("error", {"message": message, "reason": "orphaned"})], True, orphan_only=True)  # fmt: skip
            elif time.monotonic() - quiet_since >= settings.keepalive:
                yield sse.KEEPALIVE
                quiet_since = time.monotonic()


# --8<-- [end:stream_run]


# --8<-- [start:cancel_run]
async def cancel_run(worker: Worker, run_id: str) -> Response:
    """POST /runs/{id}/cancel: 哪个 worker 收到都一样。run 在本进程: 直接停; 在别处: 通知它的主人;
    主人已经死了: 没有人会停它, 那就由我们替它写下结尾。"""
    state = await worker.store.state(run_id)
    if state is None:
        raise chat.ChatError(404, "找不到这个回答: 它不存在, 或者已经过期了")
    if state.finished:
        return JSONResponse({"run_id": run_id, "state": "finished"})
    if run := worker.runs.get(run_id):
        run.cancel("cancelled")
    else:
        await worker.store.request_cancel(run_id)
        if not state.lease_alive:
            record = ("error", {"message": REASONS["cancelled"], "reason": "cancelled"})
            await worker.store.append(run_id, [record], True, orphan_only=True)
    return JSONResponse({"run_id": run_id, "state": "cancelling"}, status_code=202)


def on_cancel(worker: Worker, run_id: str) -> None:
    """别的 worker 转来的"请停止" (Redis 的 pub/sub)。不是我们的 run, 就不理它。"""
    if run := worker.runs.get(run_id):
        run.cancel("cancelled")


# --8<-- [end:cancel_run]


# --8<-- [start:lifecycle]
async def heartbeat(worker: Worker) -> None:
    """每 lease/3 秒为本进程的每个 run 续一次租约。续不上 (进程被杀、卡死、断网), 别的 worker 就会替它收尾。"""
    while True:
        await asyncio.sleep(worker.options.lease / 3)
        try:
            stop = await worker.store.heartbeat(list(worker.runs), worker.id)
        except Exception as exc:
            log.warning("心跳失败: %s", exc)
            continue
        for run_id, reason in stop.items():
            if run := worker.runs.get(run_id):
                run.cancel(reason)


def stop_accepting(worker: Worker) -> None:
    """不再接新的 run; 宽限期从第一次调用算起。"""
    if not worker.draining:
        worker.draining = True
        worker.drain_deadline = time.monotonic() + worker.options.shutdown_grace


def start_draining(worker: Worker) -> None:
    """收到 SIGTERM / Ctrl+C 的那一刻 (第 04 课 serve 的 on_exit): 不再接新的 run, 并马上开始收尾。
    收尾要趁连接还开着: 本进程的读者得在 uvicorn 关掉连接之前收到那条 shutdown 的 error (所以 uvicorn 的宽限期更长)。"""
    if worker.draining:
        return
    stop_accepting(worker)
    # 没有运行中的事件循环 (测试里直接调用): 收尾留给 lifespan
    with contextlib.suppress(RuntimeError):
        worker.tasks.append(asyncio.get_running_loop().create_task(finish_own_runs(worker)))


async def finish_own_runs(worker: Worker) -> None:
    """自己的 run 在宽限期内说完; 说不完的, 以一条 error 结束 (读者不会永远等下去)。信号到达时开始, lifespan 结束时再兜一次底。"""
    stop_accepting(worker)
    tasks = [run.task for run in worker.runs.values()]
    left = worker.drain_deadline - time.monotonic()
    if tasks and left > 0:
        await asyncio.wait(tasks, timeout=left)
    for run in list(worker.runs.values()):
        run.cancel("shutdown")
    if tasks:
        await asyncio.wait(tasks, timeout=2)  # 写最后一条 error 也要有期限 (Redis 可能已经连不上了)


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[None]:
    """进程的一生: 连上日志、开始心跳; 关闭时先收尾自己的 run, 再断开。"""
    await worker.store.start(lambda run_id: on_cancel(worker, run_id))
    worker.tasks.append(asyncio.create_task(heartbeat(worker)))
    try:
        yield
    finally:
        await finish_own_runs(worker)
        for task in worker.tasks:
            task.cancel()
        await asyncio.gather(*worker.tasks, return_exceptions=True)
        await worker.store.close()


# --8<-- [end:lifecycle]


# --8<-- [start:front_door]
RUN_PATH = re.compile(r"/runs/([A-Za-z0-9_-]{1,64})/(stream|cancel)")


class FrontDoor:
    """进程的 ASGI 入口。/runs 的三个接口在这里处理 (热路径不经过框架, 和第 06 课一样);
    /config 加上 "runs": true, 让页面知道可以用 run; 其余的 (页面、POST /chat……) 原样交给第 06 课的入口。"""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.inner = chat.FrontDoor(chat.app, worker.service)  # 06 的入口和它的全部路由

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await self.lifespan(receive, send)
        if scope["type"] != "http":
            return await self.inner(scope, receive, send)
        if problem := chat.check_request(
            scope, self.worker.service.settings
        ):  # 06 的 Host / Origin 检查
            response: Response = JSONResponse({"error": problem[1]}, status_code=problem[0])
        else:
            try:
                response = await self.route(scope, Request(scope, receive))
            except chat.ChatError as exc:
                response = JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)  # fmt: skip
            except Exception:  # 日志 (Redis) 出了问题: 一句中文和 503, 原文只进服务器日志
                log.exception("读写日志失败")
                message = "暂时读写不了回答的日志, 请稍后重试"
                response = JSONResponse({"error": message}, status_code=503, headers={"Retry-After": "1"})  # fmt: skip
            if response is None:
                return await self.inner(scope, receive, send)
        response.raw_headers += chat.cors_headers(scope)
        await response(scope, receive, send)

    async def route(self, scope: Any, request: Request) -> Response | None:
        method, path = scope["method"], scope["path"]
        if method == "OPTIONS" and path.startswith("/runs"):
            return preflight(request)
        if path == "/runs" and method == "POST":
            return await start_run(self.worker, request)
        if (m := RUN_PATH.fullmatch(path)) and (m[2], method) in (("stream", "GET"), ("cancel", "POST")):  # fmt: skip
            handler = stream_run(self.worker, m[1], request) if m[2] == "stream" else cancel_run(self.worker, m[1])  # fmt: skip
            return await handler
        if path == "/config" and method == "GET":
            # 06 的 /config, 再加两项
            config = await chat.config(Request({**scope, "app": chat.app}))
            return JSONResponse(config | {"runs": True, "lease_seconds": self.worker.options.lease})
        return None

    async def lifespan(self, receive: Any, send: Any) -> None:
        """ASGI 的 lifespan: 06 的 (创建到模型的客户端) 套着 08 的 (日志、心跳、关闭时收尾)。"""
        await receive()  # lifespan.startup
        holder = SimpleNamespace(state=SimpleNamespace(service=self.worker.service))
        try:
            async with chat.lifespan(holder), running(self.worker):
                await send({"type": "lifespan.startup.complete"})
                await receive()  # lifespan.shutdown
        except Exception as exc:
            console.print(f"启动失败: {exc}", style="red")
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.shutdown.complete"})


def preflight(request: Request) -> Response:
    """从磁盘打开的页面 (Origin: null) 发 POST /runs 之前, 浏览器先问一句: 这几个请求头可以带吗?
    06 的 CORS 设置不认识 Idempotency-Key, 所以 /runs 的预检在这里回答。真正的请求照样要带令牌 (check_request)。"""
    if request.headers.get("origin") != "null":
        return Response(status_code=400)
    return Response(status_code=204, headers={
        "Access-Control-Allow-Origin": "null",
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type, X-Chat-Token, Idempotency-Key",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    })  # fmt: skip


# --8<-- [end:front_door]


def make_worker(args: argparse.Namespace, settings: Any) -> Worker:
    options = RunOptions(args.lease, args.ttl, args.max_run_time, args.max_events, args.shutdown_grace)  # fmt: skip
    store: Store = RedisStore(args.redis, options) if args.redis else MemoryStore(options)
    service = chat.Service(settings, chat.StreamLimit(settings.max_streams))
    return Worker(service, store, options)


def redis_problem(url: str) -> str | None:
    """启动之前先连一下 Redis: 连不上就直说, 而不是先宣布"已启动"再失败。"""
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3) as client:
            client.ping()
    except (redis.RedisError, ValueError) as exc:
        return f"连不上 Redis {url}: {exc}"
    return None


def serve(args: argparse.Namespace, settings: Any) -> int:
    if args.redis and (problem := redis_problem(args.redis)):
        console.print(problem, style="red")
        console.print(
            "先启动一个 (只在本机、不落盘): redis-server --port 6379 --bind 127.0.0.1 --save ''"
        )
        return 2
    worker = make_worker(args, settings)

    def announce(url: str) -> None:
        worker.id = url.removeprefix("http://")
        where = f"Redis 日志 {args.redis}" if args.redis else "内存日志 (只在这个进程里; 加 --redis 让几个进程共享)"  # fmt: skip
        console.print(f"服务已启动: {url}")
        # 内存日志和生成者在同一个进程里: 不需要租约
        lease = f"租约 {args.lease:g} 秒, " if args.redis else ""
        console.print(f"日志: {where}; {lease}结束后保留 {args.ttl:g} 秒")
        console.print(f"浏览器打开 {url}/ , 或者: curl {url}/runs -H 'Content-Type: application/json' -d '{{\"messages\": [{{\"role\": \"user\", \"content\": \"你好\"}}]}}'")  # fmt: skip
        page = (ROOT / "chat.html").as_uri()
        token = settings.file_token
        console.print(f"从磁盘打开页面: {page}#server={url}&token={token}", style="dim")

    # SIGTERM 和 Ctrl+C 一样: uvicorn 优雅地关闭之后, 交还给我们的是 KeyboardInterrupt, 进程以 0 退出
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    front = FrontDoor(worker)
    # uvicorn 的宽限期 (等连接结束) 比我们的 (等自己的 run) 长几秒: run 先以 error 收尾, 读者收到它, 连接才关
    sse.serve(front, args.host, args.port, announce, args.shutdown_grace + 3, args.header_timeout,
              on_exit=lambda: start_draining(worker))  # fmt: skip
    console.print("服务器已停止。")
    return 0


# ---------------------------------------------------------------------------------------------
# --demo: Redis + 两个 worker + nginx, 全在本机的空闲端口上; 跑一遍场景, 说明发生了什么, 然后全部停掉。
# ---------------------------------------------------------------------------------------------

INSTALL_HINT = """需要 redis-server 和 nginx (只在本机运行, 不需要配置成服务):
    Debian / Ubuntu:  sudo apt-get install -y redis-server nginx
    macOS (Homebrew): brew install redis nginx
装好之后再运行: python examples/08_resumable_streams.py --demo"""


def post_json(url: str, body: object, timeout: float = 10) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def read_some(url: str, last_id: str, seconds: float) -> tuple[list[Any], str, bool]:
    """读一段 (最多 seconds 秒, 或者到终止事件), 然后断开 —— 就像用户刷新了页面。返回 (事件, 服务它的 worker, 是否结束)。"""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    request = urllib.request.Request(url, headers=headers)
    decoder, events, served_by = sse.SSEDecoder(last_id), [], "?"

    end = time.monotonic() + seconds
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            served_by = response.headers.get("X-Served-By", "?")
            if response.status == 204:
                return [], served_by, True
            while time.monotonic() < end:
                chunk = response.read1(65536)
                if not chunk:
                    break
                events += decoder.feed(chunk)
                if events and events[-1].event in TERMINAL:
                    return events, served_by, True
    except (OSError, urllib.error.URLError):
        pass  # worker 被杀了, 连接断了: 调用者带着 Last-Event-ID 重连
    return events, served_by, False


def text_of(events: list[Any]) -> str:
    """思考过程和回答的全部文字。"""
    return "".join(json.loads(e.data).get("text", "") for e in events if e.event in ("reasoning", "delta"))  # fmt: skip


def demo(args: argparse.Namespace) -> int:
    redis_bin, nginx_bin = (
        local_services.find_binary("redis-server"),
        local_services.find_binary("nginx"),
    )
    if not (redis_bin and nginx_bin):
        missing = " 和 ".join(n for n, b in (("redis-server", redis_bin), ("nginx", nginx_bin)) if not b)  # fmt: skip
        console.print(f"没有找到 {missing}。", style="yellow")
        console.print(INSTALL_HINT)
        return 1
    say = console.print
    with tempfile.TemporaryDirectory(prefix="lesson08-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        say(f"[bold]第 08 课演示[/bold]: 所有进程都在 127.0.0.1 的空闲端口上, 数据在 {workdir}")
        redis_url = stack.enter_context(local_services.redis_server(workdir, redis_bin))
        say(f"  Redis       {redis_url}")
        _, sim_port = stack.enter_context(local_services.python_server(ROOT / "examples" / "openai_sim.py", "--token-delay", "0.05"))  # fmt: skip
        say(f"  模拟模型    http://127.0.0.1:{sim_port}  (每秒 20 个 token)")
        workers = {}
        for name in ("A", "B"):
            proc, port = stack.enter_context(local_services.python_server(
                Path(__file__), "--redis", redis_url, "--lease", "2", "--model", "sim",
                "--base-url", f"http://127.0.0.1:{sim_port}/v1"))  # fmt: skip
            workers[f"127.0.0.1:{port}"] = (name, proc)
            say(f"  worker {name}    http://127.0.0.1:{port}")
        nginx_port = stack.enter_context(local_services.nginx_server(workdir, [int(w.split(":")[1]) for w in workers], nginx_bin))  # fmt: skip
        base = f"http://127.0.0.1:{nginx_port}"
        say(f"  nginx       {base}  (轮流转给 A 和 B; 配置: examples/nginx/08_two_workers.conf)\n")
        name_of = lambda worker_id: workers.get(worker_id, ("?",))[0]  # noqa: E731

        question = {"messages": [{"role": "user", "content": "为什么流式输出需要断线续传?"}]}
        run = post_json(f"{base}/runs", question)
        owner = run["worker"]
        say(
            f"1. POST /runs → run {run['run_id']}, 由 worker {name_of(owner)} 在后台生成 (202, 立刻返回)"
        )
        url = base + run["stream_url"]
        events, served, _ = read_some(url, "", 1.5)
        last = events[-1].id if events else ""
        say(f"2. 读了 1.5 秒: {len(events)} 个事件 (id 1…{last}), 由 worker {name_of(served)} 提供。然后断开 —— 就像刷新了页面")  # fmt: skip
        more, served2, _ = read_some(url, last, 1.0)
        say(f"3. 带着 Last-Event-ID: {last} 重连: 从 id {more[0].id if more else '?'} 接着读, 由 worker {name_of(served2)} 提供, 又收到 {len(more)} 个")  # fmt: skip
        events += more
        victim = workers[owner][1]
        victim.kill()
        killed_at = time.monotonic()
        say(f"4. kill -9 worker {name_of(owner)} (它正在生成这个回答)。读者继续读:")
        finished = False
        while not finished and time.monotonic() - killed_at < 30:
            more, served3, finished = read_some(url, events[-1].id if events else "", 5)
            events += more
        waited = time.monotonic() - killed_at
        ids = [int(e.id) for e in events]
        final = events[-1] if events else None
        if final and final.event == "error":
            message = json.loads(final.data)["message"]
            say(f"   {waited:.1f} 秒后 (租约 2 秒), worker {name_of(served3)} 写下并发来了结尾: error「{message}」")  # fmt: skip
        say(f"   一共 {len(events)} 个事件, id 从 1 到 {ids[-1] if ids else 0}, "
            f"{'没有重复、没有遗漏' if ids == list(range(1, len(ids) + 1)) else '有重复或遗漏!'}; 已经收到的 {len(text_of(events))} 个字都在")  # fmt: skip
        again = post_json(f"{base}/runs", {"messages": [{"role": "user", "content": "/echo 剩下的那个 worker 照常工作"}]})  # fmt: skip
        rest, served4, done = read_some(base + again["stream_url"], "", 10)
        say(f"5. 再问一次: nginx 把请求转给了活着的 worker {name_of(again['worker'])}; 回答: {text_of(rest)!r} ({rest[-1].event if rest else '?'})")  # fmt: skip
        say("\n停止 nginx、worker、模拟模型和 Redis……")
    say(
        '演示结束 (进程都已停掉)。想在浏览器里试: 照第 08 课开头的"手动起几个进程"启动 Redis、两个 worker 和 nginx,'
    )
    say("打开 nginx 的地址, 提问之后刷新页面 —— 回答接着往下走。")
    return 0


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.demo:
        return demo(args)
    if args.host != HOST:
        console.print(f"注意: 监听 {args.host}, 同一网络里的人都能使用它, 也就是在花你的 API 额度。", style="yellow")  # fmt: skip
    target = oa.real_target(args.base_url, args.model, args.simulate)  # 和第 05、06 课同一条规则
    if target:
        console.print(f"模型: {target.model} @ {target.base_url or 'OpenAI'}")
        return serve(args, chat.settings_from(args, target, simulated=False))
    if not args.simulate:
        console.print("没有找到 OPENAI_API_KEY, 使用第 05 课的模拟模型 (--simulate)。", style="yellow")  # fmt: skip
    with openai_sim.running_in_thread(args.token_delay) as sim:
        target = oa.Target(f"{sim.url}/v1", "sim-key", args.model or oa.SIM_MODEL)
        console.print(f"模拟模型: {target.base_url}  (统计: {sim.url}/sim/stats)")
        return serve(args, chat.settings_from(args, target, simulated=True))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="第 08 课: 可以续传的流 (后台生成 + 日志)")
    add = parser.add_argument
    add("--host", default=HOST, help=f"监听地址 (默认 {HOST})")
    add("--port", type=int, default=PORT, help=f"端口, 0 = 任意空闲端口 (默认 {PORT})")
    add("--redis", metavar="URL", help="把日志放进 Redis Streams, 例如 redis://127.0.0.1:6379/0; 几个进程用同一个 URL 就共享所有的 run (默认: 放在内存里, 只有这一个进程)")  # fmt: skip
    add("--lease", type=float, default=LEASE, help=f"租约秒数: 生成 run 的进程这么久没有心跳, 就被当作死了 (默认 {LEASE:g})")  # fmt: skip
    add("--ttl", type=float, default=RUN_TTL, help=f"run 结束后日志保留几秒 (默认 {RUN_TTL})")
    add("--max-run-time", type=float, default=MAX_RUN_TIME, help=f"一个 run 最多生成几秒 (默认 {MAX_RUN_TIME})")  # fmt: skip
    add("--max-events", type=int, default=MAX_EVENTS, help=f"一个 run 的日志最多几条事件 (默认 {MAX_EVENTS})")  # fmt: skip
    add("--shutdown-grace", type=float, default=SHUTDOWN_GRACE, help=f"SIGTERM / Ctrl+C 之后给自己的 run 几秒说完 (默认 {SHUTDOWN_GRACE:g})")  # fmt: skip
    add("--demo", action="store_true", help="启动 Redis、两个 worker 和 nginx, 跑一遍场景 (刷新、杀掉 worker、续传), 然后全部停掉")  # fmt: skip
    # 以下和第 06 课相同
    add("--model", default=os.environ.get("OPENAI_MODEL"), help="模型名 (默认 $OPENAI_MODEL)")
    add("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="兼容服务商的地址 (默认 $OPENAI_BASE_URL)")  # fmt: skip
    add("--simulate", action="store_true", help="使用模拟模型 (没有 OPENAI_API_KEY 时自动启用)")
    add("--token-delay", type=float, default=openai_sim.DEFAULT_TOKEN_DELAY, help=f"模拟模型每个 token 的秒数 (默认 {openai_sim.DEFAULT_TOKEN_DELAY})")  # fmt: skip
    add("--max-streams", type=int, default=chat.MAX_STREAMS, help=f"同时生成的回答最多几个 (默认 {chat.MAX_STREAMS})")  # fmt: skip
    add("--coalesce", type=float, default=chat.COALESCE, help=f"合并的时间窗口, 秒: 每个窗口往日志追加一次; 0 = 每批一次 (默认 {chat.COALESCE})")  # fmt: skip
    add("--keepalive", type=float, default=chat.KEEPALIVE, help=f"读者那边安静多少秒发一条保活注释 (默认 {chat.KEEPALIVE:g})")  # fmt: skip
    add("--headers-timeout", type=float, default=chat.HEADERS_TIMEOUT, help=f"等模型服务的响应头最多几秒 (默认 {chat.HEADERS_TIMEOUT:g})")  # fmt: skip
    add("--idle-timeout", type=float, default=chat.IDLE_TIMEOUT, help=f"模型两段输出之间最多安静几秒 (默认 {chat.IDLE_TIMEOUT:g})")  # fmt: skip
    add("--max-pending", type=int, default=chat.MAX_PENDING_CHARS, help=f"一个 run 最多积压几个字没写进日志 (默认 {chat.MAX_PENDING_CHARS})")  # fmt: skip
    add("--send-timeout", type=float, default=chat.SEND_TIMEOUT, help=f"读者多少秒不收任何数据就断开它 (默认 {chat.SEND_TIMEOUT:g})")  # fmt: skip
    add("--body-timeout", type=float, default=chat.BODY_TIMEOUT, help=f"请求体最多花几秒发完 (默认 {chat.BODY_TIMEOUT:g})")  # fmt: skip
    add("--header-timeout", type=float, default=chat.HEADER_TIMEOUT, help=f"请求头最多花几秒发完 (默认 {chat.HEADER_TIMEOUT:g})")  # fmt: skip
    add("--allow-host", action="append", default=[], metavar="NAME", help="另外接受的 Host 名字 (可以多次使用)")  # fmt: skip
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
