"""第 01 课: 生成器 —— 流式输出的起点

你将学到:
- yield 让函数暂停、交出一个值, 下次从暂停处继续 (上一道菜, 而不是等全部做好)
- 生成器是惰性的: 不取值就不计算; 用 tracemalloc 量出它比列表省多少内存
- 无限序列 + itertools.islice; 生成器串成的流水线; yield from 委托
- send() 往生成器里送值; close() 与 finally: 消费者提前停下时也能清理

运行:
    python examples/01_generator_basics.py
    python examples/01_generator_basics.py --delay 0 --size 100000   # 不停顿, 很快跑完
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.table import Table

DISHES = ["凉拌黄瓜", "宫保鸡丁", "麻婆豆腐", "清蒸鲈鱼", "酸辣汤"]
DEFAULT_DELAY = 0.4  # 做一道菜要几秒 (演示用; 测试传 0 或很小的值)
DEFAULT_SIZE = 1_000_000  # 内存对比用多少个数

console = Console()


# --8<-- [start:restaurant]
def cook(dish: str, delay: float) -> str:
    time.sleep(delay)  # 假装在炒菜
    return dish


def cook_all(dishes: list[str], delay: float) -> list[str]:
    """等全部做好: 所有菜都做完, 才一起端上桌。"""
    return [cook(dish, delay) for dish in dishes]


def serve_dishes(dishes: list[str], delay: float) -> Iterator[str]:
    """上一道菜: 每做好一道就端出来 (yield), 客人吃着, 厨房接着做下一道。"""
    for dish in dishes:
        yield cook(dish, delay)


# --8<-- [end:restaurant]


# --8<-- [start:timing]
def timeline(
    make_items: Callable[[], Iterable[str]], show: Callable[[float, str], None]
) -> list[float]:
    """从调用开始计时; 每拿到一个值就 show(秒数, 值); 返回每个值到手的时刻。"""
    start = time.perf_counter()
    times = []
    for item in make_items():
        times.append(time.perf_counter() - start)
        show(times[-1], item)
    return times


# --8<-- [end:timing]


def demo_restaurant(delay: float) -> None:
    console.rule("1. 上一道菜 vs 等全部做好")
    table = Table(title="客人等了多久 (对应大模型: 首字时间 TTFT 与总时间)")
    table.add_column("方式")
    table.add_column("第一道菜", justify="right")
    table.add_column("全部上完", justify="right")
    for name, make_items in [
        ("等全部做好 (函数返回列表)", lambda: cook_all(DISHES, delay)),
        ("上一道菜 (生成器)", lambda: serve_dishes(DISHES, delay)),
    ]:
        console.print(f"{name}:")
        times = timeline(make_items, lambda t, dish: console.print(f"  {t:5.2f}s 端上: {dish}"))
        table.add_row(name, f"{times[0]:.2f}s", f"{times[-1]:.2f}s")
    console.print(table)


# --8<-- [start:pause_resume]
def countdown(n: int) -> Iterator[int]:
    print(f"    [生成器] 开始执行, n={n}")
    while n > 0:
        print(f"    [生成器] yield {n}, 然后暂停")
        yield n
        print("    [生成器] 从暂停处继续")
        n -= 1
    print("    [生成器] 函数体结束 -> StopIteration")


# --8<-- [end:pause_resume]


def demo_pause_resume() -> None:
    console.rule("2. yield: 暂停与继续")
    gen = countdown(2)
    console.print("  gen = countdown(2)   # 什么都没打印: 函数体还没开始执行")
    for _ in range(3):
        console.print("  next(gen)")
        try:
            console.print(f"  -> 得到 {next(gen)}")
        except StopIteration:
            console.print("  -> StopIteration: 生成器用完了 (for 循环就是靠它知道何时结束)")


# --8<-- [start:lazy]
def squares_list(n: int) -> list[int]:
    return [i * i for i in range(n)]  # 先把 n 个结果全部放进内存


def squares_gen(n: int) -> Iterator[int]:
    return (i * i for i in range(n))  # 生成器表达式: 要一个才算一个


def peak_memory(work: Callable[[], object]) -> int:
    """运行 work(), 返回这期间 Python 分配内存的峰值 (字节)。"""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --8<-- [end:lazy]


def demo_memory(size: int) -> None:
    console.rule("3. 惰性: 列表 vs 生成器的内存")
    list_peak = peak_memory(lambda: sum(squares_list(size)))
    gen_peak = peak_memory(lambda: sum(squares_gen(size)))
    table = Table(title=f"求 0..{size - 1} 的平方和, 内存峰值 (tracemalloc 实测)")
    table.add_column("写法")
    table.add_column("内存峰值", justify="right")
    # escape(): 方括号在 rich 里是样式标记, 要原样显示就得转义
    table.add_row(escape("sum([i * i for i in range(n)])  列表"), f"{list_peak / 1024:,.1f} KiB")
    table.add_row("sum(i * i for i in range(n))    生成器", f"{gen_peak / 1024:,.1f} KiB")
    console.print(table)
    console.print(
        f"列表用的内存是生成器的 {list_peak / max(gen_peak, 1):,.0f} 倍; n 越大差距越大。"
    )


# --8<-- [start:infinite]
def fibonacci() -> Iterator[int]:
    a, b = 0, 1
    while True:  # 永不结束: 只要有人要, 就一直给
        yield a
        a, b = b, a + b


# --8<-- [end:infinite]


def demo_infinite() -> None:
    console.rule("4. 无限序列 + itertools.islice")
    # --8<-- [start:islice]
    first_ten = list(itertools.islice(fibonacci(), 10))  # 只取前 10 个
    # --8<-- [end:islice]
    console.print(f"  前 10 个斐波那契数: {first_ten}")
    console.print("  list(fibonacci()) 永远不会返回 —— 无限的流只能一个一个地取。")


# --8<-- [start:pipeline]
def pieces(text: str, size: int = 3) -> Iterator[str]:
    """数据源: 把文本切成小片, 像模型一小片一小片地吐字。"""
    for i in range(0, len(text), size):
        piece = text[i : i + size]
        print(f"    源头产出 {piece!r}")
        yield piece


def mask_digits(stream: Iterable[str]) -> Iterator[str]:
    """加工: 把数字打码, 例如手机号。"""
    for piece in stream:
        yield "".join("*" if ch.isdigit() else ch for ch in piece)


def numbered(stream: Iterable[str]) -> Iterator[tuple[int, str]]:
    """加工: 给每一片编号。"""
    yield from enumerate(stream, start=1)


# --8<-- [end:pipeline]


def demo_pipeline() -> None:
    console.rule("5. 生成器流水线: 每一片走完全程, 下一片才开始")
    # --8<-- [start:pipeline_use]
    stream = numbered(mask_digits(pieces("电话13812345678")))
    for number, piece in stream:
        print(f"    消费者拿到第 {number} 片: {piece!r}")
    # --8<-- [end:pipeline_use]


# --8<-- [start:yield_from]
def think() -> Iterator[str]:
    yield "(思考: 用户问天气) "
    yield "(思考: 先确定城市) "
    return 2  # 生成器的返回值, 会成为 yield from 表达式的值


def reply() -> Iterator[str]:
    steps = yield from think()  # 把 think() 产出的每个值原样转交给消费者
    yield f"[想了 {steps} 步] "
    yield from ["北京", "今天", "晴。"]  # 也可以委托给任何可迭代对象


# --8<-- [end:yield_from]


# --8<-- [start:send]
def running_average() -> Iterator[float | None]:
    total, count = 0.0, 0
    average = None
    while True:
        value = yield average  # yield 既交出 average, 也接收 send() 送进来的值
        total += value
        count += 1
        average = total / count


# --8<-- [end:send]


# --8<-- [start:cleanup]
def stream_answer(words: list[str]) -> Iterator[str]:
    print("    [stream_answer] 打开连接")
    try:
        yield from words
    finally:
        # 正常结束、出错、或者消费者调用 close() 提前停下, 都会走到这里。
        print("    [stream_answer] 关闭连接")


# --8<-- [end:cleanup]


def demo_yield_from_send_close() -> None:
    console.rule("6. yield from / send() / close() 与 finally")
    console.print(f"  yield from: {''.join(reply())}")

    # --8<-- [start:send_use]
    avg = running_average()
    next(avg)  # 先让它运行到第一个 yield, 才能 send
    for value in [10, 20, 60]:
        print(f"    send({value}) -> 平均值 {avg.send(value)}")
    # --8<-- [end:send_use]

    console.print("  消费者只要前两个词就停下:")
    # --8<-- [start:cleanup_use]
    answer = stream_answer(["流式", "输出", "真", "好用"])
    for i, word in enumerate(answer):
        print(f"    拿到 {word!r}")
        if i == 1:
            break
    answer.close()  # 明确地关闭: 生成器里抛出 GeneratorExit, finally 立刻执行
    # --8<-- [end:cleanup_use]


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(description="第 01 课: 生成器基础")
    parser.add_argument(
        "--delay",
        type=float,
        default=DEFAULT_DELAY,
        help=f"做一道菜的秒数 (默认 {DEFAULT_DELAY})",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=DEFAULT_SIZE,
        help=f"内存对比用的数字个数 (默认 {DEFAULT_SIZE:,})",
    )
    args = parser.parse_args(argv)

    demo_restaurant(args.delay)
    demo_pause_resume()
    demo_memory(args.size)
    demo_infinite()
    demo_pipeline()
    demo_yield_from_send_close()
    console.rule("小结")
    console.print("生成器 = 一边产出一边交付。大模型的流式输出, 就是把这个想法搬到了网络上。")
    console.print("下一课: python examples/02_async_generator.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
