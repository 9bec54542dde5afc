"""Grad-CAM (Selvaraju et al. 2017) for the classifier: the last backbone feature map
weighted by the pooled gradient of the predicted probability, ReLU, normalised."""

from __future__ import annotations

import numpy as np


def grad_cam(classifier, image: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """`image` (H, W, 1) float in [0, 1] -> (heatmap (H, W) float32 in [0, 1], probability,
    pooled backbone features). One forward pass serves the prediction, the heatmap and
    the embedding for similar-study search."""
    import cv2
    import tensorflow as tf

    backbone = classifier.get_layer("backbone")
    pool, dense = classifier.get_layer("pool"), classifier.get_layer("probability")
    batch = tf.convert_to_tensor(image[None].astype(np.float32))
    with tf.GradientTape() as tape:
        features = backbone(batch, training=False)[-1]
        tape.watch(features)
        pooled = pool(features)
        probability = dense(pooled)[:, 0]
    gradients = tape.gradient(probability, features)[0].numpy()
    weights = gradients.mean(axis=(0, 1))
    cam = np.maximum((features[0].numpy() * weights).sum(axis=-1), 0)
    if cam.max() > 0:
        cam = cam / cam.max()
    heatmap = cv2.resize(cam.astype(np.float32), (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return heatmap, float(probability.numpy()[0]), pooled.numpy()[0]


def overlay_png(heatmap: np.ndarray) -> bytes:
    """Heatmap as an RGBA PNG (jet colours, alpha rising with the value) for the viewer to lay over the image."""
    import cv2

    values = (np.clip(heatmap, 0, 1) * 255).astype(np.uint8)
    colours = cv2.applyColorMap(values, cv2.COLORMAP_JET)
    alpha = (np.clip(heatmap, 0, 1) * 180).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", np.dstack([colours, alpha]))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return encoded.tobytes()
