"""A tiny real NER model trained in seconds on the hand-written fixture records."""

from pathlib import Path

from ml.ner.config import ModelConfig, TrainConfig
from ml.ner.train import set_threads, train
from tests.ml.ner.fixtures import write_ccks_dir

TINY = dict(char_dim=24, bigram_dim=8, seg_dim=4, hidden=24, cnn_filters=24, heads=2, gcn_layers=1, dropout=0.0)


def train_tiny_ner(folder: Path, *, epochs: int = 15) -> Path:
    """A CNN-CRF (quick to trace and train) with the lexicon but without jieba,
    so a busy machine still trains it well inside a test's time limit."""
    set_threads()
    data = write_ccks_dir(folder / "data", repeat=5)
    out = folder / "model"
    train(str(data), str(out), ModelConfig(name="cnn_crf", lexicon="ccks", use_seg=False, **TINY),
          TrainConfig(max_epochs=epochs, patience=epochs, learning_rate=0.02, batch_size=4, lexicon_folds=0,
                      train_window=40, predict_window=64))
    return out
