"""The entity types: CCKS 2019 (the product's six) and CMeEE (used for pre-training)."""

CCKS_TYPES = ("疾病和诊断", "手术", "药物", "解剖部位", "影像检查", "实验室检验")
CCKS_CODES = {"疾病和诊断": "DIS", "手术": "OPE", "药物": "DRU", "解剖部位": "ANA", "影像检查": "IMA", "实验室检验": "LAB"}
CCKS_NAMES = {code: name for name, code in CCKS_CODES.items()}

# CMeEE's nine types keep their own codes: they are a different label set, used
# to pre-train the encoder and as a typed lexicon, never mapped onto CCKS labels.
CMEEE_TYPES = ("dis", "sym", "pro", "equ", "dru", "ite", "bod", "dep", "mic")
CMEEE_CODES = {name: name.upper() for name in CMEEE_TYPES}
