/* fuzz_record — codec_decode_record (unpack + validate_record) on arbitrary
 * bytes. A record that is accepted must pack, decode again and pack to the
 * same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Enlace__Record *r = NULL, *again = NULL;
    char why[256] = "";
    enlace_err_t rc = codec_decode_record(data, size, &r, why, sizeof(why));
    if (rc != ENLACE_OK) {
        if (r != NULL || why[0] == '\0')
            abort();
        return 0;
    }
    uint8_t *a, *b;
    size_t a_len, b_len;
    if (codec_pack(&r->base, &a, &a_len) != ENLACE_OK)
        abort();
    rc = codec_decode_record(a, a_len, &again, why, sizeof(why));
    if (rc == ENLACE_OK) {
        if (codec_pack(&again->base, &b, &b_len) != ENLACE_OK)
            abort();
        if (a_len != b_len || memcmp(a, b, a_len) != 0)
            abort();
        free(b);
        codec_free((ProtobufCMessage **)&again);
    } else if (rc != ENLACE_ERR_OVER_BUDGET) {
        abort();
    }
    free(a);
    codec_free((ProtobufCMessage **)&r);
    return 0;
}
