"""Leak detection: CUSUM on pressure residuals, start time, leak flow, candidates.

:class:`LeakDetector` is fitted on a period the user marks leak-free and
then reads any period:

1. **Residuals.** :class:`~kit.water.residuals.PressureResiduals` predicts
   each pressure from the others and the calendar; residuals are averaged
   per hour.
2. **Persistence.** A trailing median over ``persistence_h`` hours: a
   hydrant-like draw of a few hours moves fewer than half the hours in the
   window and is not a leak; a leak stays.
3. **CUSUM.** Per sensor, on the standardized drop (a leak lowers the
   pressure near it more than the regression expects): ``S = max(0, S + z -
   slack)``; an alarm when the largest ``S`` crosses the threshold.
4. **Threshold from a false-alarm rate.** The same statistic is computed on
   out-of-fold residuals of the training period; its daily maxima get a
   Gumbel fit, and the threshold is the level exceeded on
   ``false_alarms_per_month / 30.44`` of days.
5. **After an alarm** (the scan of :mod:`kit.water.alarm_scan`). Start:
   the change point of the alarming sensor's residual before the alarm.
   Leak flow: the water balance (inlets minus tank storage) since the start
   against the same hours of the week before; without inlet meters, the
   signature fit's flow. Candidates: the signature fit of
   :class:`~kit.water.localize.SignatureLocalizer` on the shift since the
   start, the junction most likely within ``area_radius_m`` of the leak
   first. An alarm whose best candidate explains too little of the shift
   (``min_score``, or ``drift_score`` when no water is missing by the
   balance) is taken for model drift and not raised. The detector then waits ``settle_h`` hours, learns the new
   residual level (by hour of day: the leak's effect grows with demand) and
   carries on, so a second leak can be found on top of the first. An alarm
   whose best candidate lies within ``merge_radius_m`` of an open alarm's
   (a growing incipient leak) updates that alarm instead of raising a new one.
   An alarm whose candidates are spread (``confirm_share``) is described
   again ``confirm_h`` hours later, on the longer shift, before it is raised.
   Earlier alarms' candidates are projected out of a later alarm's fit.
   Last, the night check (:mod:`kit.water.night_check`): an alarm whose
   night consumption since its start is no higher than the same hours a
   week before or the night before its shift (``min_night_excess_lps``) is a
   day of unusual demand and is dropped; a weakly explained one with no night
   behind it yet waits for the night (``night_wait_score``).

A leak already running during training is part of the "normal" the model
learns: it will not be reported, and later leaks are still found on top of
it. A leak starting inside the training period inflates the out-of-fold
residuals, so the threshold rises (fewer, later alarms). ``training_shift_m_``
(largest change of a sensor's mean out-of-fold residual between the two
halves of training) is reported, but it is a weak indicator: the
regression absorbs much of such a leak (tests/water/test_detect.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin

from kit.errors import InputDataError, ParameterError
from kit.water.alarm_scan import scan_alarms
from kit.water.fitted import check_fitted
from kit.water.localize import SignatureLocalizer
from kit.water.nightflow import minimum_night_flow, net_consumption_lps
from kit.water.refine import signature_regions
from kit.water.residuals import PressureResiduals
from kit.water.thresholds import DAYS_PER_MONTH, cusum, gumbel_threshold

__all__ = ["DAYS_PER_MONTH", "Detection", "LeakDetector", "cusum", "gumbel_threshold"]

@dataclass
class Detection:
    """What :meth:`LeakDetector.predict` found.

    Attributes
    ----------
    alarms : pandas.DataFrame
        :data:`~kit.water.alarm_scan.ALARM_COLUMNS`: ``alarm_id, detected_at,
        start_estimate, leak_flow_lps, candidates`` (node ids best first,
        ';'-separated), ``score`` (share of the residual pattern the best
        candidate explains, 0–1), plus ``area`` (junctions within the area
        radius of the best candidate, ';'-separated) and ``sensor`` (the
        sensor whose CUSUM crossed).
    residuals_m : pandas.DataFrame, m
        Hourly pressure residuals (observed minus predicted).
    cusum : pandas.DataFrame
        Hourly CUSUM per sensor, in units of the threshold (alarm at 1).
    threshold : float
        CUSUM threshold in standard deviations.
    rankings : list of pandas.DataFrame
        Full candidate ranking of each alarm.
    night_flow_lps : pandas.Series or None
        Minimum night flow per night (inlets minus storage), L/s.
    """

    alarms: pd.DataFrame
    residuals_m: pd.DataFrame
    cusum: pd.DataFrame
    threshold: float
    rankings: list = field(default_factory=list, repr=False)
    night_flow_lps: pd.Series | None = None


class LeakDetector(OutlierMixin, BaseEstimator):
    """Residual CUSUM leak detector with signature localization.

    A scikit-learn novelty detector: ``__init__`` stores the parameters,
    :meth:`fit` learns normal behaviour on a leak-free window (attributes
    ending in ``_``), :meth:`predict` scans any period. Its input is a
    :class:`~kit.water.scada.ScadaData` record, not an ``X`` matrix, and
    :meth:`predict` returns a :class:`Detection`, not labels.

    Parameters
    ----------
    false_alarms_per_month : float
        Target rate of alarms without a leak; sets the threshold.
    persistence_h : int, h
        Trailing-median window: events shorter than about half of it
        (bursts) are ignored.
    slack : float
        CUSUM reference value, standard deviations.
    settle_h : int, h
        After an alarm, hours during which the new residual level is learnt
        (no alarm is raised meanwhile).
    merge_radius_m : float, m
        An alarm whose best candidate lies within this pipe distance of an
        open alarm's updates it. The crew's search radius: a wider one
        (600 m before) took new leaks near an earlier alarm for it growing,
        and missed them (benchmarks/water_leak_skill.py).
    n_candidates : int
        Candidate junctions listed per alarm.
    area_radius_m : float, m
        Radius along pipes around the best candidate for the search area.
    signature_hours : tuple of float, h
        Local hours at which leak signatures are simulated.
    tz : str
        Local time zone (calendar features, night hours, signatures).
    night_hours : (int, int), h
        Local hours for the minimum night flow.
    folds : int
        Out-of-fold blocks of the training period for calibration.
    margin : float
        Multiplies the calibrated threshold: the training period is short
        and the future drifts from it (seasons, wear); 1 trusts it fully.
    min_score : float
        Alarms whose best candidate explains less than this share of the
        residual pattern are taken for model drift: the detector re-learns
        the residual level but raises no alarm.
    drift_score : float
        The same, for alarms whose water balance shows no extra inflow
        since their start (no water missing): such a pattern needs to be
        explained this well to be taken for a leak.
    report_by : {"coverage", "misfit"}
        Which candidate an alarm names first: ``"coverage"`` the junction
        whose ``area_radius_m`` neighbourhood holds the most of the fit's
        posterior (where a crew searching that radius most likely finds the
        leak, :func:`~kit.water.localize.coverage_order`), ``"misfit"`` the
        single best-fitting junction.
    ridge : float
        Ridge penalty of the residual model.
    refine_regions : int
        When > 0, each alarm's shortlist (the snapshot's best candidates and
        one junction of each of this many regions of similar signatures) is
        re-ranked by extended-period simulations of the leak, which follow
        tanks draining (:func:`~kit.water.refine.refine_ranking`); 0 keeps
        the snapshot ranking.
    confirm_share : float
        An alarm whose first candidate's ``area_radius_m`` neighbourhood holds
        less than this share of the fit's posterior (candidates spread over
        distant places, :func:`~kit.water.localize.coverage_share`) waits
        ``confirm_h`` hours and is described again on the longer shift
        before it is raised (or dropped as drift); 0 raises every alarm at once.
    confirm_h : int, h
        Confirmation window of such an alarm; 0 disables it.
    hold_floor : bool
        After a leak's settle period, test drops against the lowest residual
        level learnt since training or the last drift, not only the newest:
        a leak raises some sensors' residuals and the fading raise would
        read as a new leak.
    known_candidates : int
        An alarm raised while earlier alarms' leaks run is localized with
        the signatures of each earlier alarm's first ``known_candidates``
        junctions projected out of its shift: an incipient leak keeps growing
        after its alarm and would pull the new fit towards itself; 0 fits as
        if no leak ran.
    corr_h : float, h
        Correlation time of hourly residuals for the posterior over
        candidates (coverage reporting and the confirmation window). At 2 h
        the posterior was overconfident and spread alarms were raised at
        once; 24 h waited so often that a second leak starting within a day
        and a half of the first was learnt into the settle level.
    min_night_excess_lps : float or None, L/s
        Night check of an alarm (needs inlet meters): when a night (two
        hours of it at least) lies between its start and now, the alarm is dropped (and the CUSUM
        started again) if that night's lowest net consumption exceeds the
        same local hours a week earlier, or the night before the alarm's shift
        began (whichever is less: leaks already running are in that one), by
        less than this. A leak runs at night; a day of unusual demand, which
        the pressure model can take for one, does not.
        None disables the check.
    night_wait_score : float
        An alarm with no night since its start yet is raised at once
        when its best candidate explains at least this share of the residual
        pattern; a weaker one waits for the next night's end and is checked
        then. Above 1, every such alarm waits.

    Attributes
    ----------
    network_ : WaterNetwork or None
        The network given to :meth:`fit`.
    step_ : pandas.Timedelta
        SCADA interval of the training data.
    train_window_ : (Timestamp, Timestamp)
        Training window, UTC, end exclusive.
    model_ : PressureResiduals
        Residual model fitted on the training window.
    sigma_hour_, sigma_smooth_ : pandas.Series, m
        Out-of-fold noise of an hourly residual and of its trailing median, per sensor.
    threshold_ : float
        CUSUM threshold, standard deviations.
    training_shift_m_ : float, m
        Largest change of a sensor's mean out-of-fold residual between the two halves of training.
    localizer_ : SignatureLocalizer or None
        Fitted when a network is given.
    regions_ : dict of int to list of str
        Regions of similar signatures for the refinement (empty without it).
    sensors_ : pandas.DataFrame
        ``sensor_id, kind, element`` of the training data (the refinement simulates them).

    Examples
    --------
    >>> det = LeakDetector(false_alarms_per_month=0.5)
    >>> det.persistence_h
    8
    >>> det.get_params()["false_alarms_per_month"]
    0.5
    """

    def __init__(self, false_alarms_per_month: float = 1.0, *, persistence_h: int = 8, slack: float = 2.0,
                 settle_h: int = 48, merge_radius_m: float = 300.0, n_candidates: int = 10,
                 area_radius_m: float = 300.0, signature_hours=(3.0, 9.0, 15.0, 21.0), tz: str = "UTC",
                 night_hours=(1, 5), folds: int = 4, margin: float = 1.6, min_score: float = 0.1,
                 drift_score: float = 0.35, report_by: str = "coverage", ridge: float = 1e-3,
                 refine_regions: int = 12, confirm_share: float = 0.5, confirm_h: int = 24,
                 hold_floor: bool = True, corr_h: float = 8.0, known_candidates: int = 3,
                 min_night_excess_lps: float | None = 0.5, night_wait_score: float = 0.4):
        self.false_alarms_per_month = false_alarms_per_month
        self.persistence_h = persistence_h
        self.slack = slack
        self.settle_h = settle_h
        self.merge_radius_m = merge_radius_m
        self.n_candidates = n_candidates
        self.area_radius_m = area_radius_m
        self.signature_hours = signature_hours
        self.tz = tz
        self.night_hours = night_hours
        self.folds = folds
        self.margin = margin
        self.ridge = ridge
        self.min_score = min_score
        self.drift_score = drift_score
        self.report_by = report_by
        self.refine_regions = refine_regions
        self.confirm_share = confirm_share
        self.confirm_h = confirm_h
        self.hold_floor = hold_floor
        self.corr_h = corr_h
        self.known_candidates = known_candidates
        self.min_night_excess_lps = min_night_excess_lps
        self.night_wait_score = night_wait_score

    # -- inputs -----------------------------------------------------------
    def _split(self, data, network):
        targets = data.of_kind("pressure")
        aux_ids = list(data.of_kind("level").columns)
        if network is not None:
            pumps = set(network.wn.pump_name_list)
            aux_ids += [r.sensor_id for r in data.sensors.itertuples(index=False)
                        if r.kind == "flow" and r.element in pumps and r.sensor_id in data.values]
        aux = data.values[aux_ids] if aux_ids else None
        return targets, aux

    def _hourly(self, resid: pd.DataFrame) -> pd.DataFrame:
        per_hour = int(round(pd.Timedelta("1h") / self.step_)) if self.step_ < pd.Timedelta("1h") else 1
        hourly = resid.resample("1h")
        mean = hourly.mean()
        count = hourly.count()
        return mean.where(count >= max(1, per_hour // 2))

    # -- fit --------------------------------------------------------------
    def fit(self, data, network=None, train_start=None, train_end=None):
        """Learn normal behaviour and the alarm threshold on a training window.

        Parameters
        ----------
        data : ScadaData
        network : WaterNetwork, optional
            Needed for localization, the night-flow balance and pump inputs.
        train_start, train_end : str or Timestamp, optional
            Training window (local time of ``tz`` when naive; end exclusive);
            default the first 7 days.

        Raises
        ------
        InputDataError
            The training window holds too little data.
        """
        if not self.false_alarms_per_month > 0:
            raise ParameterError(f"false_alarms_per_month must be > 0, got {self.false_alarms_per_month}")
        if self.report_by not in ("coverage", "misfit"):
            raise ParameterError(f"report_by must be 'coverage' or 'misfit', got {self.report_by!r}")
        if not 0.0 <= self.confirm_share <= 1.0 or self.confirm_h < 0:
            raise ParameterError(f"confirm_share must be in 0..1 and confirm_h >= 0 hours, got {self.confirm_share} "
                                 f"and {self.confirm_h}")
        if not (isinstance(self.known_candidates, (int, np.integer)) and self.known_candidates >= 0):
            raise ParameterError(f"known_candidates must be a whole number >= 0, got {self.known_candidates!r}")
        if self.min_night_excess_lps is not None and not np.isfinite(self.min_night_excess_lps):
            raise ParameterError(f"min_night_excess_lps must be a number of L/s or None, got {self.min_night_excess_lps!r}")
        self.network_ = network
        self.step_ = data.step
        index = data.values.index
        t0 = _stamp(train_start, self.tz) if train_start is not None else index[0]
        t1 = _stamp(train_end, self.tz) if train_end is not None else t0 + pd.Timedelta(days=7)
        window = (index >= t0) & (index < t1)
        if not window.any():
            raise InputDataError(f"training window {t0} .. {t1} holds no SCADA data (record runs {index[0]} .. "
                                 f"{index[-1]}); choose train_start/train_end inside the record")
        targets, aux = self._split(data, network)
        tr = targets[window]
        tr = tr.loc[:, tr.notna().mean() > 0.5]  # a sensor dead during training cannot be modelled
        if (t1 - t0) < pd.Timedelta(days=2) or tr.notna().all(axis=1).sum() < 48:
            raise InputDataError(f"training window {t0} .. {t1} is too short or empty; give at least 2 days with "
                                 "pressure data (a week or more is better)")
        self.train_window_ = (t0, t1)
        self.model_ = PressureResiduals(ridge=self.ridge, tz=self.tz).fit(
            tr, None if aux is None else aux[window], folds=self.folds)
        oof = self._hourly(self.model_.oof_residuals_.reindex(targets.index[window]))
        self.sigma_hour_ = oof.std().clip(lower=1e-3)
        half = max(1, self.persistence_h // 2)
        smooth = oof.rolling(self.persistence_h, min_periods=half).median()
        self.sigma_smooth_ = smooth.std().clip(lower=1e-3)
        s = cusum((-smooth / self.sigma_smooth_).to_numpy(), self.slack).max(axis=1)
        daily = pd.Series(s, index=smooth.index).resample("1D").max()
        per_day = self.false_alarms_per_month / DAYS_PER_MONTH
        self.threshold_ = max(gumbel_threshold(daily.to_numpy(), per_day), 1.0) * self.margin
        rows = oof.dropna(how="all")
        half_n = len(rows) // 2
        self.training_shift_m_ = float((rows.iloc[:half_n].mean() - rows.iloc[half_n:].mean()).abs().max())
        self.localizer_ = None
        if network is not None:
            self.localizer_ = SignatureLocalizer(network, self.signature_hours, self.tz).fit(
                self.model_, data.sensors)
        self.regions_ = {}
        if self.localizer_ is not None and self.refine_regions > 0:
            loc = self.localizer_
            self.regions_ = signature_regions(loc.expected_[loc.hours_[0]], loc.candidates_, loc.valid_,
                                              self.refine_regions)
        self.sensors_ = data.sensors
        return self

    # -- predict ----------------------------------------------------------
    def predict(self, data) -> Detection:
        """Residuals, CUSUM and alarms over ``data`` (any period on the same sensors)."""
        check_fitted(self, "model_", "call fit(data, network, train_start, train_end)")
        targets, aux = self._split(data, self.network_)
        missing = [s for s in self.model_.targets_ if s not in targets.columns]
        for s in missing:
            targets[s] = np.nan
        resid = self.model_.predict(targets[self.model_.targets_], aux)
        hourly = self._hourly(resid)
        nf, consumption = self._night_flow(data, hourly.index)
        alarms, rankings, cus = scan_alarms(self, hourly, consumption)
        return Detection(alarms=alarms, residuals_m=hourly, cusum=cus, threshold=self.threshold_,
                         rankings=rankings, night_flow_lps=nf)

    def fit_predict(self, data, network=None, train_start=None, train_end=None) -> Detection:
        """Fit on the training window of ``data``, then scan all of it: ``fit(...).predict(data)``."""
        return self.fit(data, network, train_start, train_end).predict(data)

    def _night_flow(self, data, hours: pd.DatetimeIndex):
        """Minimum night flow per night and hourly net consumption (L/s), or None without inlet meters."""
        if self.network_ is None:
            return None, None
        try:
            consumption = net_consumption_lps(data, self.network_)
            nf = minimum_night_flow(consumption, night_hours=self.night_hours, tz=self.tz)
            return nf, consumption.resample("1h").mean().reindex(hours)
        except InputDataError:
            return None, None


def _stamp(value, tz):
    """A training-window bound as UTC; a naive local time repeated by a clock change is its first occurrence,
    a skipped one moves forward."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert("UTC")
