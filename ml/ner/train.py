"""Training a NER model on CCKS 2019, optionally pre-trained on CMeEE, with
early stopping on the dev split's strict micro F1.

Lexicon features are cross-fitted on the training split: the features of a
training record come from a lexicon built WITHOUT that record's fold, so the
model sees lexicon hits as often missing or wrong as they will be on new text,
instead of learning "a lexicon hit is always the gold entity".
"""

import json
import logging
import math
import random
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ml.artifacts import CARD_NAME, artifact_checksum
from ml.keras_io import limit_threads as set_threads  # noqa: F401 (the CLI, bench and tests use this name)

from . import augment, embeddings, knowledge
from .config import ModelConfig, TrainConfig, to_dict
from .context import open_context
from .data import Record, load_ccks, load_cmeee, split_train_dev
from .encoding import Featurizer
from .evaluate import strict_scores
from .features import Lexicon, Segmenter
from .labels import CCKS_CODES, CCKS_NAMES, CMEEE_CODES
from .serving import Tagger
from .tagging import encode, tag_names
from .windows import plan_windows

log = logging.getLogger("ml.ner.train")
CMEEE_PREFIX = "C"
LEXICON_SOURCES = {
    "ccks": "entity strings of the CCKS 2019 training split (research-only data: do not redistribute)",
    "ccks+cmeee": "entity strings of the CCKS 2019 training split and CMeEE (research-only data: do not redistribute)",
    "cmekg": "PyCMeKG 0.2.5 knowledge graph (MIT licence, (c) 2018-2019 cmekg authors, packaged by Yunfei Yang, https://github.com/king-yyf/PyCMeKG; notice in LICENSE-PyCMeKG.txt): "
             "subjects and relation objects typed as diseases, symptoms, drugs, operations, lab tests, imaging, "
             "other exams and body sites",
}


def lexicon_types(config: ModelConfig) -> list[str]:
    if config.lexicon == "cmekg":
        return list(knowledge.TYPES)
    types = list(CCKS_CODES.values()) if config.lexicon != "none" else []
    if config.lexicon == "ccks+cmeee":
        types += [CMEEE_PREFIX + c for c in CMEEE_CODES.values()]
    return types


def build_lexicon(config: ModelConfig, ccks: list[Record], cmeee: list[Record], graph: str = "") -> Lexicon | None:
    if config.lexicon == "none":
        return None
    if config.lexicon == "cmekg":
        return knowledge.cmekg_lexicon(graph or None)
    groups = [("", ccks)] + ([(CMEEE_PREFIX, cmeee)] if config.lexicon == "ccks+cmeee" else [])
    return Lexicon.from_records(groups, lexicon_types(config))


def windows_of(records: list[Record], size: int):
    for record in records:
        for start, end in plan_windows(record.text, size, [(s.start, s.end) for s in record.spans]):
            spans = [replace(s, start=s.start - start, end=s.end - start) for s in record.spans if start <= s.start and s.end <= end]
            yield Record(record.text[start:end], spans)


def make_examples(records, featurizer: Featurizer, size: int, tag_index: dict, lexicon=None, segmenter=None):
    examples = []
    for window in windows_of(records, size):
        item = featurizer.encode(window.text, lexicon=lexicon, segmenter=segmenter)
        item["tags"] = np.asarray([tag_index[t] for t in encode(len(window.text), window.spans, featurizer.config.scheme)], np.int32)
        examples.append(item)
    return examples


def cross_fitted_examples(train, cmeee, featurizer, config: ModelConfig, tcfg: TrainConfig, tag_index):
    # cross-fitting is for lexicons made from the training records; the knowledge
    # graph's lexicon knows nothing of them, so train and dev features already agree
    if config.lexicon in ("none", "cmekg") or tcfg.lexicon_folds < 2:
        return make_examples(train, featurizer, tcfg.train_window, tag_index)
    order = list(range(len(train)))
    random.Random(tcfg.seed + 1).shuffle(order)
    examples = []
    for fold in range(tcfg.lexicon_folds):
        held = set(order[fold :: tcfg.lexicon_folds])
        rest = [r for i, r in enumerate(train) if i not in held]
        lexicon = build_lexicon(config, rest, cmeee)
        segmenter = Segmenter(list(lexicon.words)) if featurizer.segmenter else None
        examples += make_examples([train[i] for i in sorted(held)], featurizer, tcfg.train_window, tag_index, lexicon, segmenter)
    return examples


def batches(examples, size: int, rng: random.Random):
    """Length-bucketed batches (little padding), shuffled in order."""
    order = sorted(range(len(examples)), key=lambda i: (len(examples[i]["chars"]), rng.random()))
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    for group in groups:
        yield Featurizer.pad([examples[i] for i in group])


