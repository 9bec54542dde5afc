"""Access histories with known dynamics, for tests and the bench.

Per case: a latent popularity (log-normal across cases, a slow random walk over
time) times a seasonal factor (own amplitude and phase, shared cycle length). In a
period a case may start a forwarding cascade: a random recursive tree of forwards
and shares reaching distinct people; a few of them click at once, most of the
attention arrives in the next period and decays after (a burst). Downloads and
citations follow the clicks' rate; a few lone forwards and shares happen anyway.

From `drift_at` on, a new channel appears: mass broadcasts, one hop wide, shares
only. They bring clicks in their own period and nothing after, so a model that
learned "many shares, access will rise" is wrong on them until it learns that
broadcasts are not cascades (forwards tell them apart). Cascades keep their old
meaning, so one model can be right about both regimes.

The propagation index of each case-period is computed with `propagation_index`
over that period's transmission events, at the period's end.
"""

import numpy as np

from .config import HistoryDynamics
from .data import AccessHistory
from .propagation import TransmissionEvent, propagation_index


def _cascade_events(rng, reach: int, start: float, dynamics: HistoryDynamics) -> list:
    events = []
    recipients = rng.integers(0, dynamics.recipients, reach)
    times = start + np.sort(rng.random(reach))
    for hop in range(reach):
        # a random recursive tree: each new person got the case from anyone before
        parent = None if hop == 0 else int(rng.integers(0, hop))
        kind = "share" if rng.random() < dynamics.cascade_share_fraction else "forward"
        events.append(TransmissionEvent(hop, parent, int(recipients[hop]), float(times[hop]), kind))
    return events


def _lone_events(rng, forwards: int, shares: int, start: float, dynamics: HistoryDynamics, first_id: int) -> list:
    kinds = ["forward"] * forwards + ["share"] * shares
    recipients = rng.integers(0, dynamics.recipients, len(kinds))
    times = start + rng.random(len(kinds))
    return [TransmissionEvent(first_id + k, None, int(recipients[k]), float(times[k]), kind)
            for k, kind in enumerate(kinds)]


def generate_access_history(n_cases: int, n_periods: int, *, seed: int, drift_at: int | None = None,
                            dynamics: HistoryDynamics = HistoryDynamics()) -> AccessHistory:
    if n_cases < 1 or n_periods < 2:
        raise ValueError("need at least one case and two periods")
    if drift_at is not None and not 0 <= drift_at <= n_periods:
        raise ValueError(f"drift_at must be within 0..{n_periods}")
    rng = np.random.default_rng(seed)
    d = dynamics
    log_popularity = rng.normal(np.log(d.popularity_median), d.popularity_spread, n_cases)
    amplitude = rng.uniform(0.0, d.season_amplitude, n_cases)
    phase = rng.uniform(0.0, 2 * np.pi, n_cases)
    burst = np.zeros(n_cases)
    counts = np.zeros((n_cases, n_periods, 5))
    propagation = np.zeros((n_cases, n_periods))

    for t in range(n_periods):
        log_popularity += rng.normal(0.0, d.popularity_walk, n_cases)
        base = np.exp(log_popularity) * (1 + amplitude * np.sin(2 * np.pi * t / d.season_length + phase))
        cascade = rng.random(n_cases) < d.cascade_probability
        broadcast = (rng.random(n_cases) < d.broadcast_probability) if drift_at is not None and t >= drift_at \
            else np.zeros(n_cases, dtype=bool)
        background_forwards = rng.poisson(d.background_forward_rate * base)
        background_shares = rng.poisson(d.background_share_rate * base)
        cascade_reach = np.zeros(n_cases)
        broadcast_reach = np.zeros(n_cases)
        forwards = background_forwards.astype("float64")
        shares = background_shares.astype("float64")

        for case in np.flatnonzero(cascade | broadcast | (background_forwards + background_shares > 0)):
            events = []
            if cascade[case]:
                reach = 4 + int(rng.lognormal(np.log(d.cascade_reach_median), 0.5))
                events += _cascade_events(rng, reach, float(t), d)
                cascade_reach[case] = reach
            if broadcast[case]:
                reach = 5 + int(rng.lognormal(np.log(d.broadcast_reach_median), 0.5))
                broadcast_reach[case] = reach
                events += _lone_events(rng, 0, reach, float(t), d, len(events))
            events += _lone_events(rng, int(background_forwards[case]), int(background_shares[case]), float(t), d,
                                   len(events))
            planned = sum(e.kind == "forward" for e in events), sum(e.kind == "share" for e in events)
            forwards[case], shares[case] = planned
            propagation[case, t] = propagation_index(events, now=float(t + 1), half_life=d.propagation_half_life)

        rate = base + burst + d.cascade_clicks_now * cascade_reach + d.broadcast_clicks_now * broadcast_reach
        counts[:, t, 0] = rng.poisson(rate)
        counts[:, t, 1] = rng.poisson(d.download_rate * rate)
        counts[:, t, 2] = rng.poisson(d.citation_rate * rate)
        counts[:, t, 3] = forwards
        counts[:, t, 4] = shares
        burst = d.burst_decay * burst + d.cascade_clicks_next * cascade_reach

    return AccessHistory(tuple(range(n_cases)), counts, propagation, drift_at)
