/* wire — the few protobuf wire-format primitives the hot paths write by hand.
 *
 * protobuf-c packs whole messages; the broker's publish and delivery paths instead
 * assemble a message from pieces that are already encoded (an envelope packed once,
 * reused for the log record and every Deliver), which protobuf allows because a
 * message is just its fields concatenated. These helpers write one field key or one
 * varint; what they produce is decoded by protobuf-c like any packed message, and the
 * tests compare it byte for byte with protobuf-c's own packing.
 */
#ifndef ENLACE_WIRE_H
#define ENLACE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_VARINT 0 /* wire type of int/uint/bool/enum fields */
#define WIRE_LEN 2    /* wire type of bytes/string/message fields */
#define WIRE_VARINT_MAX 10

/* Big-endian 32-bit integers: the length prefix of a wire frame (codec.h) and the length
 * and CRC of a log frame (log_segment.h). */
static inline void wire_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline uint32_t wire_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writes v as a varint at p; returns the number of bytes (1..10). */
static inline size_t wire_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Bytes wire_varint would write for v. */
static inline size_t wire_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes the key of field `field` with wire type `type`; returns its length. */
static inline size_t wire_key(uint8_t *p, uint32_t field, unsigned type)
{
    return wire_varint(p, ((uint64_t)field << 3) | type);
}

/* Writes a varint field (key + value); returns its length. */
static inline size_t wire_uint_field(uint8_t *p, uint32_t field, uint64_t v)
{
    size_t n = wire_key(p, field, WIRE_VARINT);
    return n + wire_varint(p + n, v);
}

/* Writes the key and length of a length-delimited field whose `len` bytes follow. */
static inline size_t wire_len_prefix(uint8_t *p, uint32_t field, size_t len)
{
    size_t n = wire_key(p, field, WIRE_LEN);
    return n + wire_varint(p + n, len);
}

#endif
