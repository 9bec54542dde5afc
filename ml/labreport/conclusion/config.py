"""Training configuration of the conclusion model."""

from dataclasses import dataclass
from pathlib import Path

from ml.labreport.knowledge import LEVELS

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "models" / "conclusion"
MODEL_FILE = "model.keras"
NAME = "labreport-conclusion"


@dataclass(frozen=True)
class ConclusionConfig:
    version: str = "1.0"
    train_cases: int = 12_000
    validation_cases: int = 1_500
    test_cases: int = 3_000
    train_seed: int = 0  # generated cases use seeds train_seed, train_seed + 1, ...
    validation_seed: int = 500_000
    test_seed: int = 1_000_000  # held out: never seen in training
    min_token_count: int = 3
    hidden: int = 64
    dropout: float = 0.1
    epochs: int = 12
    batch_size: int = 64
    learning_rate: float = 3e-3
    classes: tuple[str, ...] = LEVELS
