"""The CRF's forward algorithm and Viterbi against brute-force enumeration."""

import itertools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from ml.ner.crf import CRF, allowed_transitions, log_partition, log_likelihood, sequence_score, viterbi  # noqa: E402


def _brute(emissions, length, trans, start, end):
    scores = {}
    for path in itertools.product(range(emissions.shape[1]), repeat=length):
        s = start[path[0]] + end[path[-1]] + sum(emissions[t, y] for t, y in enumerate(path))
        s += sum(trans[a, b] for a, b in zip(path, path[1:]))
        scores[path] = s
    return scores


@pytest.fixture
def case():
    rng = np.random.default_rng(7)
    n_tags, width = 3, 5
    emissions = rng.normal(size=(3, width, n_tags)).astype(np.float32)
    lengths = [5, 3, 1]
    mask = np.array([[t < n for t in range(width)] for n in lengths])
    params = [rng.normal(size=s).astype(np.float32) for s in ((n_tags, n_tags), (n_tags,), (n_tags,))]
    return emissions, lengths, mask, params


def test_log_partition_equals_the_log_sum_over_every_path(case):
    # given random emissions and transitions over padded rows of lengths 5, 3 and 1
    emissions, lengths, mask, params = case
    # when the forward algorithm computes log Z
    got = log_partition(tf.constant(emissions), tf.constant(mask), *map(tf.constant, params)).numpy()
    # then it equals logsumexp over all tag paths of each row's real length
    for row, n in enumerate(lengths):
        brute = np.array(list(_brute(emissions[row], n, *params).values()))
        assert got[row] == pytest.approx(np.log(np.exp(brute).sum()), rel=1e-5)


def test_sequence_score_and_likelihood_match_enumeration(case):
    # given a tag path per row
    emissions, lengths, mask, params = case
    tags = np.array([[0, 1, 2, 1, 0], [2, 2, 0, 1, 1], [1, 0, 0, 0, 0]], dtype=np.int32)
    # when scored and normalised
    score = sequence_score(tf.constant(emissions), tf.constant(tags), tf.constant(mask), *map(tf.constant, params)).numpy()
    ll = log_likelihood(tf.constant(emissions), tf.constant(tags), tf.constant(mask), *map(tf.constant, params)).numpy()
    # then padding is ignored and exp(ll) is the path's probability
    for row, n in enumerate(lengths):
        brute = _brute(emissions[row], n, *params)
        path_score = brute[tuple(tags[row, :n])]
        assert score[row] == pytest.approx(path_score, rel=1e-5)
        total = np.log(np.exp(np.array(list(brute.values()))).sum())
        assert ll[row] == pytest.approx(path_score - total, rel=1e-4, abs=1e-4)


def test_viterbi_finds_the_best_path(case):
    # given random scores
    emissions, lengths, mask, params = case
    # when decoded
    paths, best = viterbi(tf.constant(emissions), tf.constant(mask), *map(tf.constant, params))
    # then each row's path is the arg-max of the enumeration, over its real length
    for row, n in enumerate(lengths):
        brute = _brute(emissions[row], n, *params)
        winner = max(brute, key=brute.get)
        assert tuple(paths.numpy()[row, :n]) == winner
        assert best.numpy()[row] == pytest.approx(brute[winner], rel=1e-5)


def test_constrained_decoding_never_starts_inside_an_entity():
    # given BIOES tags and emissions that strongly prefer I-/E- everywhere
    tags = ["O", "B-DIS", "I-DIS", "E-DIS", "S-DIS"]
    layer = CRF(tags)
    layer.build((None, None, len(tags)))
    emissions = np.zeros((1, 4, len(tags)), np.float32)
    emissions[0, :, 2] = 5.0
    emissions[0, :, 3] = 4.0
    # when decoded
    path = layer.decode(tf.constant(emissions), tf.ones((1, 4), tf.bool)).numpy()[0]
    # then the sequence is well-formed: B, I, I, E
    assert [tags[t] for t in path] == ["B-DIS", "I-DIS", "I-DIS", "E-DIS"]


def test_allowed_transitions_for_bioes():
    # given BIOES tags of two types
    tags = ["O", "B-A", "I-A", "E-A", "S-A", "B-B", "I-B", "E-B", "S-B"]
    allowed, start, end = allowed_transitions(tags)
    index = {t: i for i, t in enumerate(tags)}
    # then an entity continues only with its own type and only closes with E
    assert allowed[index["B-A"], index["I-A"]] and allowed[index["I-A"], index["E-A"]]
    assert not allowed[index["B-A"], index["I-B"]]
    assert not allowed[index["B-A"], index["O"]]
    assert not allowed[index["O"], index["E-A"]]
    assert allowed[index["E-A"], index["B-B"]] and allowed[index["S-A"], index["O"]]
    assert not start[index["I-A"]] and not end[index["B-A"]] and end[index["S-B"]]


def test_one_character_batches_decode_and_score_inside_a_traced_graph():
    # given a batch only one character wide, run through a graph traced for any shape
    # (as the serving Tagger does): a scan over zero steps used to fail there
    rng = np.random.default_rng(3)
    emissions = rng.normal(size=(2, 1, 3)).astype(np.float32)
    params = [tf.constant(rng.normal(size=s).astype(np.float32)) for s in ((3, 3), (3,), (3,))]
    spec = [tf.TensorSpec([None, None, 3], tf.float32), tf.TensorSpec([None, None], tf.bool)]

    @tf.function(input_signature=spec)
    def decode(e, m):
        return viterbi(e, m, *params)

    @tf.function(input_signature=spec)
    def partition(e, m):
        return log_partition(e, m, *params)

    mask = np.ones((2, 1), dtype=bool)
    paths, best = decode(tf.constant(emissions), tf.constant(mask))
    log_z = partition(tf.constant(emissions), tf.constant(mask)).numpy()
    trans, start, end = (p.numpy() for p in params)
    # then each row's tag is the enumeration's best, and log Z its log-sum
    for row in range(2):
        brute = _brute(emissions[row], 1, trans, start, end)
        winner = max(brute, key=brute.get)
        assert tuple(paths.numpy()[row]) == winner and best.numpy()[row] == pytest.approx(brute[winner], rel=1e-5)
        assert log_z[row] == pytest.approx(np.log(np.exp(np.array(list(brute.values()))).sum()), rel=1e-5)
