"""Dataclass configuration for the imaging models."""

from dataclasses import dataclass, field

CLASS_NAMES = ("mass", "nodule")
# The image classifier's labels: what the real data at hand can support (see docs/imaging.md).
CLASSIFIER_LABELS = ("no_lesion", "lesion")
MAX_PIXELS = 50_000_000  # about 7,000 x 7,000: larger is refused before any decoding
MAX_SIDE = 12_000


@dataclass(frozen=True)
class BackboneConfig:
    widths: tuple[int, ...] = (16, 32, 48, 64, 96)  # strides 2, 4, 8, 16, 32
    input_channels: int = 1


@dataclass(frozen=True)
class DetectorConfig:
    image_size: int = 256          # training size; the network is fully convolutional
    stride: int = 8
    classes: tuple[str, ...] = CLASS_NAMES
    center_radius: float = 2.5     # cells within this many strides of a box centre are positives
    box_weight: float = 5.0
    objectness_weight: float = 1.0
    class_weight: float = 1.0
    backbone: BackboneConfig = field(default_factory=BackboneConfig)


@dataclass(frozen=True)
class ClassifierConfig:
    image_size: int = 256
    labels: tuple[str, ...] = CLASSIFIER_LABELS
    backbone: BackboneConfig = field(default_factory=BackboneConfig)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 20
    batch_size: int = 8
    learning_rate: float = 2e-3
    seed: int = 7
