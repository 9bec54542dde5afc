"""Hand-written records in the CCKS 2019 and CMeEE file formats (no real data)."""

import json
from pathlib import Path

CCKS_TEXTS = [
    ("患者3月前因直肠癌于我院行直肠癌根治术，术后给予奥沙利铂化疗。", [("直肠癌", "疾病和诊断"), ("直肠癌根治术", "手术"), ("奥沙利铂", "药物")]),
    ("腹部CT示肝脏多发占位，考虑肝转移瘤。", [("腹部CT", "影像检查"), ("肝脏", "解剖部位"), ("肝转移瘤", "疾病和诊断")]),
    ("查血常规：白细胞计数升高，予头孢曲松抗感染治疗。", [("白细胞计数", "实验室检验"), ("头孢曲松", "药物")]),
    ("胸部MRI提示右肺上叶结节，行胸腔镜下右肺上叶切除术。", [("胸部MRI", "影像检查"), ("右肺上叶", "解剖部位"), ("右肺上叶切除术", "手术")]),
    ("患者胃癌术后，查血红蛋白偏低，予奥美拉唑护胃。", [("胃癌", "疾病和诊断"), ("血红蛋白", "实验室检验"), ("奥美拉唑", "药物")]),
    ("入院后行胃镜检查，见胃窦溃疡，诊断为胃溃疡。", [("胃窦", "解剖部位"), ("胃溃疡", "疾病和诊断")]),
]
CMEEE_LINES = [
    "胃溃疡患者常有上腹痛。|||0    2    dis|||0    0    bod|||7    9    sym|||",
    "奥美拉唑可用于治疗胃溃疡。|||0    3    dru|||9    11    dis|||",
]


def spans_of(text: str, items) -> list[dict]:
    """Entities found by their first occurrence at or after the previous one."""
    entities, at = [], 0
    for surface, label in items:
        start = text.index(surface, at if text.find(surface, at) >= 0 else 0)
        entities.append({"label_type": label, "overlap": 0, "start_pos": start, "end_pos": start + len(surface)})
        at = start
    return entities


def ccks_lines(repeat: int = 1) -> list[str]:
    return [json.dumps({"originalText": t, "entities": spans_of(t, items)}, ensure_ascii=False)
            for _ in range(repeat) for t, items in CCKS_TEXTS]


def write_ccks_dir(root: Path, repeat: int = 4) -> Path:
    """Two files like the official ones: a BOM on both, CRLF line ends in part 2."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ccks_lines(repeat)
    half = len(lines) // 2
    (root / "subtask1_training_part1.txt").write_bytes(("\ufeff" + "\n".join(lines[:half]) + "\n").encode("utf-8"))
    (root / "subtask1_training_part2.txt").write_bytes(("\ufeff" + "\r\n".join(lines[half:]) + "\r\n").encode("utf-8"))
    return root


def write_cmeee_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "train_data.txt").write_text("\n".join(CMEEE_LINES * 3) + "\n", encoding="utf-8")
    return root
