/* fuzz_frame — the incremental frame decoder on arbitrary byte streams.
 *
 * Input: 2 bytes of parameters (chunking seed, max_frame choice), then the
 * stream. The stream is decoded twice, once in chunks of pseudo-random sizes
 * (1..64 bytes, sometimes the rest) and once whole; both passes must give the
 * same sequence of results. Every decoded frame must re-encode, decode again
 * and re-pack to the same bytes. Sanitizers catch memory errors and leaks.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Running digest of what a pass produced (FNV-1a over result fields). */
static void mix(uint64_t *h, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8) {
        *h ^= v & 0xff;
        *h *= 0x100000001b3ull;
    }
}

/* Re-encodes a decoded frame, decodes it again and checks it is the same. */
static void check_round_trip(const Enlace__Frame *f)
{
    uint8_t *wire, *a, *b;
    size_t wire_len, a_len, b_len, used;
    Enlace__Frame *g = NULL;
    if (codec_encode_frame(f, &wire, &wire_len) != ENLACE_OK)
        abort();
    codec_decoder_t *dec = codec_decoder_new(0);
    if (dec == NULL)
        abort();
    enlace_err_t rc = codec_decoder_next(dec, wire, wire_len, &used, &g, NULL, 0);
    /* re-encoding can only shrink the input (duplicates merged), so a
     * budget refusal is possible in theory; anything else is a bug */
    if (rc == ENLACE_OK) {
        if (codec_pack(&f->base, &a, &a_len) != ENLACE_OK ||
            codec_pack(&g->base, &b, &b_len) != ENLACE_OK)
            abort();
        if (a_len != b_len || memcmp(a, b, a_len) != 0)
            abort();
        free(a);
        free(b);
        codec_free((ProtobufCMessage **)&g);
    } else if (rc != ENLACE_ERR_OVER_BUDGET) {
        abort();
    }
    codec_decoder_destroy(&dec);
    free(wire);
}

/* Decodes the stream with chunk sizes from `seed` (0: whole). Returns the
 * digest of the results. */
static uint64_t run(const uint8_t *in, size_t len, size_t max_frame, uint32_t seed)
{
    uint64_t h = 0xcbf29ce484222325ull;
    uint32_t x = seed | 1;
    size_t off = 0, limit = (max_frame ? max_frame : CODEC_DEFAULT_MAX_FRAME) + 4;
    char why[256];
    codec_decoder_t *dec = codec_decoder_new(max_frame);
    if (dec == NULL)
        abort();
    while (off < len) {
        size_t n = len - off;
        if (seed != 0) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            if (x % 8 != 0 && n > 1 + x % 64)
                n = 1 + x % 64;
        }
        size_t pos = 0;
        enlace_err_t rc = ENLACE_OK;
        while (pos < n) {
            size_t used = 0;
            Enlace__Frame *f = NULL;
            rc = codec_decoder_next(dec, in + off + pos, n - pos, &used, &f, why, sizeof(why));
            if (used > n - pos || codec_decoder_pending(dec) > limit)
                abort();
            pos += used;
            if (rc == ENLACE_ERR_AGAIN) {
                if (pos != n)
                    abort();
                break;
            }
            mix(&h, (uint64_t)rc);
            mix(&h, off + pos); /* where in the stream it happened */
            if (rc != ENLACE_OK) {
                if (f != NULL || why[0] == '\0')
                    abort();
                /* terminal: the same error again, nothing taken */
                if (codec_decoder_next(dec, in, len, &used, &f, NULL, 0) != rc || used != 0)
                    abort();
                codec_decoder_destroy(&dec);
                return h;
            }
            mix(&h, (uint64_t)f->kind_case);
            check_round_trip(f);
            codec_free((ProtobufCMessage **)&f);
        }
        off += n;
    }
    mix(&h, codec_decoder_pending(dec));
    codec_decoder_destroy(&dec);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t seed = (uint32_t)data[0] | (uint32_t)data[1] << 8;
    /* mostly the default maximum; sometimes a small one to reach TOO_LARGE */
    size_t max_frame = (seed & 0x8000) ? 64 + (seed & 0x3ff) : 0;
    data += 2;
    size -= 2;
    uint64_t chunked = run(data, size, max_frame, seed | 0x10000);
    uint64_t whole = run(data, size, max_frame, 0);
    if (chunked != whole)
        abort();
    return 0;
}
