#!/bin/bash
# Retrains the shipped NER default model (docs/nlp.md, "The shipped default"):
#   1. the recipe on the 70/30 split: three members (seeds 42-44), one ensemble, scored on dev;
#   2. the same recipe on every CCKS record: three members, one ensemble written to
#      ml/ner/default_model, its card carrying step 1's dev scores as the recipe's estimate.
# Two trainings run at a time, one thread each. Usage:
#   scripts/train_ner_default.sh CCKS_DIR CMEEE_DIR [OUT]      (OUT defaults to ml/ner/default_model)
set -euo pipefail
CCKS=${1:?usage: $0 CCKS_DIR CMEEE_DIR [OUT]}
CMEEE=${2:?usage: $0 CCKS_DIR CMEEE_DIR [OUT]}
OUT=${3:-ml/ner/default_model}
PY=${PY:-.venv/bin/python}
WORK=var/ner/default
mkdir -p "$WORK"
RECIPE="--data $CCKS --cmeee $CMEEE --model cnn_crf --lexicon cmekg --dilated --multitask 4000 --swa-start 2 --max-epochs 8 --keep final --max-minutes 40 --threads 1"
started=$(date +%s)

members() {  # members SUFFIX EMBEDDINGS EXTRA...: three seeds, two at a time
  local suffix=$1 vectors=$2; shift 2
  printf '%s\n' 42 43 44 | xargs -P 2 -I{} sh -c "$PY -m ml.ner train $RECIPE --embeddings $vectors --seed {} $* --out $WORK/$suffix-{} > $WORK/$suffix-{}.log 2>&1"
}

$PY -m ml.ner embeddings --data "$CCKS" --cmeee "$CMEEE" --out $WORK/emb.npz
$PY -m ml.ner embeddings --data "$CCKS" --cmeee "$CMEEE" --dev-fraction 0 --out $WORK/emb_full.npz
members split $WORK/emb.npz
$PY -m ml.ner ensemble --members $WORK/split-42 $WORK/split-43 $WORK/split-44 --data "$CCKS" --out $WORK/split-ensemble
members full $WORK/emb_full.npz --dev-fraction 0
$PY -m ml.ner ensemble --members $WORK/full-42 $WORK/full-43 $WORK/full-44 --data "$CCKS" --out "$OUT" --estimate-from $WORK/split-ensemble
echo "{\"out\": \"$OUT\", \"minutes\": $(( ($(date +%s) - started) / 60 ))}"
