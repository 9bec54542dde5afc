import numpy as np

from ml.imaging.config import DetectorConfig
from ml.imaging.decode import Detection, decode, nms
from ml.imaging.losses import build_targets
from ml.imaging.metrics import auroc, best_f1_threshold, mean_average_precision
from ml.imaging.preprocess import letterbox
from ml.imaging.synth import phantom, phantom_set

CONFIG = DetectorConfig(image_size=128)


def _perfect_output(target: np.ndarray, config: DetectorConfig) -> np.ndarray:
    """The raw output a perfect detector would give for these targets."""
    cells, classes = target.shape[0], len(config.classes)
    ys, xs = np.mgrid[:cells, :cells].astype(np.float32)
    cx, cy = (xs + 0.5) * config.stride, (ys + 0.5) * config.stride
    box = target[..., 1 + classes:]
    distances = np.stack([cx - box[..., 0], cy - box[..., 1], box[..., 2] - cx, box[..., 3] - cy], -1) / config.stride
    raw_box = np.log(np.expm1(np.clip(distances, 1e-3, None)))  # inverse softplus
    positive = target[..., :1]
    objectness = np.where(positive > 0, 12.0, -12.0)
    class_logits = np.where(target[..., 1:1 + classes] > 0, 12.0, -12.0)
    return np.concatenate([raw_box, objectness, class_logits], -1).astype(np.float32)


def test_targets_then_decode_and_nms_give_back_the_exact_boxes():
    # Given phantoms with lesions at known positions
    for item in phantom_set(6, size=128, seed=3):
        target = build_targets(item.boxes, item.labels, 128, CONFIG)
        # When a perfect output is decoded
        found = decode(_perfect_output(target, CONFIG), CONFIG.stride, score_threshold=0.5)
        # Then every box comes back once, exactly, with its class
        assert len(found) == len(item.boxes)
        for box, label in zip(item.boxes, item.labels):
            match = min(found, key=lambda d: np.abs(np.array(d.box) - box).sum())
            assert np.allclose(match.box, box, atol=1e-3) and match.label == label


def test_every_box_gets_at_least_one_positive_cell_even_when_tiny():
    boxes = np.array([[10.0, 10.0, 12.0, 12.0]])
    target = build_targets(boxes, np.array([1]), 128, CONFIG)
    assert target[..., 0].sum() == 1 and target[..., 2].sum() == 1


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5) == [0, 2]


def test_map_is_one_for_perfect_and_lower_for_misplaced_detections():
    truths = [(np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32), np.array([0, 1]))]
    perfect = [[Detection((0, 0, 10, 10), 0, 0.9), Detection((20, 20, 40, 40), 1, 0.8)]]
    assert mean_average_precision(perfect, truths, 2)["map50"] == 1.0
    shifted = [[Detection((5, 5, 15, 15), 0, 0.9), Detection((20, 20, 40, 40), 1, 0.8)]]
    assert mean_average_precision(shifted, truths, 2)["map50"] == 0.5


def test_auroc_counts_ranked_pairs_and_ties():
    assert auroc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auroc([0, 1], [0.5, 0.5]) == 0.5
    assert auroc([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.2]) == 0.5


def test_threshold_is_calibrated_to_the_best_f1_not_a_flat_half():
    scores = [0.9, 0.8, 0.35, 0.3, 0.2]
    correct = [True, True, True, False, False]
    assert best_f1_threshold(scores, correct, total_positives=3) == 0.35


def test_letterbox_keeps_the_aspect_ratio_and_boxes_round_trip():
    image = np.zeros((100, 200), np.uint8)
    boxed, geometry = letterbox(image, 64)
    assert boxed.shape == (64, 64) and geometry.pad_y == 16 and geometry.pad_x == 0
    boxes = np.array([[10, 20, 50, 80]], np.float32)
    assert np.allclose(geometry.to_original(geometry.to_letterbox(boxes)), boxes)


def test_phantom_lesions_are_bright_inside_their_exact_box():
    item = phantom(128, lesions=2, seed=11)
    assert len(item.boxes) == 2
    for x1, y1, x2, y2 in item.boxes:
        cx, cy = int((x1 + x2) / 2), int((y1 + y2) / 2)
        inside = item.image[cy - 1:cy + 2, cx - 1:cx + 2].mean()
        outside = item.image[int(y1) - 4:int(y1) - 1, cx - 1:cx + 2].mean()
        assert inside > outside + 20


def test_a_phantom_is_reproducible_from_its_seed():
    assert np.array_equal(phantom(64, seed=5).image, phantom(64, seed=5).image)
