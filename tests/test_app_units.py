"""The serving pieces that need no model: settings, micro-batching, length grouping, error messages."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tp.errors import ConfigError, InputError
from tp.serving.api.errors import describe_validation_error
from tp.serving.batcher import MicroBatcher
from tp.serving.errors import ModelFailedError, OverloadedError
from tp.serving.inference import group_by_length
from tp.serving.settings import load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    for name in ("TP_MODEL", "TP_MODELS", "TP_PORT", "PORT", "TP_HOST", "GRADIO_SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TP_MODEL", str(tmp_path))  # any existing folder passes the settings check
    return monkeypatch


def test_settings_defaults_and_port_aliases(clean_env) -> None:
    settings = load_settings()
    assert (settings.port, settings.host, settings.cors_origins, settings.api_key) == (7860, "127.0.0.1", [], None)
    clean_env.setenv("PORT", "9000")
    assert load_settings().port == 9000
    clean_env.setenv("TP_PORT", "9001")  # TP_PORT wins over a platform's PORT
    assert load_settings().port == 9001


def test_models_parse_names_sources_and_default(clean_env, tmp_path) -> None:
    clean_env.delenv("TP_MODEL")
    clean_env.setenv("TP_MODELS", f"local={tmp_path}, hub=distilbert/distilbert-base-uncased-finetuned-sst-2-english")
    clean_env.setenv("TP_DEFAULT_MODEL", "hub")
    specs = load_settings().specs
    assert [(s.name, s.is_local) for s in specs] == [("hub", False), ("local", True)]
    assert specs[1].source == str(tmp_path.resolve())


@pytest.mark.parametrize(("env", "expected"), [
    ({"TP_MAX_BATCH_SIZE": "0"}, "TP_MAX_BATCH_SIZE='0'"),
    ({"TP_MODEL": "/no/such/folder"}, "does not exist"),
    ({"TP_MODELS": "a=/tmp,a=/tmp"}, "names a model twice"),
    ({"TP_DEFAULT_MODEL": "other"}, "TP_DEFAULT_MODEL is 'other'"),
    ({"TP_QUANTIZE": "int4"}, "TP_QUANTIZE='int4'"),
    ({"TP_QUANTIZE": "int8", "TP_DEVICE": "cuda"}, "set TP_DEVICE=cpu"),
    ({"TP_BACKEND": "onnx", "TP_DEVICE": "cuda"}, "TP_BACKEND=onnx runs on the CPU"),
    ({"TP_BACKEND": "onnx", "TP_QUANTIZE": "bf16"}, "TP_QUANTIZE=bf16 runs on torch"),
    ({"TP_BACKEND": "tensorrt"}, "TP_BACKEND='tensorrt'"),
    ({"TP_CORS_ORIGINS": "http://ok.org, not-an-origin"}, "'not-an-origin' is not an origin"),
    ({"TP_API_KEY": "short"}, "shorter than 16 characters"),
    ({"TP_ROOT_PATH": "proxy"}, "starting with /"),
    ({"TP_MAX_ITEMS": "500", "TP_QUEUE_LIMIT": "100"}, "TP_QUEUE_LIMIT (100) is below TP_MAX_ITEMS (500)"),
])
def test_invalid_settings_name_the_variable_and_fix(clean_env, env, expected) -> None:
    if "TP_MODELS" in env:
        clean_env.delenv("TP_MODEL")
    for name, value in env.items():
        clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match="Invalid server settings") as error:
        load_settings()
    assert expected in str(error.value)
    assert "short" not in str(error.value).replace("shorter", "")  # never echo a secret


def test_cors_origins_are_a_comma_list(clean_env) -> None:
    clean_env.setenv("TP_CORS_ORIGINS", "http://localhost:5173, https://example.org/")
    assert load_settings().cors_origins == ["http://localhost:5173", "https://example.org"]


def test_check_texts_caps(clean_env) -> None:
    clean_env.setenv("TP_MAX_ITEMS", "2")
    clean_env.setenv("TP_MAX_CHARS", "10")
    settings = load_settings()
    settings.check_texts(["short", "texts"])
    with pytest.raises(InputError, match="3 texts; the limit is 2"):
        settings.check_texts(["a", "b", "c"])
    with pytest.raises(InputError, match=r"`inputs\[1\]` has 11 characters; the limit is 10"):
        settings.check_texts(["a", "x" * 11])


def test_check_pairs_counts_a_pair_as_one_input(clean_env) -> None:
    clean_env.setenv("TP_MAX_ITEMS", "2")
    clean_env.setenv("TP_MAX_CHARS", "10")
    settings = load_settings()
    settings.check_pairs([("a", "b"), ("c", "d")])  # four texts, two inputs: as the document's maxItems says
    with pytest.raises(InputError, match="3 text pairs; the limit is 2"):
        settings.check_pairs([("a", "b")] * 3)
    with pytest.raises(InputError, match=r"`inputs\[1\].text_pair` has 11 characters; the limit is 10"):
        settings.check_pairs([("a", "b"), ("c", "x" * 11)])
    with pytest.raises(InputError, match=r"`inputs.text` has 11 characters"):
        settings.check_pairs([("x" * 11, "b")], one=True)


def test_group_by_length_splits_only_when_padding_costs_more() -> None:
    assert group_by_length([256] * 8, max_rows=32) == [list(range(8))]  # equal lengths: one pass
    groups = group_by_length([5, 300, 7, 8, 290, 10], max_rows=32)
    assert groups == [[0, 2, 3, 5], [4, 1]]  # short ones together, long ones together
    assert all(len(g) <= 3 for g in group_by_length([10] * 7, max_rows=3))


def test_few_shapes_pads_lengths_to_steps_and_keeps_batches_whole(tiny_bert_dir) -> None:
    from transformers import AutoTokenizer

    from tp.serving.inference import TextInference

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    lengths = [250] * 13 + [20, 21]
    plain = TextInference(None, tokenizer, max_tokens=250, max_rows=32).passes(lengths)
    assert sorted(len(group) for group, _ in plain) == [2, 13] and {n for _, n in plain} == {21, 250}
    few = TextInference(None, tokenizer, max_tokens=250, max_rows=32, few_shapes=True).passes(lengths)
    assert sorted(len(group) for group, _ in few) == [2, 13]  # one pass of 13, not 8 + 4 + 1
    assert {n for _, n in few} == {32, 250}  # 20 and 21 -> 32; never past max_tokens
    assert sorted(i for group, _ in few for i in group) == list(range(15))


def test_keep_freed_memory_tunes_glibc_unless_the_user_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    from tp.serving.cpu_tuning import keep_freed_memory

    if platform.libc_ver()[0] != "glibc":
        assert keep_freed_memory() is False
        return
    assert keep_freed_memory() is True  # glibc accepted both thresholds
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    assert keep_freed_memory() is False


def test_malloc_arenas_are_capped_unless_the_user_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import platform

    from tp.serving.cpu_tuning import limit_malloc_arenas

    assert limit_malloc_arenas() is (platform.libc_ver()[0] == "glibc")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_malloc_arenas() is False


def test_describe_validation_error_says_what_to_send() -> None:
    assert "not valid JSON" in describe_validation_error(
        {"type": "json_invalid", "loc": ("body", 7), "msg": "JSON decode error", "ctx": {"error": "Expecting value"}})
    assert "`inputs` is required" in describe_validation_error({"type": "missing", "loc": ("body", "inputs")})
    assert "fields are inputs, model" in describe_validation_error(
        {"type": "extra_forbidden", "loc": ("body", "input")}, ["inputs", "model"])


def run(coro):
    return asyncio.run(coro)


def test_batcher_groups_concurrent_requests_and_keeps_order() -> None:
    sizes: list[int] = []

    def double(items: list[int]) -> list[int]:
        sizes.append(len(items))
        return [2 * item for item in items]

    batcher = MicroBatcher(double, max_batch_size=16, max_wait_s=0.05, queue_limit=100).start()

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(batcher.submit([i, i + 100]) for i in range(20)))

    try:
        results = run(main())
    finally:
        batcher.stop()
    assert results == [[2 * i, 2 * (i + 100)] for i in range(20)]
    assert max(sizes) == 16 and sum(sizes) == 40  # requests shared forward passes


def test_batcher_refuses_past_the_queue_limit_and_recovers() -> None:
    started, release = threading.Event(), threading.Event()

    def slow(items: list[int]) -> list[int]:
        started.set()
        release.wait(5)
        return items

    batcher = MicroBatcher(slow, max_batch_size=1, max_wait_s=0, queue_limit=3).start()

    async def main() -> None:
        first = asyncio.ensure_future(batcher.submit([0]))
        while not started.is_set():  # the worker holds item 0; the queue is empty again
            await asyncio.sleep(0.001)
        waiting = asyncio.ensure_future(batcher.submit([1, 2, 3]))
        await asyncio.sleep(0.01)
        with pytest.raises(OverloadedError, match="busy") as error:
            await batcher.submit([4])
        assert error.value.retry_after >= 1
        release.set()
        assert await first == [0] and await waiting == [1, 2, 3]
        assert await batcher.submit([5]) == [5]

    try:
        run(main())
    finally:
        release.set()
        batcher.stop()


def test_batcher_delivers_errors_and_runs_solo_jobs() -> None:
    def fail_on_negative(items: list[int]) -> list[int]:
        if any(item < 0 for item in items):
            raise ValueError("negative")
        return items

    batcher = MicroBatcher(fail_on_negative, max_batch_size=8, max_wait_s=0.001, queue_limit=10).start()

    async def main() -> None:
        with pytest.raises(ModelFailedError, match=r"'model' failed on a batch of 1 inputs \(ValueError: negative"):
            await batcher.submit([-1])
        assert await batcher.submit([1, 2]) == [1, 2]  # the worker survived
        assert await batcher.run_solo(lambda: threading.current_thread().name) == "tp-batcher-model-0"

    try:
        run(main())
    finally:
        batcher.stop()


def test_batcher_workers_run_batches_side_by_side() -> None:
    both_running = threading.Barrier(2, timeout=5)  # passes only if two batches run at the same time

    def meet(items: list[int]) -> list[int]:
        both_running.wait()
        return items

    batcher = MicroBatcher(meet, max_batch_size=1, max_wait_s=0, queue_limit=10, workers=2).start()

    async def main() -> list[list[int]]:
        return await asyncio.gather(batcher.submit([1]), batcher.submit([2]))

    try:
        assert run(main()) == [[1], [2]]
    finally:
        batcher.stop()


def test_idle_workers_split_a_burst() -> None:
    sizes: list[int] = []
    both_running = threading.Barrier(2, timeout=5)

    def record(items: list[int]) -> list[int]:
        sizes.append(len(items))
        both_running.wait()  # fails unless the burst went to both workers at once
        return items

    batcher = MicroBatcher(record, max_batch_size=32, max_wait_s=0.01, queue_limit=64, workers=2).start()
    time.sleep(0.05)  # both workers idle

    async def main() -> list[int]:
        return await batcher.submit(list(range(32)))

    try:
        assert run(main()) == list(range(32))
    finally:
        batcher.stop()
    assert sorted(sizes) == [16, 16]


def test_a_worker_freed_during_a_burst_leaves_the_busy_one_its_share() -> None:
    sizes: list[int] = []
    first_started, release = threading.Event(), threading.Event()

    def record(items: list[int]) -> list[int]:
        sizes.append(len(items))
        if items == [0]:  # worker A holds one item until released
            first_started.set()
            release.wait(5)
        return items

    batcher = MicroBatcher(record, max_batch_size=32, max_wait_s=0, queue_limit=64, workers=2).start()

    async def main() -> tuple[list[int], list[int]]:
        first = asyncio.ensure_future(batcher.submit([0]))
        while not first_started.is_set():
            await asyncio.sleep(0.001)
        rest = asyncio.ensure_future(batcher.submit(list(range(1, 32))))
        deadline = time.monotonic() + 5
        while sum(sizes) < 32 and time.monotonic() < deadline:  # worker B runs all 31 while A still holds its one
            await asyncio.sleep(0.001)
        release.set()
        return await first, await rest

    try:
        assert run(main()) == ([0], list(range(1, 32)))
    finally:
        release.set()
        batcher.stop()
    # 16 = ceil((31 waiting + 1 running) / 2 workers), not all 31; then halves of what is left
    assert sizes == [1, 16, 8, 4, 2, 1]


def test_gradio_queue_polls_every_50_ms_not_every_millisecond() -> None:
    import gradio as gr

    from tp.serving.demo_mount import slow_down_queue_polling

    with gr.Blocks() as demo:
        gr.Textbox()
    slow_down_queue_polling(demo)
    assert (demo._queue.sleep_when_free, demo._queue.progress_update_sleep_when_free) == (0.05, 0.1)


def test_bf16_is_advised_only_for_fp32_on_a_cpu_with_amx() -> None:
    import torch

    from tp.serving.cpu_tuning import precision_advice

    amx = bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())
    advice = precision_advice("none", "cpu")
    assert (advice is not None) == amx and (advice is None or "TP_QUANTIZE=bf16" in advice)
    assert precision_advice("bf16", "cpu") is None and precision_advice("int8", "cpu") is None
    assert precision_advice("none", "cuda") is None
