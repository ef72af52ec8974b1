/* crc32c — CRC-32C (Castagnoli), the checksum of every audit-log record frame.
 *
 * The log frames each record as [u32 length][u32 crc32c][record] (log_segment.h); this
 * module computes that CRC. Polynomial 0x1EDC6F41 (reflected 0x82F63B78), initial value
 * and final XOR 0xFFFFFFFF, as in iSCSI (RFC 3720 appendix B.4), ext4, LevelDB and Kafka,
 * so any of their tools can check an Enlace segment. It detects torn writes and bit rot;
 * it is not a defence against tampering (the Merkle tree and signed checkpoints are).
 *
 * On x86-64 CPUs with SSE4.2 the CRC32 instruction is used (chosen once, at first call);
 * elsewhere a portable slicing-by-8 table. Both give identical results (tested).
 * All functions are thread safe and never fail.
 */
#ifndef ENLACE_CRC32C_H
#define ENLACE_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..len). data may be NULL when len is 0 (the CRC of nothing is 0).
 * Example: crc32c("123456789", 9) == 0xE3069283. */
uint32_t crc32c(const void *data, size_t len);

/* Continue a CRC over more bytes: crc32c_extend(crc32c(a, n), b, m) equals the CRC of
 * a followed by b. Start with crc = 0. */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t len);

/* The portable table implementation, whatever the CPU; for tests and benchmarks. */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t len);

/* True when crc32c()/crc32c_extend() use the CPU instruction. */
bool crc32c_hardware(void);

#endif
