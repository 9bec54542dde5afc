"""Chinese clinical named-entity recognition for the six CCKS 2019 types (no Django).

- `ml.ner.data`: CCKS 2019 and CMeEE loaders, the seeded 70/30 split.
- `ml.ner.windows`: cutting long records into windows that never cut a gold entity.
- `ml.ner.tagging`: BIO/BIOES encoding and decoding.
- `ml.ner.features`: character, bigram, jieba word and lexicon features.
- `ml.ner.crf`: the linear-chain CRF (forward algorithm, Viterbi) in TensorFlow.
- `ml.ner.model`: CNN, CNN+CRF, BiLSTM+CRF, BiLSTM+attention+CRF, BiLSTM+GCN+CRF.
- `ml.ner.train`, `ml.ner.evaluate`, `ml.ner.serving`; CLI in `python -m ml.ner`.
"""
