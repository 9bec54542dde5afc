"""CNN + BiLSTM + CTC text-line recogniser, and greedy CTC decoding with confidences.

Input (batch, 32, width, 1), ink 1 on paper 0; output logits (batch, width / 4, classes),
class 0 the CTC blank. The CNN halves the height five times (32 -> 1) and the width twice,
so each time step sees a 4-pixel column stripe with the context of its receptive field.
"""

from __future__ import annotations

import numpy as np

from ml.ocr.crnn.config import HEIGHT, ModelConfig


def build_model(num_classes: int, config: ModelConfig = ModelConfig()):
    import keras
    from keras import layers

    inputs = keras.Input(shape=(HEIGHT, None, 1), name="image")
    x = inputs
    # Pool after every block but the fifth: height 32 -> 1, width pooled by the first two
    # only. Pooling early keeps the wide layers on small maps (CPU training budget).
    pools = [(2, 2), (2, 2), (2, 1), None, (2, 1), (2, 1)]
    for filters, pool in zip(config.conv_filters, pools):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D(pool_size=pool, strides=pool)(x)
    features = layers.Reshape((-1, config.conv_filters[-1]))(x)
    x = features
    for _ in range(config.rnn_layers):
        x = layers.Bidirectional(layers.LSTM(config.rnn_units, return_sequences=True))(x)
    # The CNN features also reach the classifier directly: a short gradient path gets
    # CTC off its all-blank plateau in far fewer steps; the LSTMs add line context.
    x = layers.Concatenate()([features, x])
    x = layers.Dropout(config.dropout)(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="crnn")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def ctc_greedy_decode(probabilities: np.ndarray) -> tuple[list[int], list[float], list[int]]:
    """Best path over (time, classes) probabilities: collapse repeats, drop blanks (0).

    Returns the class ids, each character's confidence (the highest probability over the
    time steps that emitted it) and the time step where each character starts."""
    best = probabilities.argmax(axis=-1)
    ids: list[int] = []
    confidences: list[float] = []
    starts: list[int] = []
    previous = 0
    for step, cls in enumerate(best):
        cls = int(cls)
        if cls != 0:
            if cls != previous:
                ids.append(cls)
                confidences.append(float(probabilities[step, cls]))
                starts.append(step)
            else:
                confidences[-1] = max(confidences[-1], float(probabilities[step, cls]))
        previous = cls
    return ids, confidences, starts
