from dataclasses import dataclass


@dataclass(frozen=True)
class AutoencoderConfig:
    hidden_units: int = 8
    code_units: int = 3
    epochs: int = 40
    batch_size: int = 1024
    learning_rate: float = 0.01
    seed: int = 7
    # A user-day is flagged when its error's robust z-score among the same role's
    # user-days (median and MAD) reaches this.
    robust_z_threshold: float = 8.0
    # Hours outside [work_start, work_end) count as off hours.
    work_start_hour: int = 7
    work_end_hour: int = 20
    evidence_features: int = 3
