"""The hour-by-hour alarm scan of a fitted leak detector: CUSUM, start time, leak flow, candidates.

For each hour, per sensor: the trailing median of the hourly residual
(corrected by the learnt residual level by hour of day) over
``persistence_h`` hours, standardized, feeds a one-sided CUSUM. When the
largest CUSUM crosses the threshold an alarm is described (start: the
change point of the alarming sensor's residual; flow: the water balance,
else the signature fit; candidates: the signature fit on the shift since
the start, its shortlist re-ranked by extended-period simulations when the
detector has ``regions_``, :mod:`kit.water.refine`), unless its best
candidate lies within ``merge_radius_m`` of an open alarm's (a growing
incipient leak) or it explains less than
``min_score`` of the residual pattern (model drift); an alarm whose
candidates are spread is described again ``confirm_h`` hours later on the
longer shift (its confirmation window); an alarm with no more water
flowing at night since its start than a week before, or than the night
before it began, is dropped as a day of unusual demand
(:mod:`kit.water.night_check`). The scan then waits
``settle_h`` hours and learns the new residual level before it goes on.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kit.water.localize import candidate_area, coverage_order, coverage_share
from kit.water.night_check import latest_night_hours, next_night_end, night_excess_lps
from kit.water.refine import dynamic_residual_change, refine_ranking

__all__ = ["ALARM_COLUMNS", "hour_basis", "offset_profile", "scan_alarms"]

ALARM_COLUMNS = ["alarm_id", "detected_at", "start_estimate", "leak_flow_lps", "candidates", "score"]


def hour_basis(index: pd.DatetimeIndex, tz: str) -> np.ndarray:
    """Fourier basis (constant and 2 harmonics) of the local hour of day: (hours, 5)."""
    local = index.tz_convert(tz)
    h = np.asarray(local.hour + local.minute / 60.0)
    w = 2 * np.pi * h / 24
    return np.column_stack([np.ones_like(h), np.sin(w), np.cos(w), np.sin(2 * w), np.cos(2 * w)])


def offset_profile(resid: pd.DataFrame, tz: str) -> np.ndarray:
    """Fourier (2 harmonics) fit of residual level by local hour: coefficients (5, sensors)."""
    x = hour_basis(resid.index, tz)
    y = resid.to_numpy(dtype=float)
    coef = np.zeros((x.shape[1], y.shape[1]))
    for j in range(y.shape[1]):
        ok = np.isfinite(y[:, j])
        if ok.sum() >= 12:
            coef[:, j] = np.linalg.lstsq(x[ok], y[ok, j], rcond=None)[0]
        elif ok.any():
            coef[0, j] = np.nanmedian(y[:, j])
    return coef


def scan_alarms(detector, hourly: pd.DataFrame, consumption_lps: pd.Series | None):
    """Scan hourly residuals with a fitted :class:`~kit.water.detect.LeakDetector`'s state.

    Parameters
    ----------
    detector : LeakDetector (fitted)
    hourly : pandas.DataFrame, m
        Hourly pressure residuals, one column per modelled sensor.
    consumption_lps : pandas.Series or None, L/s
        Hourly net consumption on the same index, for the water-balance flow.

    Returns
    -------
    alarms : pandas.DataFrame
        :data:`ALARM_COLUMNS` plus ``area`` and ``sensor``.
    rankings : list of pandas.DataFrame
        Full candidate ranking of each alarm (None without a localizer).
    cusum : pandas.DataFrame
        Hourly CUSUM per sensor, in units of the threshold.
    """
    scan = _AlarmScan(detector, hourly, consumption_lps)
    for t in range(len(hourly)):
        scan.step(t)
    return scan.results()


class _AlarmScan:
    """The scan's running state: CUSUM, learnt offsets, the settle period and the alarms raised so far."""

    def __init__(self, detector, hourly: pd.DataFrame, consumption_lps):
        self.det, self.hourly, self.consumption = detector, hourly, consumption_lps
        self.cols = list(hourly.columns)
        self.idx = hourly.index
        self.basis = hour_basis(self.idx, detector.tz)
        self.offset = np.zeros((self.basis.shape[1], len(self.cols)))
        self.held = [self.offset]  # residual levels learnt since training or the last drift (see _floor)
        self.raw = hourly.to_numpy(dtype=float)
        self.half = max(1, detector.persistence_h // 2)
        self.sig = detector.sigma_smooth_.reindex(self.cols).to_numpy()
        self.s = np.zeros(len(self.cols))
        self.out = np.zeros((len(hourly), len(self.cols)))
        self.resume = 0
        self.rows, self.rankings, self.open_best = [], [], []
        self.pending = None  # hour index at which the settle period ends and the offsets are re-learnt
        # (start hour, sensor, hour due, what it waits for: "confirm" or "night", hour first crossed) of an
        # alarm not yet raised
        self.deferred = None

    def step(self, t: int) -> None:
        """Advance the CUSUM to hour ``t``; raise an alarm when it crosses the threshold."""
        det = self.det
        if self.pending is not None and t >= self.pending:
            window = self.hourly.iloc[max(0, self.pending - det.settle_h):self.pending]
            self.offset = offset_profile(window, det.tz)
            self.held = self.held + [self.offset] if det.hold_floor else [self.offset]
            self.pending = None
        if t < self.resume:
            self.out[t] = 0.0
            return
        z = -self._persistent_level(t) / self.sig - det.slack
        self.s = np.where(np.isnan(z), self.s, np.maximum(0.0, self.s + np.nan_to_num(z)))
        self.out[t] = self.s
        if self.deferred is not None:
            if t >= self.deferred[2]:
                start, k, _, waited, first = self.deferred
                self.deferred = None
                self._judge(t, start, k, waited=waited, first=first)
        elif self.s.max() > det.threshold_:
            self._alarm(t)

    def _persistent_level(self, t: int) -> np.ndarray:
        """Trailing median over ``persistence_h`` hours of the offset-corrected residual, per sensor (NaN: too few)."""
        lo = max(0, t - self.det.persistence_h + 1)
        block = self.raw[lo:t + 1] - self._floor(lo, t + 1)
        ok = np.isfinite(block).sum(axis=0) >= self.half
        med = np.full(len(self.cols), np.nan)
        if ok.any():
            med[ok] = np.nanmedian(block[:, ok], axis=0)
        return med

    def _floor(self, lo: int, hi: int) -> np.ndarray:
        """Normal residual level of hours ``lo:hi`` per sensor: the lowest of the levels learnt since training.

        A leak raises some sensors' residuals (the model predicts them from
        sensors the leak lowered), and that raise fades over days as tanks
        and pumps settle around the leak; read against the level learnt just
        after the alarm, the fading looks like a new drop. A new leak lowers
        the pressure below every level held, so the lowest one is the test.
        """
        basis = self.basis[lo:hi]
        return np.min([basis @ o for o in self.held], axis=0)

    def _alarm(self, t: int) -> None:
        """Describe the alarm at hour ``t``; raise it, drop it as a repeat, or take it for drift when poorly explained."""
        det = self.det
        k = int(np.argmax(self.s))
        zero = t
        while zero > 0 and self.out[zero - 1, k] > 0:
            zero -= 1
        start = _change_point(self.raw[:, k] - self._floor(0, len(self.raw))[:, k], zero, t, det.persistence_h)
        self._judge(t, start, k, waited=None, first=t)

    def _judge(self, t: int, start: int, k: int, waited: str | None, first: int) -> None:
        """Raise, merge, defer or drop the alarm of sensor ``k`` at hour ``t`` whose shift began at ``start``.

        An alarm whose candidates are spread (the first one's search area
        holds less than ``confirm_share`` of the fit's posterior) waits
        ``confirm_h`` hours, once, and is described again on the longer
        shift: a leak's pattern keeps building (an incipient one grows) while
        model error does not, so the candidates gather or the pattern fades.
        Then the night check (:meth:`_night`): an alarm with no extra water
        at night is dropped, one that cannot be told yet waits for the night;
        its settle period counts from ``first``, the hour its CUSUM crossed,
        so the wait does not delay the search for the next leak.
        """
        det = self.det
        # Localized against the newest level, not the floor: a new leak's pattern is its change from now.
        shift = self.hourly.iloc[start:t + 1] - self.basis[start:t + 1] @ self.offset
        row, ranking = self._describe(shift, self.idx[t], self.idx[start], self.cols[k])
        if self._merges(row["best"]):
            self._settle(t)
        elif self._explained(row):
            known = self._known()
            if known:  # localize the new leak apart from the ones already alarmed
                ranking = det.localizer_.rank(shift, det.sigma_hour_, known=known)
                self._name_candidates(row, ranking)
            if self.det.regions_:
                ranking = self._refine(ranking, shift)
                self._name_candidates(row, ranking)
            if waited is None and det.confirm_h > 0 and self._spread(ranking):
                self.deferred = (start, k, t + det.confirm_h, "confirm", first)
                return
            night = self._night(start, t, row["score"], waited == "night")
            if night == "wait":
                due = self.idx.searchsorted(next_night_end(self.idx[t], det.tz, det.night_hours))
                self.deferred = (start, k, max(int(due), t + 1), "night", first)
            elif night == "dry":  # a day of unusual demand, not a leak: start the CUSUM again, learn nothing
                self._restart(t)
            else:
                self._raise(row, ranking, t, since=first if waited == "night" else t)
        else:
            self._drift(start, t)

    def _night(self, start: int, t: int, score: float, waited: bool) -> str:
        """``"wet"``, ``"dry"`` or ``"wait"``: the night check of an alarm whose shift began at hour ``start``.

        A leak adds its flow to the night's consumption; a day of unusual
        demand does not (:mod:`kit.water.night_check`). With night hours
        since the start (two at least), the alarm is ``"dry"`` when their
        lowest consumption exceeds the same hours of the week before, or of
        the night before the shift began (the smaller excess), by less than
        ``min_night_excess_lps``. Without, an alarm explaining at least
        ``night_wait_score`` of the residual pattern is raised at once (the
        water lost waiting costs more than the rare false alarm), a weaker one
        waits for the night's end. No inlet meters, or gaps in either night:
        ``"wet"`` (the check cannot tell, so it does not hold the alarm back).
        """
        det, c = self.det, self.consumption
        if c is None or det.min_night_excess_lps is None:
            return "wet"
        night = latest_night_hours(self.idx[start], self.idx[t], det.tz, det.night_hours)
        if len(night) == 0:
            return "wet" if waited or score >= det.night_wait_score else "wait"
        excess = night_excess_lps(c, night, det.tz)
        # The night before the shift began holds every leak already running (raised or not, grown since):
        # only water added since counts. The week before adds the weekday's own pattern.
        before = int((night[-1] - self.idx[start]) // pd.Timedelta(days=1)) + 1
        if before < 7:
            excess = np.fmin(excess, night_excess_lps(c, night, det.tz, lag_days=before))
        return "dry" if np.isfinite(excess) and excess < det.min_night_excess_lps else "wet"

    def _known(self) -> list:
        """The first ``known_candidates`` reported candidates of each alarm raised so far (their leaks still run)."""
        k = self.det.known_candidates
        return [c for r in self.rows if r.get("candidates") for c in r["candidates"].split(";")[:k]] if k else []

    def _spread(self, ranking) -> bool:
        """Whether the first candidate's search area holds less than ``confirm_share`` of the posterior."""
        det = self.det
        if ranking is None or det.report_by != "coverage":
            return False
        return coverage_share(ranking, det.network_, det.area_radius_m, det.corr_h)[1] < det.confirm_share

    def _explained(self, row) -> bool:
        return self.det.localizer_ is None or row["score"] >= _required_score(self.det, row)

    def _raise(self, row, ranking, t: int, since: int) -> None:
        self.rows.append(row)
        self.rankings.append(ranking)
        if row["best"] is not None:
            self.open_best.append((len(self.rows) - 1, row["best"]))
        self._settle(t, since)

    def _drift(self, start: int, t: int) -> None:
        """Take the shift since ``start`` for drift: its level becomes normal at once, from the hours already seen.

        Learning it from the hours after (as :meth:`_settle` does after a
        leak) would also absorb a leak starting meanwhile.
        """
        window = self.hourly.iloc[max(start, t + 1 - self.det.settle_h):t + 1]
        if window.notna().any(axis=1).sum() < 12:
            self._settle(t)
            return
        self.offset = offset_profile(window, self.det.tz)
        self.held = [self.offset]
        self._restart(t)

    def _restart(self, t: int) -> None:
        """Start the CUSUM again from zero at the next hour, keeping the residual level it has."""
        self.s = np.zeros(len(self.cols))
        self.resume = t + 1

    def _settle(self, t: int, since: int | None = None) -> None:
        """Restart the CUSUM ``settle_h`` hours after hour ``since`` (default ``t``), with the level learnt over them."""
        self.s = np.zeros(len(self.cols))
        self.resume = max(t + 1, (t if since is None else since) + 1 + self.det.settle_h)
        self.pending = self.resume

    def _merges(self, best) -> bool:
        """Whether ``best`` lies within ``merge_radius_m`` along pipes of an open alarm's best candidate."""
        network = self.det.network_
        if best is None or network is None:
            return False
        for _, b in self.open_best:
            if network.distances_m().loc[b, best] <= self.det.merge_radius_m:
                return True
        return False

    def _describe(self, shift, detected_at, start, sensor):
        det = self.det
        row = {"detected_at": detected_at, "start_estimate": start, "sensor": sensor}
        if det.localizer_ is None:
            row.update(leak_flow_lps=np.nan, balance_lps=np.nan, candidates="", area="", score=np.nan, best=None)
            return row, None
        ranking = det.localizer_.rank(shift, det.sigma_hour_)
        # Merging and the drift test read the snapshot fit; a refinement changes what is reported, not which alarms.
        row.update(balance_lps=_balance_flow(self.consumption, start, detected_at),
                   score=float(np.clip(ranking["explained"].iloc[0], 0, 1)), best=ranking.index[0])
        self._name_candidates(row, ranking)
        return row, ranking

    def _name_candidates(self, row, ranking) -> None:
        """The alarm's candidates, search area and leak flow (the water balance, else the best fit) from ``ranking``."""
        det = self.det
        order = coverage_order(ranking, det.network_, det.area_radius_m, det.corr_h) if det.report_by == "coverage" \
            else list(ranking.index)
        top = order[: det.n_candidates]
        balance = row["balance_lps"]
        row.update(leak_flow_lps=balance if np.isfinite(balance) else float(ranking["leak_flow_lps"].iloc[0]),
                   candidates=";".join(top), area=";".join(candidate_area(det.network_, top[0], det.area_radius_m)))

    def _refine(self, ranking, shift):
        """The ranking re-scored by extended-period simulations of the shortlist's leaks."""
        det = self.det
        amap = det.model_.linear_map()

        def change(junctions, start, hours):
            return dynamic_residual_change(det.network_, junctions, det.sensors_, amap, start.tz_convert(det.tz), hours)

        return refine_ranking(ranking, shift, det.sigma_hour_, change, det.regions_, list(amap.index))

    def results(self):
        table = pd.DataFrame(self.rows)
        if table.empty:
            table = pd.DataFrame(columns=ALARM_COLUMNS + ["area", "sensor"])
        else:
            table.insert(0, "alarm_id", [f"A{i + 1}" for i in range(len(table))])
            table = table[ALARM_COLUMNS + ["area", "sensor"]]
        cus = pd.DataFrame(self.out / self.det.threshold_, index=self.idx, columns=self.cols)
        return table, self.rankings, cus


def _required_score(det, row) -> float:
    """Share of the residual pattern an alarm's best candidate must explain to be raised.

    ``min_score``, or ``drift_score`` when the water balance shows no extra
    inflow since the start: a pattern the signatures fit poorly and no
    water is missing for is model drift (a re-learnt level going stale,
    demand moving between zones), not a new leak.
    """
    no_water = np.isfinite(row["balance_lps"]) and row["balance_lps"] <= 0.0
    return max(det.min_score, det.drift_score) if no_water else det.min_score


def _change_point(x: np.ndarray, zero: int, t: int, persistence_h: int) -> int:
    """Hour where the mean of ``x`` drops, searched from 24 h before the CUSUM's last zero to ``t``."""
    lo = max(0, zero - persistence_h - 24)
    seg = x[lo:t + 1]
    ok = np.isfinite(seg)
    if ok.sum() < 4:
        return zero
    best, arg = -np.inf, zero
    for c in range(lo + 1, t):
        a, b = x[lo:c], x[c:t + 1]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) < 2 or len(b) < 2:
            continue
        stat = (a.mean() - b.mean()) * math.sqrt(len(a) * len(b) / (len(a) + len(b)))
        if stat > best:
            best, arg = stat, c
    return arg


def _balance_flow(consumption: pd.Series | None, start, detected_at) -> float:
    """Leak flow from the water balance: consumption since ``start`` minus the same hours of the week before."""
    c = consumption
    if c is None:
        return float("nan")
    after = c[(c.index >= start) & (c.index <= detected_at)].dropna()
    before = c[(c.index < start) & (c.index >= start - pd.Timedelta(days=7))].dropna()
    if len(after) < 3 or len(before) < 48:
        return float("nan")
    profile = before.groupby(before.index.hour).mean()
    expected = profile.reindex(after.index.hour).to_numpy()
    ok = np.isfinite(expected)
    if ok.sum() < 3:
        return float("nan")
    return float(max(np.mean(after.to_numpy()[ok] - expected[ok]), 0.0))
