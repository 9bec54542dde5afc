"""A linear-chain CRF in TensorFlow: the forward algorithm (log partition and
log-likelihood) and Viterbi decoding, over right-padded batches.

Scores: start[y0] + sum_t emission[t, y_t] + sum_t trans[y_{t-1}, y_t] + end[y_last].
`allowed` (K x K, optional) forbids transitions (I after O in BIO/BIOES, ...) by a
large negative score in training and decoding alike, so the decoder never emits
an ill-formed sequence.
"""

import keras
import numpy as np
import tensorflow as tf

NEG = -1e4


def _lengths(mask):
    return tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)


def sequence_score(emissions, tags, mask, trans, start, end):
    mask_f = tf.cast(mask, emissions.dtype)
    tags = tf.cast(tags, tf.int32)
    emit = tf.reduce_sum(tf.gather(emissions, tags, axis=2, batch_dims=2) * mask_f, axis=1)
    pairs = tf.gather_nd(trans, tf.stack([tags[:, :-1], tags[:, 1:]], axis=-1))
    moves = tf.reduce_sum(pairs * mask_f[:, 1:], axis=1)
    last = tf.gather(tags, _lengths(mask) - 1, batch_dims=1)
    return emit + moves + tf.gather(start, tags[:, 0]) + tf.gather(end, last)


def _longer_than_one(emissions):
    # A batch one character wide has no transitions: the scans below must not run at
    # all then (in a traced graph, stacking the results of zero steps of unknown
    # shape fails), so each is behind a tf.cond that only runs the branch it takes.
    return tf.shape(emissions)[1] > 1


def log_partition(emissions, mask, trans, start, end):
    alpha0 = start[None, :] + emissions[:, 0]

    def forward():
        steps = (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(mask[:, 1:]))

        def step(alpha, inputs):
            emit, m = inputs
            nxt = tf.reduce_logsumexp(alpha[:, :, None] + trans[None], axis=1) + emit
            return tf.where(m[:, None], nxt, alpha)

        return tf.scan(step, steps, initializer=alpha0)[-1]

    final = tf.cond(_longer_than_one(emissions), forward, lambda: alpha0)
    return tf.reduce_logsumexp(final + end[None, :], axis=1)


def log_likelihood(emissions, tags, mask, trans, start, end):
    return sequence_score(emissions, tags, mask, trans, start, end) - log_partition(emissions, mask, trans, start, end)


def viterbi(emissions, mask, trans, start, end):
    """Best tag sequence per row (padding positions repeat the last real tag)."""

    def one_character():
        final = start[None, :] + emissions[:, 0] + end[None, :]
        return tf.argmax(final, axis=1, output_type=tf.int32)[:, None], tf.reduce_max(final, axis=1)

    return tf.cond(_longer_than_one(emissions), lambda: _viterbi_steps(emissions, mask, trans, start, end), one_character)


def _viterbi_steps(emissions, mask, trans, start, end):
    batch, n_tags = tf.shape(emissions)[0], tf.shape(emissions)[2]
    score0 = start[None, :] + emissions[:, 0]
    steps = (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(mask[:, 1:]))
    identity = tf.tile(tf.range(n_tags)[None, :], [batch, 1])

    def step(carry, inputs):
        score, _ = carry
        emit, m = inputs
        total = score[:, :, None] + trans[None]
        best = tf.reduce_max(total, axis=1) + emit
        pointer = tf.argmax(total, axis=1, output_type=tf.int32)
        return tf.where(m[:, None], best, score), tf.where(m[:, None], pointer, identity)

    scores, pointers = tf.scan(step, steps, initializer=(score0, identity))
    final = scores[-1] + end[None, :]
    last = tf.argmax(final, axis=1, output_type=tf.int32)

    def back(tag, pointer):
        return tf.gather(pointer, tag, batch_dims=1)

    earlier = tf.scan(back, pointers, initializer=last, reverse=True)  # earlier[t] = tag at t
    path = tf.concat([tf.transpose(earlier), last[:, None]], axis=1)
    return path, tf.reduce_max(final, axis=1)


def allowed_transitions(tag_names: list[str]) -> np.ndarray:
    """1 where tag j may follow tag i in BIO/BIOES, plus the start and end rows."""
    def parts(tag):
        return ("O", None) if tag == "O" else tuple(tag.split("-", 1))

    n = len(tag_names)
    allowed = np.zeros((n, n), dtype=np.float32)
    for i, a in enumerate(tag_names):
        pa, la = parts(a)
        for j, b in enumerate(tag_names):
            pb, lb = parts(b)
            if pb in ("I", "E"):
                ok = pa in ("B", "I") and la == lb
            else:
                ok = pa in ("O", "S", "E") or (pa in ("B", "I") and "E" not in {t.split("-")[0] for t in tag_names})
            allowed[i, j] = ok
    start = np.array([parts(t)[0] in ("O", "B", "S") for t in tag_names], dtype=np.float32)
    bio = not any(t.startswith("E-") for t in tag_names)
    end = np.array([parts(t)[0] in ("O", "E", "S") or (bio and parts(t)[0] in ("B", "I")) for t in tag_names], dtype=np.float32)
    return allowed, start, end


@keras.saving.register_keras_serializable(package="ml.ner")
class CRF(keras.layers.Layer):
    """Holds the transition scores; passes emissions through unchanged so it sits
    in the model graph and is saved with the weights."""

    def __init__(self, tag_names: list[str], constrain: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.tag_names = list(tag_names)
        self.constrain = constrain
        n = len(self.tag_names)
        allowed, start, end = allowed_transitions(self.tag_names) if constrain else (np.ones((n, n)), np.ones(n), np.ones(n))
        self._penalty = [tf.constant((1 - x) * NEG, tf.float32) for x in (allowed, start, end)]

    def build(self, input_shape):
        n = len(self.tag_names)
        init = keras.initializers.RandomUniform(-0.05, 0.05)
        self.trans = self.add_weight(name="transitions", shape=(n, n), initializer=init)
        self.start = self.add_weight(name="start", shape=(n,), initializer=init)
        self.end = self.add_weight(name="end", shape=(n,), initializer=init)

    def call(self, emissions):
        return emissions

    def parameters(self):
        p_trans, p_start, p_end = self._penalty
        return (
            tf.convert_to_tensor(self.trans) + p_trans,
            tf.convert_to_tensor(self.start) + p_start,
            tf.convert_to_tensor(self.end) + p_end,
        )

    def loss(self, emissions, tags, mask):
        return -tf.reduce_mean(log_likelihood(emissions, tags, mask, *self.parameters()))

    def decode(self, emissions, mask):
        return viterbi(emissions, mask, *self.parameters())[0]

    def get_config(self):
        return {**super().get_config(), "tag_names": self.tag_names, "constrain": self.constrain}
