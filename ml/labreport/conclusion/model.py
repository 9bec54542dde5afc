"""The Keras model: profile text -> multi-hot tokens -> one hidden layer -> conclusion class."""

from __future__ import annotations


def build_model(vocabulary: list[str], *, hidden: int, dropout: float, classes: int):
    import keras  # imported here: web processes never import TensorFlow

    inputs = keras.Input(shape=(1,), dtype="string", name="profile")
    # the tokens are already split (jieba words, CODE:FLAG tokens): no standardisation
    vectorise = keras.layers.TextVectorization(
        standardize=None, split="whitespace", output_mode="multi_hot", vocabulary=vocabulary, name="tokens"
    )
    x = vectorise(inputs)
    x = keras.layers.Dense(hidden, activation="relu", name="hidden")(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="conclusion")(x)
    return keras.Model(inputs, outputs, name="labreport_conclusion")
