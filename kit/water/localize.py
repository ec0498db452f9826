"""Leak localization: simulated signatures matched against the observed residual shift.

For each candidate junction the nominal model gives the pressure change a
1 L/s leak there causes at each sensor (:func:`kit.water.leak_signatures`,
at several hours of the day because the change grows with demand). Passed
through the residual model's linear map, it becomes the residual change the
detector should see. The observed shift (mean hourly residual since the
estimated start) is fitted by each candidate's expected shift times a leak
flow ≥ 0, weighting each sensor by its residual noise; candidates are ranked
by the weighted misfit, and the fitted flow is the leak-flow estimate.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from kit.errors import ParameterError
from kit.water.fitted import check_fitted

__all__ = ["SignatureLocalizer", "candidate_area", "coverage_order", "coverage_share", "posterior_weights"]


@functools.lru_cache(maxsize=16)
def _signatures(network, hour: float, sensor_key: tuple):
    from kit.water.signatures import leak_signatures

    sensors = pd.DataFrame(list(sensor_key), columns=["sensor_id", "kind", "element"])
    return leak_signatures(network, hour=hour, sensors=sensors)


class SignatureLocalizer(BaseEstimator):
    """Rank candidate junctions for an observed residual shift.

    A scikit-learn estimator without a mixin: :meth:`fit` takes a fitted
    residual model and :meth:`rank` a residual shift, and what it returns is
    a ranking of junctions, neither class labels nor values nor a transform.

    Parameters
    ----------
    network : WaterNetwork
        The nominal model.
    hours : tuple of float, h
        Local hours of the day at which signatures are simulated; each
        residual hour uses the nearest one.
    tz : str
        Local time zone of the demand patterns.
    max_leak_flow_lps : float, L/s
        Largest flow a fit may give (a candidate the sensors barely see
        would otherwise fit any shift with an absurd flow).

    Attributes
    ----------
    hours_ : tuple of float, h
        The signature hours, as floats.
    expected_ : dict of float to ndarray
        Expected residual change per L/s (candidates × targets), per signature hour.
    candidates_ : list of str
        Candidate junctions.
    targets_ : list of str
        The residual model's targets.
    valid_ : ndarray of bool
        Candidates whose expected change is finite at every target (the others never rank).

    Examples
    --------
    >>> from kit.water import load_network
    >>> loc = SignatureLocalizer(load_network(), hours=(3.0,))
    >>> loc.hours
    (3.0,)
    """

    def __init__(self, network, hours=(3.0, 9.0, 15.0, 21.0), tz: str = "UTC", max_leak_flow_lps: float = 50.0):
        self.network = network
        self.hours = hours
        self.tz = tz
        self.max_leak_flow_lps = max_leak_flow_lps

    def fit(self, residual_model, sensors: pd.DataFrame):
        """Expected residual change per L/s at each candidate, for each signature hour.

        Parameters
        ----------
        residual_model : PressureResiduals (fitted)
        sensors : pandas.DataFrame
            ``sensor_id, kind, element`` of the model's inputs.
        """
        if not self.hours:
            raise ParameterError("SignatureLocalizer: give at least one signature hour")
        self.hours_ = tuple(float(h) for h in self.hours)
        amap = residual_model.linear_map()
        inputs = list(amap.columns)
        node_rows = sensors[sensors["sensor_id"].isin(inputs) & (sensors["kind"] != "flow")]
        key = tuple(map(tuple, node_rows[["sensor_id", "kind", "element"]].itertuples(index=False)))
        self.expected_ = {}
        for h in self.hours_:
            sig = _signatures(self.network, h, key)
            per_lps = sig.dp_m.div(sig.leak_flow_lps, axis=0)
            dx = per_lps.reindex(columns=inputs).fillna(0.0)  # flows and levels: no snapshot change
            self.expected_[h] = (dx.to_numpy() @ amap.to_numpy().T)
        self.candidates_ = list(per_lps.index)
        self.targets_ = list(amap.index)
        self.valid_ = np.isfinite(next(iter(self.expected_.values()))).all(axis=1)
        return self

    def _hour_keys(self, index: pd.DatetimeIndex):
        local = index.tz_convert(self.tz)
        hod = np.asarray(local.hour + local.minute / 60.0)
        hours = np.asarray(self.hours_)
        d = np.abs(((hod[:, None] - hours[None, :]) + 12) % 24 - 12)
        return hours[np.argmin(d, axis=1)]

    def rank(self, shifts_m: pd.DataFrame, sigma_m: pd.Series, known=()) -> pd.DataFrame:
        """Rank candidates for an observed shift.

        Parameters
        ----------
        shifts_m : pandas.DataFrame, m
            Hourly residual shifts (rows: hours since the estimated start,
            UTC index; columns: the model's targets; NaN allowed).
        sigma_m : pandas.Series, m
            Noise of an hourly residual per sensor (weights).
        known : sequence of str
            Junctions of leaks already known to run (earlier alarms). Each
            hour's shift may hold any amount of their signatures (an
            incipient leak keeps growing after its alarm, tanks settle
            around it), so those directions are projected out of the shift
            and of every candidate's signature before the fit.

        Returns
        -------
        pandas.DataFrame
            Index junction, columns ``leak_flow_lps`` (fitted, ≥ 0),
            ``misfit`` (weighted, lower is better) and ``explained`` (share
            of the shift's weighted energy explained, 0–1), best first.
        """
        check_fitted(self, "expected_", "call fit(residual_model, sensors) first")
        shifts_m = shifts_m.reindex(columns=self.targets_)
        y = shifts_m.to_numpy(dtype=float)
        w = 1.0 / np.maximum(sigma_m.reindex(self.targets_).to_numpy(dtype=float), 1e-4) ** 2
        keys = self._hour_keys(shifts_m.index)
        obs = np.isfinite(y)
        y0 = np.where(obs, y, 0.0)
        rows_of = {j: i for i, j in enumerate(self.candidates_)}
        known_rows = [rows_of[j] for j in known if j in rows_of and self.valid_[rows_of[j]]]
        # Sum over hours of weighted products: each hour compares with its own hour's signature.
        num = np.zeros(len(self.candidates_))
        den = np.zeros(len(self.candidates_))
        energy = 0.0
        for h in self.hours_:
            rows = keys == h
            if not rows.any():
                continue
            e = np.nan_to_num(self.expected_[h])  # candidates × targets
            if known_rows:
                # The projection mixes targets, so a missing value counts as no shift rather than being left out.
                p = _complement(e[known_rows], w)  # W-orthogonal projector, targets × targets
                yp = y0[rows] @ p.T
                ep = e @ p.T
                num += e @ (w * yp.sum(axis=0))
                den += ((ep**2) @ w) * rows.sum()
                energy += float((yp**2 * w).sum())
                continue
            yw = (y0[rows] * w).sum(axis=0)  # targets
            mw = (obs[rows] * w).sum(axis=0)
            num += e @ yw
            den += (e**2) @ mw
            energy += float((y0[rows] ** 2 * w).sum())
        # A candidate the sensors barely see could "explain" anything with a huge flow: cap it.
        flow = np.where(den > 0, np.maximum(num, 0.0) / np.maximum(den, 1e-12), 0.0)
        flow = np.minimum(flow, self.max_leak_flow_lps)
        misfit = energy - 2 * flow * num + flow**2 * den
        misfit[~self.valid_] = np.inf
        table = pd.DataFrame({"leak_flow_lps": flow, "misfit": misfit,
                              "explained": 1 - misfit / energy if energy > 0 else 0.0},
                             index=pd.Index(self.candidates_, name="junction"))
        table = table.sort_values(["misfit", "leak_flow_lps"], ascending=[True, False], kind="stable")
        table.attrs["n_obs"] = int(obs.sum())
        return table


def _complement(n: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Projector onto the complement of the rows of ``n`` (k × targets), orthogonal in the metric ``diag(w)``."""
    g = (n * w) @ n.T
    return np.eye(n.shape[1]) - n.T @ np.linalg.pinv(g) @ (n * w)


def candidate_area(network, best: str, radius_m: float = 300.0) -> list[str]:
    """Junctions within ``radius_m`` along pipes of ``best``, nearest first.

    Examples
    --------
    >>> from kit.water import load_network
    >>> area = candidate_area(load_network(), "n343", 100.0)
    >>> area[0]
    'n343'
    """
    d = network.distances_m().loc[best]
    junctions = set(network.junctions)
    d = d[[n in junctions for n in d.index]]
    return list(d[d <= radius_m].sort_values(kind="stable").index)


def coverage_order(ranking: pd.DataFrame, network, radius_m: float = 300.0, corr_h: float = 2.0) -> list[str]:
    """Candidates reordered so that the first is the junction most likely to lie within ``radius_m`` of the leak.

    The misfits of :meth:`SignatureLocalizer.rank` are read as a posterior
    over junctions, ``p ∝ exp(-Δmisfit / (2 s²))`` with ``s²`` the best
    misfit per effective observation (hourly residuals are correlated over
    about ``corr_h`` hours). A crew sent to a junction searches around it,
    so the junction reported first is the one whose ``radius_m``
    neighbourhood holds the most posterior mass; when several neighbouring
    junctions fit almost equally, that is the middle of the group rather
    than the single best fit at its edge. The others follow in misfit order.

    Parameters
    ----------
    ranking : pandas.DataFrame
        :meth:`SignatureLocalizer.rank`'s table (``misfit``; ``attrs["n_obs"]``
        the residual values fitted).
    network : WaterNetwork
    radius_m : float, m
        Search radius of a crew (BattLeDIM's 300 m).
    corr_h : float, h
        Correlation time of hourly residuals, which sets the effective number
        of observations.

    Returns
    -------
    list of str
        Junction ids, the coverage-optimal one first.

    Examples
    --------
    >>> from kit.water import load_network
    >>> net = load_network()
    >>> r = pd.DataFrame({"misfit": [10.0, 10.1, 10.1, 50.0]}, index=["n343", "n342", "n344", "n1"])
    >>> r.attrs["n_obs"] = 100
    >>> coverage_order(r, net)[-1]
    'n1'
    """
    first, _ = coverage_share(ranking, network, radius_m, corr_h)
    return [first] + [n for n in ranking.index if n != first]


def coverage_share(ranking: pd.DataFrame, network, radius_m: float = 300.0, corr_h: float = 2.0):
    """The junction whose ``radius_m`` neighbourhood holds the most posterior mass, and that share of the mass.

    The posterior is :func:`posterior_weights`'; a share near 1 says a crew
    searching ``radius_m`` around the junction very likely finds the leak, a
    small one that the fit cannot tell distant places apart.

    Returns
    -------
    (str, float)
        Junction id and its share of the posterior, 0–1 (1 when only one candidate can be fitted).

    Examples
    --------
    >>> from kit.water import load_network
    >>> r = pd.DataFrame({"misfit": [10.0, 10.0]}, index=["n343", "n1"])
    >>> r.attrs["n_obs"] = 100
    >>> coverage_share(r, load_network())[1]
    0.5
    """
    names = list(ranking.index)
    weight = posterior_weights(ranking, corr_h)
    if (weight > 0).sum() < 2:
        return names[0], 1.0
    keep = weight > 1e-6 * weight.max()  # the rest cannot move the choice
    cand = [n for n, k in zip(names, keep) if k]
    near = network.distances_m().loc[cand, cand].to_numpy() <= radius_m
    mass = near @ weight[keep]
    best = int(np.argmax(mass))
    return cand[best], float(mass[best] / weight.sum())


def posterior_weights(ranking: pd.DataFrame, corr_h: float = 2.0) -> np.ndarray:
    """Relative posterior weight of each ranked candidate, 1 for the best fit, in the ranking's order.

    ``exp(-Δmisfit / (2 s²))``, with ``s²`` the best misfit per effective
    observation (``attrs["n_obs"]`` residual values, correlated over about
    ``corr_h`` hours); candidates that cannot be fitted weigh 0.

    Examples
    --------
    >>> r = pd.DataFrame({"misfit": [10.0, 10.2, 20.0, np.inf]}, index=["a", "b", "c", "d"])
    >>> r.attrs["n_obs"] = 100
    >>> posterior_weights(r).round(3).tolist()
    [1.0, 0.607, 0.0, 0.0]
    """
    misfit = ranking["misfit"].to_numpy(dtype=float)
    ok = np.isfinite(misfit)
    if not ok.any():
        return np.zeros(len(misfit))
    best = float(misfit[ok].min())
    n_eff = max(ranking.attrs.get("n_obs", ok.sum()) / max(corr_h, 1e-6), 1.0)
    s2 = max(best / n_eff, 1e-12)
    return np.where(ok, np.exp(-(np.where(ok, misfit, best) - best) / (2 * s2)), 0.0)
