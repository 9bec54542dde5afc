"""Clinical NLP settings: the NER algorithm task and automatic structuring."""

from django.utils.translation import gettext_lazy as _

from apps.configuration.algorithms import declare_algorithm_task
from apps.configuration.registry import declare

NER_TASK = declare_algorithm_task(
    "ner",
    implementations={"ml_ner": _("ml.ner tagger: a CNN or BiLSTM encoder with a CRF over characters, bigrams, "
                                 "jieba words and a medical lexicon")},
    default="ml_ner",
    description=_("Finds diseases, surgeries, drugs, anatomical sites, imaging and laboratory tests in clinical text."),
)
STRUCTURE_ENCOUNTERS = declare(
    "nlp.structure_encounters", "bool", default=True,
    description=_("Structure each encounter's clinical text into entities when it is recorded."))
