"""NER inference speed on ONE CPU core: characters per second in batch, and the
p95 latency of tagging one 500-character record.

    .venv/bin/python bench/ner_speed.py [--model DIR] [--data CCKS_DIR] [--runs 200] [--records 300]

Without --data the batch is made of clinical sentences written here (no data set
needed); with it, the CCKS records themselves. Targets: >= 20,000 chars/s and
p95 < 100 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OMP_NUM_THREADS", "1")  # a --context model's encoder runs on the same one core
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SENTENCES = [
    "患者3月前因直肠癌于我院行直肠癌根治术，术后给予奥沙利铂联合卡培他滨化疗6周期。",
    "腹部CT示肝脏多发占位，考虑肝转移瘤，胸部CT未见明显异常。",
    "查血常规：白细胞计数12.5×10^9/L，中性粒细胞百分比85%，予头孢曲松抗感染治疗。",
    "行胸腔镜下右肺上叶切除术，术后病理示右肺上叶腺癌，淋巴结未见转移。",
    "患者胃癌术后半年，查血红蛋白偏低，予奥美拉唑护胃、蔗糖铁补铁治疗。",
    "入院后行胃镜检查，见胃窦溃疡，诊断为胃溃疡，幽门螺杆菌阳性。",
]


def synthetic_records(n: int, length: int = 450) -> list[str]:
    records, i = [], 0
    for _ in range(n):
        text = ""
        while len(text) < length:
            text += SENTENCES[i % len(SENTENCES)]
            i += 1
        records.append(text)
    return records


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", help="artifact directory (default: the shipped model)")
    parser.add_argument("--data", help="CCKS 2019 directory: tag its records instead of synthetic ones")
    parser.add_argument("--records", type=int, default=300)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    from ml.ner.serving import load_tagger
    from ml.ner.train import set_threads

    set_threads(1, 1)
    tagger = load_tagger(args.model, batch_size=64)
    if args.data:
        from ml.ner.data import load_ccks

        texts = [r.text for r in load_ccks(args.data)][: args.records]
    else:
        texts = synthetic_records(args.records)
    tagger.predict(texts[:64])  # trace the graph once
    forget = tagger.featurizer.context.cache.clear if tagger.featurizer.context else (lambda: None)
    forget()  # a --context model caches encoder states by window: every timed text is encoded afresh

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(on a shared machine the CPU-time figures are the ones that say what one core does)")
    characters = sum(len(t) for t in texts)
    wall, cpu = time.perf_counter(), time.process_time()
    tagger.predict(texts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"batch: {len(texts)} records, {characters} characters: {characters / wall:,.0f} chars/s wall-clock, "
          f"{characters / cpu:,.0f} chars per CPU-second (target >= 20,000)")

    record = synthetic_records(1, 500)[0][:500]
    walls, cpus = [], []
    for _ in range(args.runs):
        forget()
        wall, cpu = time.perf_counter(), time.process_time()
        tagger.predict([record])
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    for name, timings in (("wall-clock", walls), ("CPU time", cpus)):
        p95 = statistics.quantiles(timings, n=20)[-1]
        print(f"single 500-character record, {name}: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms "
              f"over {args.runs} runs (target p95 < 100 ms)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