class Trainer:
    def __init__(self, model, config: ModelConfig, tcfg: TrainConfig, *, crf_name: str = "crf"):
        import keras
        import tensorflow as tf

        self.model = model
        self.optimizer = keras.optimizers.Adam(tcfg.learning_rate, clipnorm=tcfg.clip_norm)
        crf = model.get_layer(crf_name) if config.uses_crf else None

        @tf.function(reduce_retracing=True)
        def step(batch, tags):
            mask = tf.not_equal(batch["chars"], 0)
            with tf.GradientTape() as tape:
                emissions = model(batch, training=True)
                if crf is not None:
                    loss = crf.loss(emissions, tags, mask)
                else:
                    per_char = keras.losses.sparse_categorical_crossentropy(tags, emissions, from_logits=True)
                    weights = tf.cast(mask, per_char.dtype)
                    loss = tf.reduce_sum(per_char * weights) / tf.reduce_sum(weights)
            variables = model.trainable_variables
            grads = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
            return loss

        self.step = step

    def epoch(self, examples, batch_size: int, rng: random.Random, deadline: float) -> float:
        losses = []
        for batch in batches(examples, batch_size, rng):
            tags = batch.pop("tags")
            losses.append(float(self.step(batch, tags)))
            if time.monotonic() > deadline:
                break
        return float(np.mean(losses)) if losses else math.nan


def dev_scores(tagger: Tagger, dev: list[Record]) -> dict:
    predicted = tagger.predict([r.text for r in dev])
    return strict_scores([r.spans for r in dev], predicted, list(CCKS_CODES.values()))


