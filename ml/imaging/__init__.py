"""Chest X-ray imaging: reading (DICOM/PNG/JPEG), preprocessing, a synthetic phantom
generator, an anchor-free detector, a classifier with a self-supervised backbone,
Grad-CAM and a similar-study index. No Django here."""
