import time

import numpy as np
import pytest

from kit.vision.bench import benchmark, cpu_model, offline, single_stream


def _sleeper(per_image_s):
    def fn(x):
        time.sleep(per_image_s * len(x))
    return fn


def test_single_stream_latency_tracks_the_work():
    imgs = np.zeros((3, 2), np.float32)
    r = single_stream(_sleeper(0.004), imgs, min_queries=15, min_seconds=0)
    assert r["queries"] == 15
    assert 4.0 <= r["latency_p50_ms"] < 40 and r["latency_p50_ms"] <= r["latency_p90_ms"] <= r["latency_p99_ms"]
    assert r["images_per_s"] == pytest.approx(1000 / r["latency_p50_ms"], rel=0.5)


def test_offline_throughput_and_table():
    imgs = np.zeros((5, 2), np.float32)
    o = offline(_sleeper(0.001), imgs, batch_size=8, min_seconds=0)
    assert o["queries"] >= 1 and 20 < o["images_per_s"] <= 1000  # sleep(1 ms) per image caps it at 1000/s
    df = benchmark({("a", "fp32"): _sleeper(0.004), ("b", "int8"): _sleeper(0.001)}, imgs, threads=1, offline_batch=8,
                   min_queries=5, min_seconds=0)
    assert list(df["scenario"]) == ["SingleStream", "Offline"] * 2
    fast = df[(df.backend == "b") & (df.scenario == "Offline")]["images_per_s"].item()
    slow = df[(df.backend == "a") & (df.scenario == "Offline")]["images_per_s"].item()
    assert fast > 1.5 * slow  # 4x less work per image
    assert df.attrs["cpu_model"] == cpu_model() and cpu_model()
