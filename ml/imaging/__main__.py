"""Command line for the imaging models.

    python -m ml.imaging train --data DIR --out DIR [--synthetic N] [--epochs E] [--pretrain-epochs E]
        pre-trains the backbone (masked autoencoder on every X-ray under DIR except the
        test split), trains the detector (phantoms + NIH train split) and the classifier
        (phantoms + NIH lung halves) with and without pre-training, calibrates thresholds
        on the validation split, writes OUT/{backbone,detector,classifier} with model cards
    python -m ml.imaging evaluate [--data DIR] [--detector DIR] [--classifier DIR] [--synthetic N]
        mAP@0.5 on fresh phantoms and on the NIH test split, AUROC of the classifier
    python -m ml.imaging predict IMAGE... [--detector DIR] [--classifier DIR]
        one JSON line per image: detections above the calibrated thresholds, probability
    python -m ml.imaging synth --out DIR [--count N] [--size S] [--seed S]
        writes phantom PNGs and their exact boxes (JSON)

Threads: one intra-op and one inter-op (the machine is shared); --threads to change.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _train(args) -> int:
    from .config import ClassifierConfig, DetectorConfig, TrainConfig
    from .data import all_xray_paths, load_display, synthetic_samples
    from .evaluate import (SYNTHETIC_TEST_SEED, classifier_auroc, detector_map, halves_dataset, real_splits,
                           synthetic_classification, classifier_scores)
    from .preprocess import prepare
    from .serving import LoadedClassifier, LoadedDetector, detect_prepared
    from .train import (calibrate_classifier_threshold, calibrate_detector_thresholds, pretrain_backbone,
                        save_artifact, train_classifier, train_detector)

    out = Path(args.out)
    detector_config, classifier_config = DetectorConfig(), ClassifierConfig()
    size = detector_config.image_size
    version = args.version or time.strftime("%Y.%m.%d")
    train_real, validation_real, test_real = real_splits(args.data, size, args.seed)
    test_names = {s.name for s in test_real}
    _log(f"NIH boxes: {len(train_real)} train, {len(validation_real)} validation, {len(test_real)} test images")

    pretrain_paths = [p for p in all_xray_paths(args.data) if p.name not in test_names]
    unlabelled = np.stack([prepare(load_display(p), args.pretrain_size)[0] for p in pretrain_paths])
    _log(f"pre-training on {len(unlabelled)} unlabelled X-rays at {args.pretrain_size} px")
    backbone = pretrain_backbone(unlabelled, config=detector_config,
                                 train=TrainConfig(epochs=args.pretrain_epochs, seed=args.seed), log=_log)
    backbone_path = out / "backbone"
    backbone_path.mkdir(parents=True, exist_ok=True)
    backbone.save_weights(backbone_path / "backbone.weights.h5")
    backbone_weights = str(backbone_path / "backbone.weights.h5")

    phantoms = synthetic_samples(args.synthetic, size, args.seed)
    detector = train_detector(phantoms + train_real, config=detector_config,
                              train=TrainConfig(epochs=args.epochs, seed=args.seed),
                              backbone_weights=backbone_weights, log=_log)
    loaded_detector = LoadedDetector(detector, detector_config, {})
    validation = validation_real + synthetic_samples(max(args.synthetic // 5, 10), size, args.seed + 1)
    found = []
    for sample in validation:
        found += detect_prepared(loaded_detector, sample.image[None], score_threshold=0.01)
    thresholds = calibrate_detector_thresholds(found, [(s.boxes, s.labels) for s in validation],
                                               detector_config.classes)
    synthetic_test = synthetic_samples(args.synthetic_test, size, SYNTHETIC_TEST_SEED)
    detector_metrics = {"synthetic": detector_map(loaded_detector, synthetic_test),
                        "nih_test": detector_map(loaded_detector, test_real)}
    _log(f"detector mAP@0.5 synthetic {detector_metrics['synthetic']['map50']:.3f}, "
         f"NIH test {detector_metrics['nih_test']['map50']:.3f}; thresholds {thresholds}")

    # Classifier: phantoms (whole) + NIH lung halves; trained twice to measure what pre-training buys.
    synth_images, synth_labels = synthetic_classification(args.synthetic, size, args.seed + 2)
    half_images, half_labels = halves_dataset(train_real)
    images = np.concatenate([synth_images, half_images])
    labels = np.concatenate([synth_labels, half_labels])
    val_images, val_labels = halves_dataset(validation_real)
    test_images, test_labels = halves_dataset(test_real)
    synth_test_images, synth_test_labels = synthetic_classification(args.synthetic_test, size, SYNTHETIC_TEST_SEED)
    comparison, classifiers = {}, {}
    for name, weights in (("pretrained", backbone_weights), ("from_scratch", None)):
        model = train_classifier(images, labels, config=classifier_config,
                                 train=TrainConfig(epochs=args.epochs, seed=args.seed), backbone_weights=weights,
                                 log=_log)
        loaded = LoadedClassifier(model, classifier_config, {})
        classifiers[name] = loaded
        comparison[name] = {"nih_halves_test_auroc": round(classifier_auroc(loaded, test_images, test_labels), 4),
                            "synthetic_test_auroc": round(classifier_auroc(loaded, synth_test_images,
                                                                           synth_test_labels), 4)}
        _log(f"classifier ({name}): {comparison[name]}")
    classifier = classifiers["pretrained"]
    lesion_threshold = calibrate_classifier_threshold(classifier_scores(classifier, val_images), val_labels)

    data_note = {"nih": f"{args.data}: NIH mass/nodule boxes, split seed {args.seed} (60/20/20 by image)",
                 "pretraining": f"{len(unlabelled)} X-rays under the data path, test split excluded",
                 "synthetic": f"{args.synthetic} phantoms (ml.imaging.synth), seed {args.seed}"}
    common = {"version": version, "framework": "keras 3", "seed": args.seed, "training_data": data_note,
              "epochs": args.epochs, "pretrain_epochs": args.pretrain_epochs,
              "limitations": "Tiny training set (30 NIH films, all with lesions, plus phantoms): "
                             "a demonstration model, not a clinical one. Every output is preliminary."}
    save_artifact(out / "detector", detector, "detector.weights.h5", {
        "name": "cxr-lesion-detector", "task": "imaging.detector", **common,
        "config": detector_config, "thresholds": thresholds, "metrics": detector_metrics,
        "calibration": "per-class F1-optimal score on the validation split (NIH validation + phantoms)"})
    save_artifact(out / "classifier", classifier.model, "classifier.weights.h5", {
        "name": "cxr-lesion-classifier", "task": "imaging.classifier", **common,
        "config": classifier_config, "thresholds": {"lesion": lesion_threshold},
        "metrics": comparison["pretrained"], "pretraining_comparison": comparison,
        "calibration": "Youden's J on the NIH validation halves"})
    print(json.dumps({"detector": detector_metrics, "thresholds": thresholds, "classifier": comparison,
                      "classifier_threshold": lesion_threshold}, indent=2, default=str))
    return 0


def _evaluate(args) -> int:
    from .evaluate import (SYNTHETIC_TEST_SEED, classifier_auroc, detector_map, halves_dataset, real_splits,
                           synthetic_classification)
    from .data import synthetic_samples
    from .serving import load_classifier, load_detector

    detector, classifier = load_detector(args.detector), load_classifier(args.classifier)
    size = detector.config.image_size
    report = {"detector": f"{detector.card['name']}:{detector.card['version']}",
              "classifier": f"{classifier.card['name']}:{classifier.card['version']}",
              "synthetic_map50": detector_map(detector, synthetic_samples(args.synthetic, size, SYNTHETIC_TEST_SEED))}
    images, labels = synthetic_classification(args.synthetic, size, SYNTHETIC_TEST_SEED)
    report["synthetic_auroc"] = round(classifier_auroc(classifier, images, labels), 4)
    if args.data:
        _train_split, _validation, test = real_splits(args.data, size, detector.card.get("seed", 7))
        report["nih_test_map50"] = detector_map(detector, test)
        images, labels = halves_dataset(test)
        report["nih_halves_test_auroc"] = round(classifier_auroc(classifier, images, labels), 4)
    print(json.dumps(report, indent=2, default=str))
    return 0


def _predict(args) -> int:
    from .errors import ImagingInputError
    from .reading import read_image
    from .serving import classify, detect, load_classifier, load_detector

    detector, classifier = load_detector(args.detector), load_classifier(args.classifier)
    status = 0
    for path in args.images:
        try:
            xray = read_image(Path(path).read_bytes())
        except (OSError, ImagingInputError) as error:
            print(json.dumps({"file": path, "error": getattr(error, "code", "unreadable_file"), "reason": str(error)}))
            status = 1
            continue
        image8 = xray.display()
        found = [d for d in detect(detector, image8)
                 if d.score >= detector.thresholds.get(detector.config.classes[d.label], 0.5)]
        result = classify(classifier, image8)
        print(json.dumps({"file": path, "width": xray.width, "height": xray.height, "kind": xray.kind,
                          "findings": [{"class": detector.config.classes[d.label], "confidence": round(d.score, 4),
                                        "box": [round(v, 1) for v in d.box]} for d in found],
                          "lesion_probability": round(result.probability, 4),
                          "models": [f"{detector.card['name']}:{detector.card['version']}",
                                     f"{classifier.card['name']}:{classifier.card['version']}"]}, ensure_ascii=False))
    return status


def _synth(args) -> int:
    import cv2

    from .config import CLASS_NAMES
    from .synth import phantom_set

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for index, item in enumerate(phantom_set(args.count, size=args.size, seed=args.seed)):
        cv2.imwrite(str(out / f"{index:04d}.png"), item.image)
        (out / f"{index:04d}.json").write_text(json.dumps({"boxes": item.boxes.round(2).tolist(),
                                                           "labels": [CLASS_NAMES[i] for i in item.labels]}))
    print(f"wrote {args.count} phantoms to {out}")
    return 0


def main(argv=None) -> int:
    from .serving import DEFAULT_CLASSIFIER, DEFAULT_DETECTOR

    parser = argparse.ArgumentParser(prog="python -m ml.imaging")
    parser.add_argument("--threads", type=int, default=1)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train")
    train.add_argument("--data", required=True, type=Path)
    train.add_argument("--out", required=True, type=Path)
    train.add_argument("--synthetic", type=int, default=240)
    train.add_argument("--synthetic-test", type=int, default=100)
    train.add_argument("--epochs", type=int, default=12)
    train.add_argument("--pretrain-epochs", type=int, default=15)
    train.add_argument("--pretrain-size", type=int, default=128)
    train.add_argument("--seed", type=int, default=7)
    train.add_argument("--version")
    evaluate = commands.add_parser("evaluate")
    evaluate.add_argument("--data", type=Path)
    evaluate.add_argument("--synthetic", type=int, default=100)
    predict = commands.add_parser("predict")
    predict.add_argument("images", nargs="+")
    for sub in (evaluate, predict):
        sub.add_argument("--detector", type=Path, default=DEFAULT_DETECTOR)
        sub.add_argument("--classifier", type=Path, default=DEFAULT_CLASSIFIER)
    synth = commands.add_parser("synth")
    synth.add_argument("--out", required=True, type=Path)
    synth.add_argument("--count", type=int, default=20)
    synth.add_argument("--size", type=int, default=256)
    synth.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command != "synth":
        from .train import limit_threads

        limit_threads(args.threads, 1)
    return {"train": _train, "evaluate": _evaluate, "predict": _predict, "synth": _synth}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
