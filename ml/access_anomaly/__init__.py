"""Unsupervised detection of unusual staff access: a small dense autoencoder over
per-user daily access features. Users whose reconstruction error is far above
their peers' (same role) are flagged, with the features that drove the error.

No Django import: the compliance app adapts audit events into `AccessRecord`s."""
