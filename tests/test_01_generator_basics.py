"""第 01 课的测试: 生成器的暂停、惰性、内存、流水线与清理。"""

from __future__ import annotations

import itertools

from conftest import load_script, run_script

gb = load_script("01")


def test_generator_body_runs_only_when_asked(capsys):
    gen = gb.countdown(2)
    assert capsys.readouterr().out == "", "创建生成器时函数体不应执行"
    assert next(gen) == 2
    out = capsys.readouterr().out
    assert "开始执行" in out and "从暂停处继续" not in out
    assert list(gen) == [1]


def test_first_dish_arrives_long_before_the_last():
    delay = 0.05
    ignore = lambda t, dish: None  # noqa: E731
    streamed = gb.timeline(lambda: gb.serve_dishes(gb.DISHES, delay), ignore)
    batched = gb.timeline(lambda: gb.cook_all(gb.DISHES, delay), ignore)
    n = len(gb.DISHES)
    # 生成器: 第一道菜只等一道菜的时间; 列表: 第一道菜要等全部做完。
    assert streamed[0] < streamed[-1] / (n / 2)
    assert batched[0] > batched[-1] * 0.9
    assert streamed[0] < batched[0] / (n / 2)


def test_generator_uses_a_fraction_of_the_memory_of_a_list():
    n = 200_000
    assert sum(gb.squares_list(n)) == sum(gb.squares_gen(n))
    list_peak = gb.peak_memory(lambda: sum(gb.squares_list(n)))
    gen_peak = gb.peak_memory(lambda: sum(gb.squares_gen(n)))
    assert gen_peak * 100 < list_peak


def test_infinite_sequence_with_islice():
    assert list(itertools.islice(gb.fibonacci(), 10)) == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]


def test_pipeline_moves_one_piece_at_a_time(capsys):
    stream = gb.numbered(gb.mask_digits(gb.pieces("电话13812345678")))
    assert capsys.readouterr().out == ""
    assert next(stream) == (1, "电话*")
    assert capsys.readouterr().out.count("源头产出") == 1, "只应产出了第一片"
    assert [piece for _, piece in stream] == ["***", "***", "***", "*"]


def test_yield_from_delegates_and_returns_a_value():
    parts = list(gb.reply())
    assert parts[:2] == list(gb.think())
    assert parts[2] == "[想了 2 步] "
    assert "".join(parts).endswith("北京今天晴。")


def test_send_feeds_values_into_the_generator():
    avg = gb.running_average()
    assert next(avg) is None
    assert [avg.send(v) for v in (10, 20, 60)] == [10.0, 15.0, 30.0]


def test_finally_runs_when_the_consumer_stops_early(capsys):
    answer = gb.stream_answer(["流式", "输出", "真", "好用"])
    assert [next(answer), next(answer)] == ["流式", "输出"]
    assert "关闭连接" not in capsys.readouterr().out
    answer.close()
    assert "关闭连接" in capsys.readouterr().out


def test_script_runs_as_a_learner_runs_it():
    # PYTHONIOENCODING=ascii 模拟一个不是 UTF-8 的控制台: 脚本必须自己改成 UTF-8。
    result = run_script("01", "--delay", "0", "--size", "10000", env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for title in ["上一道菜 vs 等全部做好", "暂停与继续", "内存", "islice", "流水线", "finally"]:
        assert title in out
    assert "sum([i * i for i in range(n)])" in out, "方括号不能被 rich 当成样式吞掉"
    assert "\x1b[" not in out, "输出到管道时不应有终端控制码"
    assert out.index("拿到 '输出'") < out.index("关闭连接")
