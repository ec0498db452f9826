"""Water distribution networks: loading, sensors, distances along pipes, maps.

A network is read from an EPANET ``.inp`` file through WNTR and kept beside
the file's path, because the fast hydraulic runs (:mod:`kit.water.hydraulics`)
step the EPANET toolkit on that same file. ``path=None`` means L-Town, the
BattLeDIM 2020 network shipped inside the EPyT wheel; it is located on disk
without importing ``epyt`` (whose import prints a banner and switches
warnings on globally).
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from kit.i18n import _
from kit.errors import InputDataError

__all__ = [
    "SENSOR_COLUMNS",
    "WaterNetwork",
    "load_network",
    "ltown_path",
    "sensors_from_comments",
    "pipe_distances_m",
    "plot_network",
]

SENSOR_COLUMNS = ["sensor_id", "kind", "element", "unit"]
_LTOWN_RELATIVE = ("networks", "L-TOWN.inp")


def ltown_path() -> Path:
    """Path of ``L-TOWN.inp`` inside the installed EPyT wheel.

    The package is found with :func:`importlib.util.find_spec`, which does not
    execute ``epyt/__init__.py``.

    Raises
    ------
    InputDataError
        EPyT is not installed.
    """
    spec = importlib.util.find_spec("epyt")
    if spec is None or not spec.submodule_search_locations:
        raise InputDataError(
            "the embedded L-Town network ships in the EPyT wheel, which is not installed; "
            "run `pip install epyt==2.3.5.3` or pass the path of an EPANET .inp file"
        )
    for root in spec.submodule_search_locations:
        path = Path(root).joinpath(*_LTOWN_RELATIVE)
        if path.is_file():
            return path
    raise InputDataError(f"EPyT is installed but has no {'/'.join(_LTOWN_RELATIVE)}; reinstall epyt==2.3.5.3")


@dataclass(frozen=True, eq=False)
class WaterNetwork:
    """An EPANET network: the WNTR model, its file and its sensors.

    Attributes
    ----------
    wn : wntr.network.WaterNetworkModel
        Read-only by convention: simulations perturb a copy inside EPANET,
        never this object.
    inp_path : pathlib.Path
        The ``.inp`` file the model came from (EPANET toolkit runs read it).
    sensors : pandas.DataFrame
        ``sensor_id, kind, element, unit`` from the file's comments (empty
        when the file marks none); units are those of the simulator output
        (``m`` for pressure and level, ``L/s`` for flow).
    """

    wn: object
    inp_path: Path
    sensors: pd.DataFrame = field(repr=False)

    @property
    def name(self) -> str:
        return self.inp_path.stem

    @property
    def junctions(self) -> list[str]:
        return list(self.wn.junction_name_list)

    @property
    def nodes(self) -> list[str]:
        return list(self.wn.node_name_list)

    @property
    def links(self) -> list[str]:
        return list(self.wn.link_name_list)

    def node_xy(self) -> pd.DataFrame:
        """Node coordinates (``x``, ``y``, in the file's map units), indexed by node id."""
        return _node_xy(self)

    def distances_m(self) -> pd.DataFrame:
        """All-pairs shortest distance along pipes between nodes, m (cached)."""
        return _all_pairs(self)

    def __repr__(self) -> str:
        wn = self.wn
        return (
            f"WaterNetwork({self.name}: {wn.num_junctions} junctions, {wn.num_pipes} pipes, "
            f"{wn.num_tanks} tanks, {wn.num_reservoirs} reservoirs, {wn.num_pumps} pumps, "
            f"{wn.num_valves} valves, {len(self.sensors)} sensors)"
        )


def load_network(path=None) -> WaterNetwork:
    """Load an EPANET ``.inp`` network through WNTR.

    Parameters
    ----------
    path : str or Path, optional
        EPANET input file in SI units (flows in LPS, LPM, MLD, CMH or CMD).
        ``None`` loads L-Town (BattLeDIM 2020) from the EPyT wheel.

    Returns
    -------
    WaterNetwork
        With the sensors the file's comments mark (L-Town: 33 pressure
        sensors, 3 flow sensors, 1 tank level).

    Raises
    ------
    InputDataError
        Missing or unreadable file, or a file in US customary units.

    Examples
    --------
    >>> net = load_network()
    >>> net.wn.num_junctions, net.wn.num_pipes
    (782, 905)
    >>> net.sensors["kind"].value_counts().to_dict()
    {'pressure': 33, 'flow': 3, 'level': 1}
    """
    inp = ltown_path() if path is None else Path(path)
    if not inp.is_file():
        raise InputDataError(f"network file {inp} does not exist; give the path of an EPANET .inp file")
    wn = _read_inp(str(inp.resolve()))
    units = str(wn.options.hydraulic.inpfile_units).upper()
    if units not in {"LPS", "LPM", "MLD", "CMH", "CMD"}:
        raise InputDataError(
            f"network file {inp} is in US customary units ({units}); save it in SI units "
            "(flow units LPS or CMH, e.g. in EPANET: Project > Analysis Options) and load it again"
        )
    return WaterNetwork(wn=wn, inp_path=inp.resolve(), sensors=sensors_from_comments(inp))


@functools.lru_cache(maxsize=8)
def _read_inp_cached(path: str, mtime: float):
    import wntr  # noqa: F401  (heavy import, only when a network is loaded)

    # WNTR logs a warning per unsupported option; the notebook output stays quiet.
    logging.getLogger("wntr").setLevel(logging.ERROR)
    try:
        return wntr.network.WaterNetworkModel(path)
    except Exception as exc:  # WNTR raises many types on a malformed file
        raise InputDataError(
            f"network file {path} could not be read as EPANET input ({type(exc).__name__}: {exc}); "
            "check it opens in EPANET"
        ) from None


def _read_inp(path: str):
    return _read_inp_cached(path, Path(path).stat().st_mtime)


_SECTION = re.compile(r"^\s*\[([A-Z_]+)\]")
_MARKS = {"PRESSURE SENSOR": "pressure", "FLOW SENSOR": "flow", "LEVEL SENSOR": "level"}
_UNIT_OF_KIND = {"pressure": "m", "flow": "L/s", "level": "m"}


def sensors_from_comments(path) -> pd.DataFrame:
    """Sensors marked in an ``.inp`` file's end-of-line comments.

    L-Town marks BattLeDIM's sensors with ``;PRESSURE SENSOR`` (also
    ``;AMR & PRESSURE SENSOR``) on junction lines, ``;FLOW SENSOR`` on pipe and
    pump lines and ``;LEVEL SENSOR`` on the tank line. The sensor id is the
    element id (as in BattLeDIM's SCADA files).

    Returns
    -------
    pandas.DataFrame
        ``sensor_id, kind, element, unit``; units are the simulator's
        (``m``, ``L/s``, ``m``).

    Examples
    --------
    >>> s = sensors_from_comments(ltown_path())
    >>> s[s.kind != "pressure"].sensor_id.tolist()
    ['T1', 'p227', 'p235', 'PUMP_1']
    """
    rows = []
    section = None
    with open(path, encoding="latin-1") as fh:
        for line in fh:
            m = _SECTION.match(line)
            if m:
                section = m.group(1)
                continue
            if ";" not in line or line.lstrip().startswith(";"):
                continue
            body, comment = line.split(";", 1)
            comment = comment.upper()
            for mark, kind in _MARKS.items():
                if mark in comment and body.split():
                    element = body.split()[0]
                    node_section = section in {"JUNCTIONS", "TANKS", "RESERVOIRS"}
                    if (kind == "flow") == node_section:
                        continue  # a mark on the wrong kind of element is not a sensor we can read
                    rows.append((element, kind, element, _UNIT_OF_KIND[kind]))
    table = pd.DataFrame(rows, columns=SENSOR_COLUMNS)
    if table["sensor_id"].duplicated().any():
        table["sensor_id"] = [f"{k}_{e}" for k, e in zip(table["kind"], table["element"])]
    return table


def _node_xy(net: WaterNetwork) -> pd.DataFrame:
    wn = net.wn
    xy = [wn.get_node(n).coordinates for n in wn.node_name_list]
    return pd.DataFrame(np.asarray(xy, dtype=float), index=pd.Index(wn.node_name_list, name="node"), columns=["x", "y"])


def _edges(net: WaterNetwork):
    wn = net.wn
    index = {n: i for i, n in enumerate(wn.node_name_list)}
    a, b, w = [], [], []
    for name in wn.link_name_list:
        link = wn.get_link(name)
        # Pumps and valves are point devices; they connect at no length.
        length = float(getattr(link, "length", 0.0) or 0.0) if link.link_type == "Pipe" else 0.0
        a.append(index[link.start_node_name])
        b.append(index[link.end_node_name])
        w.append(length)
    return np.asarray(a), np.asarray(b), np.asarray(w), index


@functools.lru_cache(maxsize=4)
def _all_pairs_cached(net: WaterNetwork) -> pd.DataFrame:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    a, b, w, index = _edges(net)
    n = len(index)
    # csgraph drops explicit zeros, so zero-length devices get a negligible length.
    w = np.maximum(w, 1e-6)
    graph = coo_matrix((w, (a, b)), shape=(n, n)).tocsr()
    dist = dijkstra(graph, directed=False)
    names = list(index)
    return pd.DataFrame(dist, index=pd.Index(names, name="node"), columns=names)


def _all_pairs(net: WaterNetwork) -> pd.DataFrame:
    return _all_pairs_cached(net)


def pipe_distances_m(network: WaterNetwork, sources, targets=None) -> pd.DataFrame:
    """Shortest distance along pipes between nodes, m.

    Parameters
    ----------
    network : WaterNetwork
    sources : str or list of str
        Node ids (rows of the result).
    targets : list of str, optional
        Node ids (columns); all nodes when omitted.

    Returns
    -------
    pandas.DataFrame, m
        ``inf`` between disconnected nodes.

    Raises
    ------
    InputDataError
        A node id is not in the network.

    Examples
    --------
    >>> net = load_network()
    >>> d = pipe_distances_m(net, ["n1"], ["n1", "n2"])
    >>> float(d.loc["n1", "n1"])
    0.0
    """
    sources = [sources] if isinstance(sources, str) else list(sources)
    dist = network.distances_m()
    targets = list(dist.columns) if targets is None else ([targets] if isinstance(targets, str) else list(targets))
    for node in [*sources, *targets]:
        if node not in dist.index:
            raise InputDataError(f"node {node!r} is not in network {network.name}; use a node id of the .inp file")
    return dist.loc[sources, targets]


def plot_network(network: WaterNetwork, values=None, *, ax=None, cmap="viridis", label="", highlight=None,
                 show_sensors=True, node_size=8):
    """Draw the network with values on nodes.

    Parameters
    ----------
    network : WaterNetwork
    values : pandas.Series, optional
        Indexed by node id (e.g. pressure in m, or a candidate score); nodes
        without a value are drawn small and grey.
    ax : matplotlib Axes, optional
    cmap : str
    label : str
        Colour-bar label, with the unit.
    highlight : list of str, optional
        Node ids ringed in red (e.g. ranked leak candidates, best first; the
        first is numbered 1).
    show_sensors : bool
        Mark the pressure sensors with black triangles.

    Returns
    -------
    matplotlib Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    if ax is None:
        ax = plt.subplots(figsize=(7, 7))[1]
    xy = network.node_xy()
    wn = network.wn
    segments = []
    for name in wn.link_name_list:
        link = wn.get_link(name)
        pts = [xy.loc[link.start_node_name].to_numpy(), *map(np.asarray, getattr(link, "vertices", []) or []),
               xy.loc[link.end_node_name].to_numpy()]
        segments.append(pts)
    ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.6, zorder=1))
    ax.scatter(xy["x"], xy["y"], s=node_size * 0.3, c="0.75", zorder=2, linewidths=0)
    if values is not None:
        values = pd.Series(values).dropna()
        missing = [n for n in values.index if n not in xy.index]
        if missing:
            raise InputDataError(f"plot_network: node {missing[0]!r} is not in network {network.name}")
        pts = xy.loc[values.index]
        sc = ax.scatter(pts["x"], pts["y"], c=values.to_numpy(dtype=float), s=node_size, cmap=cmap, zorder=3,
                        linewidths=0)
        ax.figure.colorbar(sc, ax=ax, shrink=0.7, label=label)
    if show_sensors and len(network.sensors):
        p = network.sensors.loc[network.sensors["kind"] == "pressure", "element"]
        pts = xy.loc[[e for e in p if e in xy.index]]
        ax.scatter(pts["x"], pts["y"], marker="^", s=node_size * 3, c="black", zorder=4, label=_("pressure sensor"))
    if highlight:
        pts = xy.loc[list(highlight)]
        ax.scatter(pts["x"], pts["y"], s=node_size * 12, facecolors="none", edgecolors="#D55E00", linewidths=1.5,
                   zorder=5, label=_("candidates"))
        ax.annotate("1", pts.iloc[0][["x", "y"]].to_numpy(), color="#D55E00", fontweight="bold",
                    xytext=(4, 4), textcoords="offset points")
    for tank in wn.tank_name_list + wn.reservoir_name_list:
        ax.scatter(*xy.loc[tank], marker="s", s=node_size * 4, c="#0072B2", zorder=4)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(network.name)
    if show_sensors or highlight:
        ax.legend(loc="best", fontsize=8)
    return ax
