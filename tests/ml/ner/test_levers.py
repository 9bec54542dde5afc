"""The shippable levers: the typed PyCMeKG lexicon (read through a restricted
unpickler), pre-trained character/bigram vectors, dilated convolutions, weight
averaging and CMeEE multi-task training. A tiny hand-written graph stands in for
PyCMeKG, so the tests never need the installed 46 MB pickle."""

import json
import os
import pickle

import numpy as np
import pytest

from ml.cmekg import restricted_loads
from ml.ner import embeddings, knowledge

from .fixtures import write_ccks_dir, write_cmeee_dir

GRAPH = {
    "直肠癌": {"ICD10": ["C20"], "别称": ["直肠恶性肿瘤"], "常见症状": ["便血", "腹痛"], "常见发病部位": ["直肠"],
               "手术治疗": ["直肠癌根治术"], "影像学检查": ["腹部CT", "盆腔MRI"], "实验室检查": ["癌胚抗原"],
               "药物治疗": ["奥沙利铂"], "检查": ["肠镜检查"], "并发症": ["肠梗阻，出血"]},
    "注射用奥沙利铂": {"成份": ["奥沙利铂"], "适应症": ["结直肠癌"], "商品名": ["乐沙定"]},
    "卡培他滨片": {"成份": ["卡培他滨"], "不良反应": ["腹泻"]},
    "血清钠检查": {"所属分类": ["生化检查"], "相关疾病": ["低钠血症"]},
    "胸部CT检查": {"所属分类": ["计算机体层摄影CT检查"]},
    42: "not a subject",
}


def write_graph(path):
    path.write_bytes(pickle.dumps(GRAPH))
    return path


def test_the_graph_becomes_a_typed_lexicon():
    words = knowledge.lexicon_words(GRAPH)
    assert words["直肠癌"] == {"KDIS"} and "KDIS" in words["直肠恶性肿瘤"]
    assert words["便血"] == {"KSYM"}
    assert words["直肠"] == {"KANA"}
    assert words["直肠癌根治术"] == {"KOPE"}
    assert words["腹部ct"] == {"KIMA"} and words["盆腔mri"] == {"KIMA"}  # looked up normalised (lower case)
    assert words["胸部ct检查"] == {"KIMA"} and words["血清钠检查"] == {"KLAB"}
    assert words["癌胚抗原"] == {"KLAB"}
    assert words["肠镜检查"] == {"KEXA"}
    # drugs: subjects, ingredients, trade names, and the name without its dosage form
    for drug in ("奥沙利铂", "注射用奥沙利铂", "乐沙定", "卡培他滨片", "卡培他滨"):
        assert "KDRU" in words[drug], drug
    # lists glued with punctuation are not words
    assert not any("，" in w for w in words)


def test_a_tampered_graph_does_not_run_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": Evil()}))
    with pytest.raises(pickle.UnpicklingError):
        knowledge.load_graph(path)
    with pytest.raises(pickle.UnpicklingError):
        restricted_loads(pickle.dumps(np.zeros(2)))


def test_embeddings_are_pretrained_from_raw_text_and_initialise_layers():
    texts = ["患者行直肠癌根治术后化疗", "直肠癌术后予奥沙利铂化疗", "腹部ct示肝转移", "胸部ct未见异常"] * 20
    emb = embeddings.train_embeddings(texts, char_dim=8, bigram_dim=4)
    assert emb["char_vectors"].shape == (len(emb["chars"]), 8)
    assert emb["bigram_vectors"].shape == (len(emb["bigrams"]), 4)
    assert "直肠" in emb["bigrams"] and "癌" in emb["chars"]

    class Layer:
        weights = [np.zeros((6, 8), np.float32)]

        def get_weights(self):
            return [w.copy() for w in self.weights]

        def set_weights(self, weights):
            self.weights = weights

    from ml.ner.features import Vocab

    layer = Layer()
    assert embeddings.initialise(layer, Vocab(["癌", "不在"]), emb["chars"], emb["char_vectors"]) == 1
    assert np.any(layer.weights[0][2]) and not np.any(layer.weights[0][3])


@pytest.fixture(scope="module")
def leveraged(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from ml.ner.config import ModelConfig, TrainConfig
    from ml.ner.train import set_threads, train

    from tests.support.tiny_ner import TINY

    set_threads()
    root = tmp_path_factory.mktemp("levers")
    ccks, cmeee = write_ccks_dir(root / "ccks", repeat=5), write_cmeee_dir(root / "cmeee")
    graph = write_graph(root / "graph.pkl")
    vectors = root / "emb.npz"
    emb = embeddings.train_embeddings(embeddings.corpus(str(ccks), str(cmeee)), char_dim=TINY["char_dim"],
                                      bigram_dim=TINY["bigram_dim"])
    embeddings.save(vectors, emb)
    out = root / "model"
    card = train(str(ccks), str(out), ModelConfig(name="cnn_crf", lexicon="cmekg", dilated=True, **TINY),
                 TrainConfig(max_epochs=12, patience=12, learning_rate=0.02, batch_size=4, train_window=40, predict_window=40,
                             cmeee=str(cmeee), multitask=6, swa_start=8, knowledge_graph=str(graph),
                             embeddings=str(vectors)))
    return out, card


def test_every_lever_trains_exports_and_reloads(leveraged):
    from ml.ner.serving import load_tagger

    out, card = leveraged
    assert card["metrics"]["dev_strict"]["micro"]["f1"] > 0.5
    assert any("average_dev_f1" in h for h in card["history"])
    vocab = json.loads((out / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["lexicon"]["types"] == knowledge.TYPES
    assert "直肠癌根治术" in vocab["lexicon"]["words"]
    assert "MIT License" in (out / knowledge.LICENSE_NAME).read_text(encoding="utf-8")
    # the multi-task head is not part of the artifact: it reloads as a plain CNN-CRF
    tagger = load_tagger(out)
    assert [l.name for l in tagger.model.layers if l.name.startswith("aux")] == []
    text = "患者因直肠癌行直肠癌根治术。"
    for span in tagger.predict([text])[0]:
        assert 0 <= span.start < span.end <= len(text)
