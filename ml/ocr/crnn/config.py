"""Model and training settings (dataclasses, so a run is described by its values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

HEIGHT = 32
DOWNSAMPLE = 4  # input columns per CTC time step
WEIGHTS_DIR = Path(__file__).with_name("weights")

# (path, face index in the collection, share of the synthetic lines). Only fonts present
# on the machine are used; wqy-microhei is always installed (the report generator uses it).
FONTS: tuple[tuple[str, int, float], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, 0.40),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, 0.12),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, 0.18),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2, 0.08),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2, 0.14),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc", 2, 0.08),
)


@dataclass(frozen=True)
class ModelConfig:
    conv_filters: tuple[int, ...] = (16, 32, 64, 96, 128, 192)
    rnn_units: int = 128
    rnn_layers: int = 2
    dropout: float = 0.2


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 12000
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup_steps: int = 200
    clip_norm: float = 5.0
    curriculum_share: float = 0.3  # share of the run over which degradations ramp up from none
    seed: int = 7
    eval_lines: int = 1000
    eval_seed: int = 1_000_003  # held-out lines come from a seed stream training never draws
    max_seconds: float = 45 * 60
    log_every: int = 50
    model: ModelConfig = field(default_factory=ModelConfig)
