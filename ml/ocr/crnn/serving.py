"""Load the recogniser once and read batches of crops."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from ml.ocr.crnn.charset import Codec, load_charset
from ml.ocr.crnn.config import DOWNSAMPLE, HEIGHT, WEIGHTS_DIR, ModelConfig
from ml.ocr.crnn.data import make_batch, prepare
from ml.ocr.crnn.model import build_model, ctc_greedy_decode, softmax

WEIGHTS_FILE = "crnn.weights.h5"
CHARSET_FILE = "charset.txt"
CARD_FILE = "MODEL_CARD.json"


def configure_threads() -> None:
    """One intra-op and one inter-op thread: workers share the CPU (set before TF runs)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised in this process
        pass


class Recogniser:
    def __init__(self, model_dir: str | Path = WEIGHTS_DIR, max_batch_pixels: int = 32 * 32 * 4096):
        configure_threads()
        import tensorflow as tf

        model_dir = Path(model_dir)
        self.card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8")) if (model_dir / CARD_FILE).is_file() else {}
        self.codec = Codec(load_charset(model_dir / CHARSET_FILE))
        config = ModelConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in self.card.get("model", {}).items()})
        self.model = build_model(self.codec.num_classes, config)
        self.model.load_weights(model_dir / WEIGHTS_FILE)
        self.max_batch_pixels = max_batch_pixels
        self._predict = tf.function(
            lambda x: self.model(x, training=False), input_signature=[tf.TensorSpec([None, HEIGHT, None, 1], tf.float32)]
        )
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return str(self.card.get("version", "unversioned"))

    def read(self, crops: list[np.ndarray], lexicon=None) -> list[tuple[str, list[float]]]:
        """Grayscale crops (any height) -> (text, per-character confidences) each."""
        return self.read_prepared([prepare(crop) for crop in crops], lexicon)

    def read_prepared(self, images: list[np.ndarray], lexicon=None) -> list[tuple[str, list[float]]]:
        """`lexicon` (ml.ocr.crnn.lexicon.Lexicon), when given, replaces near-miss
        readings of known terms; a replaced term's characters get the mean confidence."""
        results: list[tuple[str, list[float]] | None] = [None] * len(images)
        # Batches of similar width waste little on padding.
        order = sorted(range(len(images)), key=lambda i: images[i].shape[1])
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * images[order[end]].shape[1] * 32 <= self.max_batch_pixels and end - start < 64:
                end += 1
            members = order[start:end]
            batch, widths = make_batch([images[i] for i in members])
            with self._lock:
                logits = np.asarray(self._predict(batch))
            for row, i in enumerate(members):
                steps = max(1, int(np.ceil(widths[row] / DOWNSAMPLE)))
                probabilities = softmax(logits[row, :steps])
                ids, confidences, _starts = ctc_greedy_decode(probabilities)
                text = self.codec.decode(ids)
                term = lexicon.correct(text, probabilities) if lexicon is not None else None
                if term is not None:
                    confidences = [float(np.mean(confidences)) if confidences else 0.0] * len(term)
                    text = term
                results[i] = (text, confidences)
            start = end
        return results  # type: ignore[return-value]
