from .config import AutoencoderConfig


def build_autoencoder(n_features: int, config: AutoencoderConfig):
    """features -> hidden -> code (bottleneck) -> hidden -> features. A user-day that
    the bottleneck cannot reproduce is unlike the days the model learned from."""
    import keras

    inputs = keras.Input((n_features,))
    x = keras.layers.Dense(config.hidden_units, activation="relu")(inputs)
    code = keras.layers.Dense(config.code_units, activation="linear", name="code")(x)
    x = keras.layers.Dense(config.hidden_units, activation="relu")(code)
    outputs = keras.layers.Dense(n_features, activation="linear")(x)
    model = keras.Model(inputs, outputs, name="access_autoencoder")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse")
    return model