def train(data: str, out: str, config: ModelConfig, tcfg: TrainConfig, *, command: str = "") -> dict:
    import keras

    from .model import build_model, transfer_encoder

    started = time.monotonic()
    deadline = started + 60 * tcfg.max_minutes
    keras.utils.set_random_seed(tcfg.seed)
    rng = random.Random(tcfg.seed)
    records = load_ccks(data)
    if tcfg.limit_records:
        records = records[: tcfg.limit_records]
    train_records, dev_records = split_train_dev(records, dev_fraction=tcfg.dev_fraction, seed=tcfg.split_seed)
    if tcfg.train_fraction < 1:  # the split's order is already random: a prefix is a random subset
        train_records = train_records[: max(1, round(len(train_records) * tcfg.train_fraction))]
    needs_cmeee = config.lexicon == "ccks+cmeee" or tcfg.pretrain_epochs > 0 or tcfg.multitask > 0
    if needs_cmeee and not tcfg.cmeee:
        raise ValueError("this configuration needs CMeEE: pass --cmeee DIR (or --lexicon ccks / none)")
    cmeee = load_cmeee(tcfg.cmeee) if needs_cmeee else []
    config = replace(config, tags=tag_names(list(CCKS_CODES.values()), config.scheme))
    lexicon = build_lexicon(config, train_records, cmeee, tcfg.knowledge_graph)
    texts = [r.text for r in train_records] + [r.text for r in cmeee]
    pretrained = embeddings.load(tcfg.embeddings) if tcfg.embeddings else None
    featurizer = Featurizer.build(config, texts, lexicon, bigram_min_count=tcfg.bigram_min_count, bigram_max=tcfg.bigram_max,
                                  extra_chars=pretrained["chars"] if pretrained else (),
                                  extra_bigrams=pretrained["bigrams"] if pretrained else ())
    featurizer.context = open_context(config.context, tcfg.context_cache, layers=config.context_layers)
    if featurizer.context:  # the encoder runs once per window, batched, before any epoch
        windows = [w.text for w in windows_of(train_records, tcfg.train_window)]
        windows += [r.text[a:b] for r in dev_records for a, b in plan_windows(r.text, tcfg.predict_window)]
        if tcfg.multitask or tcfg.pretrain_epochs:
            windows += [w.text for w in windows_of(cmeee, tcfg.train_window)]
        log.info("context %s: encoding %d windows", config.context, len(windows))
        log.info("context %s: %d windows were not cached", config.context, featurizer.context.prefill(windows, save=True))
    sizes = dict(n_chars=len(featurizer.chars), n_bigrams=len(featurizer.bigrams), lex_width=featurizer.lex_width)
    history = []

    cmeee_tags = tag_names(list(CMEEE_CODES.values()), config.scheme)
    if tcfg.multitask:
        model, aux_model = build_model(config, **sizes, aux_tags=cmeee_tags)
    else:
        model = build_model(config, **sizes)
    if pretrained:
        found = embeddings.initialise(model.get_layer("char_embedding"), featurizer.chars, pretrained["chars"], pretrained["char_vectors"])
        log.info("pre-trained vectors for %d of %d characters", found, len(featurizer.chars))
        if config.use_bigram:
            found = embeddings.initialise(model.get_layer("bigram_embedding"), featurizer.bigrams, pretrained["bigrams"],
                                          pretrained["bigram_vectors"])
            log.info("pre-trained vectors for %d of %d bigrams", found, len(featurizer.bigrams))
    if tcfg.pretrain_epochs:
        pre_config = replace(config, tags=tag_names(list(CMEEE_CODES.values()), config.scheme))
        pre_model = build_model(pre_config, **sizes)
        pre_index = {t: i for i, t in enumerate(pre_config.tags)}
        pre_examples = make_examples(cmeee, featurizer, tcfg.train_window, pre_index)
        trainer = Trainer(pre_model, pre_config, tcfg)
        pre_deadline = started + 60 * tcfg.max_minutes * 0.45
        for epoch in range(tcfg.pretrain_epochs):
            loss = trainer.epoch(pre_examples, tcfg.batch_size * 2, rng, pre_deadline)
            history.append({"stage": "cmeee", "epoch": epoch + 1, "loss": loss, "minutes": (time.monotonic() - started) / 60})
            log.info("cmeee epoch %d loss %.4f", epoch + 1, loss)
            if time.monotonic() > pre_deadline:
                break
        moved = transfer_encoder(pre_model, model)
        log.info("transferred %s", moved)

    tag_index = {t: i for i, t in enumerate(config.tags)}
    examples = cross_fitted_examples(train_records, cmeee, featurizer, config, tcfg, tag_index)
    if tcfg.augment:
        extra = augment.augmented(train_records, copies=tcfg.augment, rate=tcfg.augment_rate, seed=tcfg.seed)
        examples += cross_fitted_examples(extra, cmeee, featurizer, config, tcfg, tag_index)
        log.info("mention replacement: %d extra training records", len(extra))
    pseudo = make_examples(load_ccks(tcfg.pseudo), featurizer, tcfg.train_window, tag_index) if tcfg.pseudo else []
    if pseudo:
        log.info("self-training: %d teacher-labelled windows, %s an epoch", len(pseudo), tcfg.pseudo_per_epoch or "all")
    trainer = Trainer(model, config, tcfg)
    tagger = Tagger(model, featurizer, config, window=tcfg.predict_window)
    if tcfg.multitask:
        aux_index = {t: i for i, t in enumerate(cmeee_tags)}
        aux_examples = make_examples(cmeee, featurizer, tcfg.train_window, aux_index)
        aux_trainer = Trainer(aux_model, replace(config, tags=cmeee_tags), tcfg, crf_name="aux_crf")
    best, best_weights, waited = None, model.get_weights(), 0
    average, averaged = None, 0
    scored = bool(dev_records)  # --dev-fraction 0: every record trains, for a fixed --max-epochs, nothing is scored
    for epoch in range(tcfg.max_epochs):
        if tcfg.multitask:
            aux_loss = aux_trainer.epoch(rng.sample(aux_examples, min(tcfg.multitask, len(aux_examples))), tcfg.batch_size * 2, rng, deadline)
            log.info("epoch %d CMeEE loss %.4f", epoch + 1, aux_loss)
        extra = rng.sample(pseudo, min(tcfg.pseudo_per_epoch, len(pseudo))) if tcfg.pseudo_per_epoch else pseudo
        loss = trainer.epoch(examples + extra, tcfg.batch_size, rng, deadline)
        history.append({"stage": "ccks", "epoch": epoch + 1, "loss": loss, "minutes": (time.monotonic() - started) / 60})
        improved = False
        if scored:
            scores = dev_scores(tagger, dev_records)
            f1 = history[-1]["dev_f1"] = scores["micro"]["f1"]
            log.info("epoch %d loss %.4f dev micro F1 %.4f", epoch + 1, loss, f1)
            improved = best is None or f1 > best["micro"]["f1"]
            if improved:
                best, best_weights = scores, model.get_weights()
        else:
            log.info("epoch %d loss %.4f", epoch + 1, loss)
        if tcfg.swa_start and epoch + 1 >= tcfg.swa_start:
            # stochastic weight averaging: the mean of the weights after each epoch,
            # scored as a model of its own (same size and speed as one model)
            current = model.get_weights()
            averaged += 1
            average = current if average is None else [a + (c - a) / averaged for a, c in zip(average, current)]
            history[-1]["averaged_epochs"] = averaged
            if scored:
                model.set_weights(average)
                avg_scores = dev_scores(tagger, dev_records)
                model.set_weights(current)
                avg_f1 = history[-1]["average_dev_f1"] = avg_scores["micro"]["f1"]
                log.info("average of %d epochs: dev micro F1 %.4f", averaged, avg_f1)
                if avg_f1 > best["micro"]["f1"]:
                    best, best_weights, improved = avg_scores, [w.copy() for w in average], True
        waited = 0 if improved else waited + 1
        if (scored and tcfg.keep == "best" and waited >= tcfg.patience) or time.monotonic() > deadline:
            break
    if tcfg.keep == "final" or not scored:
        # a fixed recipe: no choice made on dev, so its dev score is an honest estimate
        best_weights = average if average is not None else model.get_weights()
        model.set_weights(best_weights)
        best = dev_scores(tagger, dev_records) if scored else None
    model.set_weights(best_weights)
    return export(out, model, featurizer, config, tcfg, best, history, data=data, records=(len(train_records), len(dev_records)),
                  minutes=(time.monotonic() - started) / 60, command=command)


