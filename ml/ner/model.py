"""The Keras models: one input block, five encoders, an emission layer and
(for the *_crf names) the CRF. Every layer has a fixed name so weights move
between models by name (CMeEE pre-training -> CCKS fine-tuning)."""

import keras
from keras import layers, ops

from .config import ModelConfig
from .crf import CRF

ENCODER_SKIP = {"emissions", "crf"}  # layers specific to a label set


@keras.saving.register_keras_serializable(package="ml.ner")
class GraphConv(keras.layers.Layer):
    """One graph convolution over the character-word graph, with forward and
    backward edges convolved separately and mixed by a per-character softmax
    gate (self / forward / backward): the "attention weighting" of a
    bidirectional GCN. Residual + layer norm keep deep stacks trainable."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.self_dense = layers.Dense(units, name="self")
        self.fwd_dense = layers.Dense(units, use_bias=False, name="fwd")
        self.bwd_dense = layers.Dense(units, use_bias=False, name="bwd")
        self.gate = layers.Dense(3, name="gate")
        self.norm = layers.LayerNormalization(name="norm")

    def call(self, h, adj_fwd, adj_bwd):
        gates = ops.softmax(self.gate(h), axis=-1)
        hs = self.self_dense(h)
        hf = ops.matmul(adj_fwd, self.fwd_dense(h))
        hb = ops.matmul(adj_bwd, self.bwd_dense(h))
        mixed = gates[..., 0:1] * hs + gates[..., 1:2] * hf + gates[..., 2:3] * hb
        return self.norm(h + ops.relu(mixed))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def build_model(config: ModelConfig, *, n_chars: int, n_bigrams: int, lex_width: int, aux_tags: list[str] | None = None):
    """The model; with `aux_tags`, also a second model sharing every layer up to
    the emissions, with its own emission layer and CRF (multi-task training on
    another label set, e.g. CMeEE): returns (model, aux_model) then."""
    chars = keras.Input((None,), dtype="int32", name="chars")
    inputs = {"chars": chars}
    mask = ops.not_equal(chars, 0)
    parts = [layers.Embedding(n_chars, config.char_dim, name="char_embedding")(chars)]
    if config.use_bigram:
        inputs["bigrams"] = keras.Input((None,), dtype="int32", name="bigrams")
        parts.append(layers.Embedding(n_bigrams, config.bigram_dim, name="bigram_embedding")(inputs["bigrams"]))
    if config.use_seg:
        inputs["seg"] = keras.Input((None,), dtype="int32", name="seg")
        parts.append(layers.Embedding(5, config.seg_dim, name="seg_embedding")(inputs["seg"]))
    if lex_width:
        inputs["lex"] = keras.Input((None, lex_width), dtype="float32", name="lex")
        parts.append(layers.Dense(32, activation="relu", name="lex_projection")(inputs["lex"]))
    if config.context != "none":
        inputs["context"] = keras.Input((None, config.context_dim), dtype="float32", name="context")
        context = layers.LayerNormalization(name="context_norm")(inputs["context"])
        parts.append(layers.Dense(128, activation="relu", name="context_projection")(context))
    x = parts[0] if len(parts) == 1 else layers.Concatenate(name="features")(parts)
    x = layers.Dropout(config.dropout, name="input_dropout")(x)

    if config.name.startswith("cnn"):
        for i in range(config.cnn_layers):
            rate = 2**i if config.dilated else 1
            x = layers.Conv1D(config.cnn_filters, 3, padding="same", dilation_rate=rate, activation="relu", name=f"conv_{i}")(x)
    else:
        lstm = layers.LSTM(config.hidden, return_sequences=True, name="lstm")
        x = layers.Bidirectional(lstm, name="bilstm")(x, mask=mask)
    if config.name == "bilstm_att_crf":
        pair = ops.logical_and(ops.expand_dims(mask, 1), ops.expand_dims(mask, 2))
        attention = layers.MultiHeadAttention(config.heads, 2 * config.hidden // config.heads, name="attention")
        x = layers.LayerNormalization(name="attention_norm")(x + attention(x, x, attention_mask=pair))
    if config.uses_graph:
        inputs["adj_fwd"] = keras.Input((None, None), dtype="float32", name="adj_fwd")
        inputs["adj_bwd"] = keras.Input((None, None), dtype="float32", name="adj_bwd")
        for i in range(config.gcn_layers):
            x = GraphConv(2 * config.hidden, name=f"gcn_{i}")(x, inputs["adj_fwd"], inputs["adj_bwd"])
    x = layers.Dropout(config.dropout, name="output_dropout")(x)
    emissions = layers.Dense(len(config.tags), name="emissions")(x)
    if config.uses_crf:
        emissions = CRF(config.tags, name="crf")(emissions)
    model = keras.Model(inputs, emissions, name=config.name)
    if aux_tags is None:
        return model
    aux = layers.Dense(len(aux_tags), name="aux_emissions")(x)
    if config.uses_crf:
        aux = CRF(aux_tags, name="aux_crf")(aux)
    return model, keras.Model(inputs, aux, name=config.name + "_aux")


def transfer_encoder(source: keras.Model, target: keras.Model) -> list[str]:
    """Copy every same-named, same-shaped layer but the label-specific ones."""
    moved = []
    for layer in target.layers:
        if layer.name in ENCODER_SKIP or not layer.weights:
            continue
        try:
            other = source.get_layer(layer.name)
        except ValueError:
            continue
        weights = other.get_weights()
        if [w.shape for w in weights] == [w.shape for w in layer.get_weights()]:
            layer.set_weights(weights)
            moved.append(layer.name)
    return moved
