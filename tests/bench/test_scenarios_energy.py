"""MLPerf validity, the Server search, RAPL counters on a powercap tree laid out as Linux writes it."""
import pytest

from kit.bench import scenarios
from kit.bench.energy import EnergyMeter


def test_validity_needs_loadgen_and_mlperf_minimums():
    detail = {"result_validity": "VALID", "result_query_count": 2000}
    assert scenarios.validity("SingleStream", detail, 700.0) == ("yes", "")
    valid, why = scenarios.validity("SingleStream", detail, 5.0)
    assert valid == "no" and "5.0 s < MLPerf's 600 s" in why
    valid, why = scenarios.validity("Server", {"result_validity": "INVALID", "result_perf_constraints_met": False,
                                               "result_query_count": 10}, 700.0)
    assert valid == "no" and "latency bound" in why and "10 queries < 270336" in why


def test_server_search_finds_the_knee():
    capacity = 200.0

    def run(qps):  # p99 grows steeply towards capacity, like a queue
        return {"result_99.00_percentile_latency_ns": 1e6 * (5 / max(1e-3, 1 - qps / capacity))}

    qps, trace = scenarios.server_search(run, bound_ms=50.0, start_qps=100.0, steps=8)
    assert 150 <= qps <= 180 and all(ok == (p99 <= 50) for _, p99, ok in trace)  # knee at 180 qps


def test_server_search_stops_when_latency_exceeds_bound_at_light_load():
    qps, trace = scenarios.server_search(lambda q: {"result_99.00_percentile_latency_ns": 2e8}, 100.0, 90.0, 8,
                                         light_qps=5.0)
    assert qps == 0 and len(trace) < 8


def _powercap(root, uj, max_uj=2**32):
    d = root / "intel-rapl:0"
    d.mkdir(parents=True, exist_ok=True)
    (d / "name").write_text("package-0\n")
    (d / "energy_uj").write_text(f"{uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_uj}\n")
    sub = root / "intel-rapl:0:0"  # a sub-domain (core): inside the package figure, not added again
    sub.mkdir(exist_ok=True)
    (sub / "energy_uj").write_text("5\n")


def test_rapl_energy_with_wrap_around(tmp_path):
    _powercap(tmp_path, 2**32 - 1_000_000)
    meter = EnergyMeter(tmp_path)
    assert meter.available and meter.source() == "RAPL intel-rapl:0" or meter.source().startswith("RAPL intel-rapl:0")
    start = meter.read()
    _powercap(tmp_path, 2_000_000)  # wrapped past max_energy_range_uj
    assert meter.joules_since(start) == pytest.approx(3.0)


def test_no_counter_is_not_measurable(tmp_path):
    meter = EnergyMeter(tmp_path / "absent")
    if meter.gpus:
        pytest.skip("an NVML GPU is present")
    assert not meter.available and meter.source().startswith("not measurable here")
