"""Train the recogniser on synthetic lines, then score it on held-out ones.

Single-threaded TensorFlow (the CPU is shared). The learning rate warms up and then
follows a cosine over whichever runs out first, the step budget or the time budget, so a
run cut short by time still ends annealed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

from ml.ocr.crnn.charset import Codec, build_charset, save_charset
from ml.ocr.crnn.config import HEIGHT, TrainConfig
from ml.ocr.crnn.data import BatchStream, LineRenderer, Prefetch
from ml.ocr.crnn.evaluate import evaluate_recogniser, held_out_lines
from ml.ocr.crnn.serving import CARD_FILE, CHARSET_FILE, WEIGHTS_FILE, Recogniser, configure_threads


def train(out: str | Path, config: TrainConfig, command: str = "", init: str | Path | None = None) -> dict:
    configure_threads()
    import keras
    import tensorflow as tf

    from ml.ocr.crnn.model import build_model

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    codec = Codec(build_charset())
    save_charset(codec.chars, out / CHARSET_FILE)
    renderer = LineRenderer(codec)
    renderer.difficulty = 0.0 if config.curriculum_share > 0 else 1.0
    stream = Prefetch(BatchStream(renderer, config.batch_size, seed=config.seed))
    model = build_model(codec.num_classes, config.model)
    if init:  # continue from an earlier run's weights (same charset and architecture)
        model.load_weights(Path(init) / WEIGHTS_FILE)
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=config.clip_norm)

    # A fixed signature: one graph for every batch width and label length.
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, HEIGHT, None, 1], tf.float32),
            tf.TensorSpec([None, 2], tf.int64),
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([2], tf.int64),
        ]
    )
    def train_step(images, indices, values, shape):
        labels = tf.SparseTensor(indices, values, shape)
        with tf.GradientTape() as tape:
            logits = model(images, training=True)
            steps = tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1])
            loss = tf.reduce_mean(tf.nn.ctc_loss(labels, logits, None, steps, logits_time_major=False, blank_index=0))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    def save(tag: str) -> None:
        model.save_weights(out / WEIGHTS_FILE)
        print(f"saved weights ({tag})", flush=True)

    started = time.monotonic()
    losses: list[float] = []
    history = []
    step = 0
    lines_seen = 0
    while step < config.steps:
        elapsed = time.monotonic() - started
        progress = max(step / config.steps, elapsed / config.max_seconds)
        if progress >= 1.0:
            break
        if step < config.warmup_steps:
            rate = config.learning_rate * (step + 1) / config.warmup_steps
        else:
            rate = config.learning_rate * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))
        optimizer.learning_rate.assign(rate)
        if config.curriculum_share > 0:  # batches already queued lag by a few steps
            renderer.difficulty = min(1.0, progress / config.curriculum_share)
        images, _widths, labels = next(stream)
        indices = np.array([[b, t] for b, label in enumerate(labels) for t in range(len(label))], np.int64)
        values = np.array([c for label in labels for c in label], np.int32)
        shape = np.array([len(labels), max(len(label) for label in labels)], np.int64)
        loss = float(train_step(images, indices, values, shape))
        losses.append(loss)
        lines_seen += len(labels)
        step += 1
        if step % config.log_every == 0:
            mean = float(np.mean(losses[-config.log_every :]))
            history.append({"step": step, "loss": round(mean, 4), "seconds": round(time.monotonic() - started)})
            print(f"step {step} loss {mean:.3f} lr {rate:.2e} {time.monotonic() - started:.0f}s", flush=True)
        if step % 1000 == 0:
            save(f"step {step}")
    seconds = time.monotonic() - started
    save("final")

    card = {
        "name": "crnn-lab-report-lines",
        "version": f"crnn-{time.strftime('%Y%m%d')}-s{config.seed}-{step}",
        "architecture": "CNN (6 conv blocks) + 2 x BiLSTM (CNN features concatenated to their output) + CTC, input height 32, variable width, 4 px per time step",
        "model": dataclasses.asdict(config.model),
        "charset_size": len(codec.chars),
        "training": {
            "command": command,
            "steps": step,
            "batch_size": config.batch_size,
            "lines_seen": lines_seen,
            "seconds": round(seconds),
            "seed": config.seed,
            "initialised_from": str(init) if init else None,
            "threads": "1 intra-op, 1 inter-op",
            "machine": platform.processor() or platform.machine(),
            "loss_history": history[-20:],
        },
        "data": {
            "kind": "synthetic text lines rendered with Pillow, no real images",
            "fonts": [Path(path).name + f"#{index}" for path, index, _ in renderer.fonts],
            "text": "lab item names (CBC and other panels), values, units, ranges, flags, header fields, dates, codes, "
            "jieba-dictionary words and uniform charset characters, runs of 2-3 table cells",
            "augmentation": "font size 11-44 px, low-resolution upscaling, band padding, blur, shading, noise, JPEG, "
            "rotation up to 1.5 degrees, neighbour lines, table rules, Otsu binarisation, erosion/dilation",
        },
    }
    (out / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    metrics = evaluate_dir(out, config.eval_lines, config.eval_seed)
    card["evaluation"] = {k: v for k, v in metrics.items() if k != "examples"}
    (out / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    return metrics


def evaluate_dir(model_dir: str | Path, count: int = 1000, seed: int = TrainConfig.eval_seed) -> dict:
    recogniser = Recogniser(model_dir)
    renderer = LineRenderer(recogniser.codec)
    lines = held_out_lines(renderer, count, seed)
    metrics = evaluate_recogniser(recogniser, lines)
    metrics["held_out"] = {"lines": count, "seed": seed}
    return metrics


def main_command() -> str:
    return "python -m ml.ocr.crnn " + " ".join(sys.argv[1:])
