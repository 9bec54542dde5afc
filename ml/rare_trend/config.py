from dataclasses import dataclass

# Periods averaged into a case's features (and compared with the next period for
# its label). The app's "first preset period" is one period.
DEFAULT_WINDOW = 4


@dataclass(frozen=True)
class TrendConfig:
    """The network and how it is trained. Saved in the artifact's manifest."""

    window: int = DEFAULT_WINDOW
    hidden_units: tuple = (32, 16)
    learning_rate: float = 5e-3
    # Large batches: Keras spends more per step than this network does, and the
    # workers share two cores.
    batch_size: int = 1024
    max_epochs: int = 300
    # Training stops when the validation loss has not improved for this many epochs
    # (and the best weights are restored): "trained to convergence".
    patience: int = 12
    validation_fraction: float = 0.2


@dataclass(frozen=True)
class UpdateConfig:
    """Incremental learning on new data without forgetting the old."""

    # Old rows rehearsed per new row.
    rehearsal_ratio: float = 2.0
    # Penalty pulling the weights back to the current model's: "ewc" weighs each
    # weight by its (diagonal, empirical) Fisher information on old data, "l2" weighs
    # them equally, "none" relies on rehearsal alone.
    anchor: str = "ewc"
    anchor_strength: float = 0.05
    fisher_rows: int = 1024
    learning_rate: float = 2e-3
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 8
    # Shares of the new rows held out: one to stop fine-tuning, one to measure the
    # new-data loss before and after (never trained on).
    stop_fraction: float = 0.2
    check_fraction: float = 0.2
    min_new_rows: int = 40


@dataclass(frozen=True)
class HistoryDynamics:
    """The known dynamics of `generate_access_history` (see synthetic.py)."""

    popularity_median: float = 5.0      # clicks per period of a typical case
    popularity_spread: float = 0.7      # sigma of log popularity across cases
    popularity_walk: float = 0.05       # sigma of its per-period random walk
    season_length: int = 12
    season_amplitude: float = 0.6       # per case, uniform in [0, this)
    cascade_probability: float = 0.07   # a case starts a forwarding cascade in a period
    cascade_reach_median: float = 10.0  # distinct recipients of a cascade (plus 4)
    cascade_share_fraction: float = 0.4  # cascade hops that are shares (the rest forwards)
    cascade_clicks_now: float = 0.3     # clicks per recipient in the cascade's period
    cascade_clicks_next: float = 0.9    # clicks per recipient carried into the next period
    burst_decay: float = 0.5
    # After the regime change: mass broadcasts (one hop, shares only) that bring
    # clicks at once and nothing afterwards.
    broadcast_probability: float = 0.12
    broadcast_reach_median: float = 20.0
    broadcast_clicks_now: float = 0.7
    download_rate: float = 0.12
    citation_rate: float = 0.03
    background_forward_rate: float = 0.04
    background_share_rate: float = 0.03
    recipients: int = 100_000
    propagation_half_life: float = 1.0  # periods
