/* test_crc32c — specification of common/crc32c.{h,c}.
 *
 * CRC-32C (Castagnoli) as iSCSI defines it: the published check value of "123456789"
 * and the RFC 3720 appendix B.4 vectors. The hardware and portable paths agree on
 * every length and alignment, and extending a CRC piecewise equals the CRC of the
 * whole, whatever the split.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "crc32c.h"

typedef struct {
    const char *name;
    uint8_t data[64];
    size_t len;
    uint32_t crc;
} vector_t;

/* RFC 3720 B.4 lists the CRC bytes as stored little-endian: "aa 36 91 8a" is
 * 0x8A9136AA. */
static vector_t vectors[] = {
    {"empty", {0}, 0, 0x00000000},
    {"check value \"123456789\"", "123456789", 9, 0xE3069283},
    {"RFC 3720: 32 bytes of zeros", {0}, 32, 0x8A9136AA},
    {"RFC 3720: 32 bytes of 0xff",
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     32,
     0x62A8AB43},
    {"RFC 3720: 32 incrementing bytes",
     {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
      16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31},
     32,
     0x46DD794E},
    {"RFC 3720: 32 decrementing bytes",
     {31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
      15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0},
     32,
     0x113FDB5C},
    {"RFC 3720: iSCSI SCSI Read (10) command PDU",
     {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
     48,
     0xD9963A56},
};

static void test_published_vectors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vector_t *v = &vectors[i];
        print_message("%s\n", v->name);
        assert_int_equal(crc32c(v->data, v->len), v->crc);
        assert_int_equal(crc32c_extend_portable(0, v->data, v->len), v->crc);
    }
}

static void test_vectors_fed_byte_by_byte_and_split_everywhere(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        const vector_t *v = &vectors[i];
        uint32_t c = 0;
        for (size_t j = 0; j < v->len; j++) {
            c = crc32c_extend(c, v->data + j, 1);
        }
        assert_int_equal(c, v->crc);
        for (size_t cut = 0; cut <= v->len; cut++) {
            uint32_t a = crc32c(v->data, cut);
            assert_int_equal(crc32c_extend(a, v->data + cut, v->len - cut), v->crc);
        }
    }
}

static void test_hardware_and_portable_agree(void **state)
{
    (void)state;
    static uint8_t buf[4096 + 16];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    print_message("hardware CRC32C: %s\n", crc32c_hardware() ? "yes" : "no");
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len < 300; len++) {
            assert_int_equal(crc32c(buf + align, len), crc32c_extend_portable(0, buf + align, len));
        }
        assert_int_equal(crc32c(buf + align, 4096), crc32c_extend_portable(0, buf + align, 4096));
    }
}

static void test_detects_single_bit_flips(void **state)
{
    (void)state;
    uint8_t buf[1024];
    memset(buf, 0x5a, sizeof(buf));
    uint32_t good = crc32c(buf, sizeof(buf));
    for (size_t bit = 0; bit < sizeof(buf) * 8; bit += 7) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(crc32c(buf, sizeof(buf)), good);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(crc32c(buf, sizeof(buf)), good);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_vectors_fed_byte_by_byte_and_split_everywhere),
        cmocka_unit_test(test_hardware_and_portable_agree),
        cmocka_unit_test(test_detects_single_bit_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
