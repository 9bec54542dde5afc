"""Keras 3 models: a small CPU backbone, an anchor-free single-stage detector
(YOLOv8-style decoupled outputs: box distances, objectness, class), an image
classifier on the same backbone, and the masked autoencoder that pre-trains it."""

from __future__ import annotations

from .config import BackboneConfig, ClassifierConfig, DetectorConfig


def _conv(x, filters, stride, name):
    import keras
    from keras import layers

    x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_conv",
                      kernel_initializer=keras.initializers.HeNormal(seed=1))(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("silu", name=f"{name}_act")(x)


def build_backbone(config: BackboneConfig = BackboneConfig()):
    """Five stride-2 stages with one extra 3x3 conv each; outputs strides 8, 16, 32."""
    import keras

    inputs = keras.Input((None, None, config.input_channels), name="image")
    x, outputs = inputs, []
    for stage, width in enumerate(config.widths):
        x = _conv(x, width, 2, f"stage{stage}_down")
        x = _conv(x, width, 1, f"stage{stage}_mix")
        if stage >= 2:
            outputs.append(x)
    return keras.Model(inputs, outputs, name="backbone")


def build_detector(config: DetectorConfig = DetectorConfig(), backbone=None):
    """Output (B, H/8, W/8, 4 + 1 + C): raw box distances (l, t, r, b), objectness and
    class logits per cell. A small top-down path brings stride-32 context to stride 8."""
    import keras
    from keras import layers

    backbone = backbone or build_backbone(config.backbone)
    inputs = keras.Input((None, None, 1), name="image")
    f8, f16, f32 = backbone(inputs)
    p = layers.Conv2D(64, 1, name="lateral32")(f32)
    p = layers.UpSampling2D(name="up32")(p)
    p = layers.Add(name="merge16")([p, layers.Conv2D(64, 1, name="lateral16")(f16)])
    p = layers.UpSampling2D(name="up16")(p)
    p = layers.Add(name="merge8")([p, layers.Conv2D(64, 1, name="lateral8")(f8)])
    p = _conv(p, 64, 1, "neck")
    box = layers.Conv2D(4, 1, name="box")(_conv(p, 48, 1, "box_branch"))
    cls_branch = _conv(p, 48, 1, "cls_branch")
    objectness = layers.Conv2D(1, 1, name="objectness",
                               bias_initializer=keras.initializers.Constant(-4.0))(cls_branch)
    classes = layers.Conv2D(len(config.classes), 1, name="classes")(cls_branch)
    outputs = layers.Concatenate(name="detections")([box, objectness, classes])
    return keras.Model(inputs, outputs, name="detector")


def build_classifier(config: ClassifierConfig = ClassifierConfig(), backbone=None):
    """Backbone -> global average pool -> one sigmoid: probability of `labels[1]`."""
    import keras
    from keras import layers

    backbone = backbone or build_backbone(config.backbone)
    inputs = keras.Input((None, None, 1), name="image")
    features = backbone(inputs)[-1]
    pooled = layers.GlobalAveragePooling2D(name="pool")(features)
    dropped = layers.Dropout(0.3, name="dropout")(pooled)
    output = layers.Dense(1, activation="sigmoid", name="probability")(dropped)
    return keras.Model(inputs, output, name="classifier")


def build_autoencoder(backbone):
    """Masked autoencoder for self-supervised pre-training: the backbone sees an image
    with random patches blanked and the decoder redraws the whole image, so the
    backbone has to learn chest anatomy and texture."""
    import keras
    from keras import layers

    inputs = keras.Input((None, None, 1), name="masked")
    x = backbone(inputs)[-1]
    for step, width in enumerate((64, 48, 32, 16, 16)):
        x = layers.UpSampling2D(name=f"decode{step}_up")(x)
        x = _conv(x, width, 1, f"decode{step}")
    output = layers.Conv2D(1, 1, activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, output, name="autoencoder")