def export(out, model, featurizer, config, tcfg, scores, history, *, data, records, minutes, command) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_weights(str(out / "model.weights.h5"))
    halve_weights(out / "model.weights.h5")
    featurizer.save(out / "vocab.json")
    if config.lexicon == "cmekg":
        knowledge.write_license(out)
    (out / "config.json").write_text(json.dumps({"model": to_dict(config), "train": to_dict(tcfg)}, ensure_ascii=False, indent=1), encoding="utf-8")
    card = {
        "family": "ml.ner",
        "model": config.name,
        "version": f"{config.name}-{datetime.now(timezone.utc):%Y%m%d%H%M}",
        "task": "Chinese clinical named-entity recognition, CCKS 2019 types",
        "labels": [CCKS_NAMES[c] for c in CCKS_CODES.values()],
        "data": {
            "train": (f"CCKS 2019 subtask 1 training records, {records[0]} "
                      + (f"({100 - round(100 * tcfg.dev_fraction)}% split, split seed {tcfg.split_seed}; training seed {tcfg.seed})"
                         if records[1] else f"(all of them; training seed {tcfg.seed})")),
            "dev": f"the other {records[1]} records" if records[1] else "none: every record trained the model",
            "pretraining": "CMeEE train sentences" if tcfg.pretrain_epochs else None,
            "multitask": f"{tcfg.multitask} CMeEE train sentences per epoch, own output layer (not in the artifact)" if tcfg.multitask else None,
            "embeddings": ("character and bigram vectors pre-trained (PPMI + SVD) on raw CCKS-train and CMeEE text, "
                           "used as the embedding layers' initial values" if tcfg.embeddings else None),
            "self_training": (f"{tcfg.pseudo_per_epoch or 'all'} windows an epoch of texts labelled by a teacher model "
                              f"({Path(tcfg.pseudo).name})" if tcfg.pseudo else None),
            "augmentation": (f"{tcfg.augment} mention-replaced copies of each training record (rate {tcfg.augment_rate})"
                             if tcfg.augment else None),
            "lexicon": config.lexicon,
            "lexicon_source": LEXICON_SOURCES.get(config.lexicon),
            "note": "the artifact holds weights, vocabularies and (unless lexicon is none) an entity lexicon; no records",
        },
        "metrics": {"dev_strict": scores} if scores else {
            "dev_strict": None, "note": "trained on every record (--dev-fraction 0) for a fixed number of epochs; "
                                        "the recipe's dev figures come from the same command with the 70/30 split"},
        "history": history,
        "training_minutes": round(minutes, 2),
        "command": command,
        "checksum": {"weights_and_vocab_sha256": _checksum(out)},
        "intended_use": "Structuring free-text records for clinicians; results are preliminary until signed off.",
        "limits": "Trained on 700 records from one source; text unlike CCKS admission notes will score lower.",
    }
    (out / CARD_NAME).write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    return card


def halve_weights(path: Path) -> None:
    """Store float32 weights as float16: half the artifact, and Keras casts them
    back on load (dev F1 unchanged to four decimals on the models measured)."""
    import h5py

    def copy(source, target):
        for key, value in source.attrs.items():
            target.attrs[key] = value
        for name, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, target.create_group(name))
                continue
            data = item[()]
            if getattr(data, "dtype", None) == np.float32:
                data = data.astype(np.float16)
            written = target.create_dataset(name, data=data)
            for key, value in item.attrs.items():
                written.attrs[key] = value

    half = path.with_suffix(".half")
    with h5py.File(path, "r") as source, h5py.File(half, "w") as target:
        copy(source, target)
    half.replace(path)


def _checksum(out: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for name in ("config.json", "model.weights.h5", "vocab.json"):
        digest.update(artifact_checksum(out / name).encode())
    return digest.hexdigest()


def configure_logging():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
