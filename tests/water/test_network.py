import numpy as np
import pytest

from kit.errors import InputDataError
from kit.water import load_network, pipe_distances_m, plot_network, sensors_from_comments
from kit.water.network import ltown_path


def test_ltown_matches_published_description(ltown):
    # BattLeDIM 2020 (Vrachimis et al. 2022): 782 junctions, 905 pipes, about 43 km of mains, 1 tank, 1 pump, 3 PRVs.
    wn = ltown.wn
    assert (wn.num_junctions, wn.num_pipes, wn.num_tanks, wn.num_pumps, wn.num_valves) == (782, 905, 1, 1, 3)
    length_km = sum(wn.get_link(p).length for p in wn.pipe_name_list) / 1000
    assert 42 < length_km < 44


def test_ltown_sensors_are_battledims(ltown):
    s = ltown.sensors
    assert list(s.columns) == ["sensor_id", "kind", "element", "unit"]
    assert s.kind.value_counts().to_dict() == {"pressure": 33, "flow": 3, "level": 1}
    assert set(s.loc[s.kind == "flow", "element"]) == {"p227", "p235", "PUMP_1"}
    # A few of BattLeDIM's pressure sensors, including ones marked "AMR & PRESSURE SENSOR".
    assert {"n1", "n4", "n31", "n54", "n105", "n769"} <= set(s.loc[s.kind == "pressure", "element"])
    assert set(s.element) <= set(wn_elements(ltown))


def wn_elements(net):
    return net.nodes + net.links


def test_epyt_not_imported_to_find_ltown():
    import sys

    ltown_path()
    assert "epyt" not in sys.modules


def test_distances_along_pipes(ltown):
    wn = ltown.wn
    pipe = wn.get_link("p905")  # n46 - n47, 8.93 m
    d = pipe_distances_m(ltown, ["n46"], ["n47", "n46"])
    assert d.loc["n46", "n47"] == pytest.approx(min(pipe.length, d.loc["n46", "n47"]))
    assert d.loc["n46", "n47"] <= pipe.length + 1e-9
    assert d.loc["n46", "n46"] == 0
    full = ltown.distances_m()
    assert np.allclose(full.to_numpy(), full.to_numpy().T)
    assert np.isfinite(full.to_numpy()).all()  # L-Town is connected
    # Triangle inequality against an independent networkx Dijkstra on a few pairs.
    import networkx as nx

    g = nx.Graph()
    for name in wn.link_name_list:
        link = wn.get_link(name)
        w = link.length if link.link_type == "Pipe" else 0.0
        g.add_edge(link.start_node_name, link.end_node_name, weight=w)
    for a, b in [("n1", "n782"), ("n105", "n628"), ("n343", "T1")]:
        assert full.loc[a, b] == pytest.approx(nx.shortest_path_length(g, a, b, weight="weight"), abs=1e-3)


def test_unknown_node_and_missing_file(ltown, tmp_path):
    with pytest.raises(InputDataError, match="n0"):
        pipe_distances_m(ltown, ["n0"])
    with pytest.raises(InputDataError, match="does not exist"):
        load_network(tmp_path / "nope.inp")


def test_sensors_from_comments_on_a_small_file(tmp_path):
    inp = tmp_path / "tiny.inp"
    inp.write_text(
        "[JUNCTIONS]\n;ID Elev Demand\n J1 10 0 ;PRESSURE SENSOR\n J2 12 0 ;\n"
        "[PIPES]\n P1 J1 J2 100 100 130 0 Open ;FLOW SENSOR\n"
    )
    s = sensors_from_comments(inp)
    assert s.values.tolist() == [["J1", "pressure", "J1", "m"], ["P1", "flow", "P1", "L/s"]]


def test_plot_network_draws_values(ltown):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = ltown.distances_m().loc["n1", ltown.junctions]
    ax = plot_network(ltown, values, label="distance to n1, m", highlight=["n343", "n105"])
    assert len(ax.collections) >= 4
    plt.close(ax.figure)
