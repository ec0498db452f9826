"""kit bench end to end on tiny run folders: real LoadGen runs, results.csv, accuracy pass/fail, compare."""
import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mlperf_loadgen")

from kit.bench import BenchOptions, compare, run_bench  # noqa: E402
from kit.bench.models import load_run  # noqa: E402
from kit.bench.tables import COLUMNS  # noqa: E402
from kit.errors import InputDataError  # noqa: E402

SHORT = dict(duration_s=0.2, search_s=0.1, search_steps=3)


@pytest.fixture(scope="module")
def bench_1t(triage_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench1")
    opts = BenchOptions(scenarios=("SingleStream", "Server", "Offline"), threads=(1,), repeats=2, price_per_hour=1.0,
                        **SHORT)
    return out, run_bench([triage_run], out, opts, progress=lambda *_: None)


def test_results_csv_rows_and_columns(bench_1t):
    out, df = bench_1t
    on_disk = pd.read_csv(out / "results.csv")
    assert list(on_disk.columns) == COLUMNS and len(on_disk) == len(df)
    runtimes = set(zip(df.runtime, df.precision))
    assert runtimes == {("torch", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8")}
    for (runtime, precision), g in df.groupby(["runtime", "precision"]):
        assert {"Accuracy", "SingleStream", "Server", "Offline"} <= set(g.scenario), (runtime, precision)
        assert set(g[g.scenario == "SingleStream"].repeat) == {0, 1}
    ss = df[(df.scenario == "SingleStream") & (df.metric == "latency_p99_ms")]
    assert (ss.value > 0).all() and (ss.value < 1000).all()
    off = df[(df.scenario == "Offline") & (df.metric == "samples_per_s")]
    assert (off.value > 0).all()
    cost = df[df.metric == "cost_per_million_inferences"]
    rate = df[(df.scenario == "Offline") & (df.metric == "samples_per_s")].set_index(["runtime", "precision", "repeat"]).value
    c = cost[cost.scenario == "Offline"].set_index(["runtime", "precision", "repeat"]).value
    np.testing.assert_allclose(c.sort_index(), (1.0 / 3600 / rate * 1e6).sort_index(), rtol=1e-9)


def test_short_runs_are_not_valid_and_say_why(bench_1t):
    _, df = bench_1t
    perf = df[df.scenario.isin(["SingleStream", "Server", "Offline"]) & (df.metric != "energy_per_inference")
              & df.value.notna()]
    assert (perf.valid == "no").all()
    bad = perf[~perf.why.str.contains("< MLPerf's 600 s")]
    assert bad.empty, bad[["runtime", "scenario", "metric", "value", "why"]].to_string()


def test_accuracy_rows_pass_or_fail_against_torch_fp32(bench_1t, triage_run):
    _, df = bench_1t
    acc = df[(df.scenario == "Accuracy") & (df.metric == "auroc")].set_index(["runtime", "precision"])
    ref = acc.loc[("torch", "fp32"), "value"]
    assert 0.5 < ref <= 1.0
    # ONNX Runtime fp32 reproduces Torch: same AUROC on the same sample
    assert acc.loc[("onnxruntime", "fp32"), "value"] == pytest.approx(ref, abs=1e-6)
    for key, row in acc.iterrows():
        assert row.valid == ("yes" if row.value >= 0.99 * ref else "no"), key
    change = df[df.metric == "auroc_change"].set_index(["runtime", "precision"]).value
    assert change.loc[("onnxruntime", "int8")] == pytest.approx(acc.loc[("onnxruntime", "int8"), "value"] - ref)
    # the figure is LoadGen's accuracy-mode output: recompute it from the model directly
    import torch

    model, = load_run(triage_run)
    with torch.no_grad():
        logits = model.torch_model()(torch.from_numpy(model.inputs)).numpy().ravel()
    from kit.medical.evaluate import auroc

    assert auroc(model.arrays["labels"], logits) == pytest.approx(ref, abs=1e-6)


def test_loadgen_logs_system_and_report(bench_1t):
    out, _ = bench_1t
    for scenario in ("SingleStream/rep0", "Server/rep1", "Offline/rep0", "Accuracy"):
        d = out / "logs" / "triage" / "onnxruntime-int8-CPUExecutionProvider-t1" / scenario
        assert (d / "mlperf_log_summary.txt").read_text().strip() and (d / "mlperf_log_detail.txt").is_file()
    assert "MLPerf Results Summary" in (out / "logs/triage/torch-fp32-eager-cpu-t1/SingleStream/rep0/mlperf_log_summary.txt").read_text()
    assert json.loads((out / "logs/triage/torch-fp32-eager-cpu-t1/Accuracy/mlperf_log_accuracy.json").read_text())
    system = json.loads((out / "system.json").read_text())
    for key in ("cpu_model", "cpu_flags", "logical_cpus", "memory_gib", "os", "python", "torch", "onnxruntime",
                "mlperf_loadgen", "execution_providers", "kit_commit", "energy_counters"):
        assert key in system, key
    assert system["mlperf_loadgen"].startswith("6.")
    html = (out / "report.html").read_text()
    assert html.count("<img") >= 2 and "Accuracy change against speed-up" in html


def test_compare_one_thread_against_two(bench_1t, triage_run, tmp_path):
    out_a, _ = bench_1t
    out_b = tmp_path / "bench2"
    opts = BenchOptions(scenarios=("SingleStream", "Server", "Offline"), threads=(2,), repeats=2, price_per_hour=1.0,
                        **SHORT)
    run_bench([triage_run], out_b, opts, progress=lambda *_: None)
    table, where = compare(out_a, out_b, tmp_path / "cmp")
    assert set(table.threads_a) == {1} and set(table.threads_b) == {2}
    row = table[(table.runtime == "onnxruntime") & (table.precision == "int8") & (table.scenario == "Offline")
                & (table.metric == "samples_per_s")].iloc[0]
    assert row.ratio == pytest.approx(row.b / row.a) and row.ratio > 0
    assert (where / "compare.csv").is_file() and "<img" in (where / "compare.html").read_text()
    # accuracy on the same sample is the same on both
    acc = table[table.metric == "auroc"]
    assert len(acc) == 3 and np.allclose(acc.ratio, 1.0)


def test_compare_refuses_different_settings(bench_1t, triage_run, tmp_path):
    out_b = tmp_path / "other"
    run_bench([triage_run], out_b, BenchOptions(scenarios=("SingleStream",), duration_s=0.1, search_s=0.1),
              progress=lambda *_: None)
    with pytest.raises(InputDataError, match="different settings"):
        compare(bench_1t[0], out_b, tmp_path / "cmp")


def test_detector_multistream_and_map(detector_run, tmp_path):
    df = run_bench([detector_run], tmp_path / "b", BenchOptions(scenarios=("MultiStream",), providers=["CPUExecutionProvider"], **SHORT),
                   progress=lambda *_: None)
    ms = df[(df.scenario == "MultiStream") & (df.metric == "latency_p99_ms")]
    assert len(ms) == 3 and (ms.value > 0).all()
    acc = df[(df.scenario == "Accuracy") & (df.metric == "map50")].set_index(["runtime", "precision"]).value
    assert 0.0 <= acc.loc[("torch", "fp32")] <= 1.0
    assert acc.loc[("onnxruntime", "fp32")] == pytest.approx(acc.loc[("torch", "fp32")], abs=1e-3)


def test_not_available_torch_is_a_row(triage_run, tmp_path):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(triage_run, folder)
    (folder / "model.pt").unlink()
    df = run_bench([folder], tmp_path / "b", BenchOptions(scenarios=("SingleStream",), **SHORT), progress=lambda *_: None)
    torch_rows = df[df.runtime == "torch"]
    assert torch_rows.value.isna().all() and torch_rows.why.str.startswith("not available").all()
    # the reference falls back to ONNX Runtime fp32
    assert df[(df.runtime == "onnxruntime") & (df.metric == "auroc")].why.str.contains("ONNX Runtime fp32").all()


def test_folder_without_sample_is_one_line_error(tmp_path):
    with pytest.raises(InputDataError, match="bench_samples"):
        run_bench([tmp_path], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    from kit.cli import main

    assert main(["bench", str(tmp_path), "--out", str(tmp_path / "b")]) == 2
    assert main(["bench", "compare", str(tmp_path)]) == 2
    assert main(["bench", str(tmp_path), "--threads", "one"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("kit: error:") for line in err)


def test_logistics_run_holds_the_detector_and_the_code_reader(logistics_run, detector_run):
    folder, codes = logistics_run
    models = load_run(folder)
    assert [(m.name, m.task, m.metric) for m in models] == [("detector", "detection", "map50"),
                                                           ("code_reader", "code_reading", "code_accuracy")]
    assert codes.attrs["onnx_max_abs_diff"] < 1e-4
    assert [m.name for m in load_run(detector_run)] == ["detector"]  # a folder from before: one model


def test_code_reader_rows_and_accuracy_against_torch_fp32(logistics_run, tmp_path):
    import torch

    from kit.vision.recognizer import code_accuracy, read_codes

    folder, _ = logistics_run
    opts = BenchOptions(scenarios=("SingleStream", "Server", "Offline"), providers=["CPUExecutionProvider"], **SHORT)
    df = run_bench([folder], tmp_path / "b", opts, progress=lambda *_: None)
    assert set(df.model) == {"detector", "code_reader"}
    reader = df[df.model == "code_reader"]
    for key in (("torch", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8")):
        g = reader[(reader.runtime == key[0]) & (reader.precision == key[1])]
        assert {"Accuracy", "SingleStream", "Server", "Offline"} <= set(g.scenario), key
        assert (g[(g.scenario == "SingleStream") & (g.metric == "latency_p99_ms")].value > 0).all(), key
    acc = reader[reader.metric == "code_accuracy"].set_index(["runtime", "precision"])
    ref = acc.loc[("torch", "fp32"), "value"]
    assert acc.loc[("onnxruntime", "fp32"), "value"] == pytest.approx(ref)
    for key, row in acc.iterrows():
        assert row.valid == ("yes" if row.value >= 0.99 * ref else "no") and "Torch fp32" in row.why, key
    assert len(reader[reader.metric == "code_accuracy_change"]) == 3
    # LoadGen's accuracy-mode figure against the recognizer's own reading of the same crops, one pass
    model = load_run(folder)[1]
    crops = list(np.round(model.inputs.transpose(0, 2, 3, 1) * 255).astype(np.uint8))
    with torch.no_grad():
        readings = read_codes(model.torch_model(), crops, row_shifts_px=(0,))
    assert code_accuracy(readings, list(model.arrays["labels"])) == pytest.approx(ref)
    assert (tmp_path / "b/logs/code_reader/onnxruntime-int8-CPUExecutionProvider-t1/Offline/rep0/mlperf_log_summary.txt").is_file()
