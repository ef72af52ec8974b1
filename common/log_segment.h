/* log_segment — the on-disk format of audit-log segments, and a verifier's scan of them.
 *
 * A log directory holds segment files named "seg-<first seq, 20 decimal digits>.log"
 * (e.g. seg-00000000000000000000.log, then seg-00000000000000065536.log, ...). Each is a
 * plain sequence of frames with no file header:
 *     [u32 length, big endian][u32 CRC-32C of the record bytes, big endian][record]
 * `record` is a packed enlace.Record (proto/enlace.proto) of 1..LOG_MAX_RECORD bytes whose
 * `seq` field equals its position in the log (0-based, counting across segments), so a
 * segment's first record has the seq in the file name and the next segment starts where
 * this one ends. A zero length is never valid. The CRC catches torn writes and bit rot;
 * tampering is caught by the Merkle tree (merkle.h), whose leaf i is SHA-256(0x00 ||
 * record i).
 *
 * Zero tail: the LAST segment may end in zero bytes after its last frame: space the
 * writer allocated and zeroed in advance (log_store.h, "Prepared segments") and has not
 * reached yet. Where a frame would start, zero bytes (at least one) running to the end of
 * the file mark the end of the segment's data, not damage: a real frame header is never
 * all zero, as a record length of 0 is impossible. Zero bytes followed by anything else
 * are damage like any other (a frame length of 0). Every other segment ends exactly after
 * its last frame: a zero tail there is damage (the writer cuts it before it creates the
 * next segment).
 *
 * This module names segments, lists them, reads frames sequentially (log_frame_reader_t,
 * shared by the store's recovery and by log_scan) and offers log_scan(): a read-only pass
 * over a log directory for enlace-audit verify that trusts no index, checks every CRC,
 * length and sequence number, and reports each problem with its segment and byte offset.
 * Related: log_store.h (the writer and its recovery).
 */
#ifndef ENLACE_LOG_SEGMENT_H
#define ENLACE_LOG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "enlace.pb-c.h"
#include "enlace_err.h"

#define LOG_FRAME_HEADER 8
#define LOG_MAX_RECORD CODEC_MAX_RECORD
/* "seg-" + 20 digits + ".log" + NUL */
#define LOG_SEGMENT_NAME_MAX 29

/* name = "seg-%020" PRIu64 ".log" of first_seq; name has LOG_SEGMENT_NAME_MAX bytes. */
void log_segment_name(uint64_t first_seq, char name[LOG_SEGMENT_NAME_MAX]);

/* True when `name` is exactly a segment file name; *first_seq is then its first seq. */
bool log_segment_parse_name(const char *name, uint64_t *first_seq);

/* hdr = the 8-byte frame header of record[0..len): big-endian length and CRC-32C. */
/* True when the n bytes at p are all zero (a zero tail, a page never written). */
bool log_all_zero(const uint8_t *p, size_t n);

void log_frame_header(uint8_t hdr[LOG_FRAME_HEADER], const uint8_t *record, uint32_t len);

/* One entry of a directory listing. */
typedef struct {
    char name[256];     /* file name within the directory */
    uint64_t first_seq; /* from the name (valid entries only) */
    bool valid;         /* false: starts with "seg-" but is not a well-formed name */
} log_segment_file_t;

/* List the files of `dir` whose name starts with "seg-", valid names first in first_seq
 * order, then the malformed ones. *files is malloc'ed (caller frees; NULL when *n is 0).
 * Returns ENLACE_OK, ENLACE_ERR_NOT_FOUND (no such directory), ENLACE_ERR_IO or
 * ENLACE_ERR_NOMEM. */
enlace_err_t log_segment_list(const char *dir, log_segment_file_t **files, size_t *n);

/* readdir is not a snapshot: a listing taken while a writer creates segments may miss a
 * segment created during it yet show a later one. When a reader finds a gap before
 * (*files)[*i] (the segment starting at `want` is not listed), it calls this: the
 * directory is listed again and, if that segment is there now, *files and *n are
 * replaced by the new listing (the old one freed) and *i is set to its index.
 * Returns true when found; false leaves everything unchanged (a real gap). */
bool log_segment_relist(const char *dir, uint64_t want, log_segment_file_t **files, size_t *n,
                        size_t *i);

/* ---- sequential frame reader ----------------------------------------------------------- */

typedef enum {
    LOG_FRAME_OK = 0,     /* a frame with a good CRC */
    LOG_FRAME_END,        /* clean end of file, exactly after the last frame */
    LOG_FRAME_ZERO_TAIL,  /* only zero bytes from here to the end of the file (a zero tail:
                             the end of the data in a last segment, damage elsewhere) */
    LOG_FRAME_SHORT,      /* the file ends inside a header or a record */
    LOG_FRAME_BAD_LENGTH, /* length above LOG_MAX_RECORD, or 0 where not a zero tail */
    LOG_FRAME_BAD_CRC,    /* CRC mismatch; the reader moves past the frame */
    LOG_FRAME_IO,         /* read error (errno) */
} log_frame_status_t;

typedef struct log_frame_reader log_frame_reader_t;

/* A reader of the segment file open on `fd` (borrowed: not closed by the reader),
 * starting at offset 0. NULL when out of memory. */
log_frame_reader_t *log_frame_reader_new(int fd);
void log_frame_reader_destroy(log_frame_reader_t **r);

/* Mark the file as possibly being written while it is read: the last segment of a live
 * log, read without the writer's lock (read-only opens, log_scan). A writer filling a
 * zero tail copies each frame into space that already exists, so a reader can meet a
 * frame half copied, or zeros followed by data written after it looked. On BAD_CRC or
 * BAD_LENGTH a live reader reads the frame again a few times over about a quarter of a
 * second before it reports the damage; damage that stays (a damaged file) costs that
 * delay once per reader, as the reader then stops retrying. */
void log_frame_reader_set_live(log_frame_reader_t *r, bool live);

/* Read the next frame. *offset is the frame's byte offset in the file (for every status
 * but IO). On OK and BAD_CRC, *data and *len give the record bytes inside the reader's
 * buffer (valid until the next call) and the reader moves past the frame. ZERO_TAIL,
 * SHORT and BAD_LENGTH leave the reader where it is (the rest of the file cannot be
 * framed); *len is then the declared length (0 if the header itself is short, and for a
 * zero tail). Telling a zero tail from a zero header followed by data reads the file to
 * its end. */
log_frame_status_t log_frame_next(log_frame_reader_t *r, uint64_t *offset, const uint8_t **data,
                                  uint32_t *len);

/* Byte offset just after the last frame returned OK or BAD_CRC. */
uint64_t log_frame_position(const log_frame_reader_t *r);

/* Where the frames of the segment open on `fd` end: the end of the file, the start of a
 * zero tail, or the first frame that cannot be framed (SHORT or BAD_LENGTH; a frame with
 * a bad CRC is passed). This is the segment's data size, which its file size is not when
 * it has a zero tail (e.g. for progress totals, or to cut a zero tail off a copy). Reads
 * the whole file. Returns ENLACE_OK, ENLACE_ERR_IO or ENLACE_ERR_NOMEM. */
enlace_err_t log_segment_data_size(int fd, uint64_t *size);

/* Unpack a record's bytes (codec_unpack: bounded, not validated — a record the broker
 * wrote must stay readable even if later validation rules are stricter).
 * Returns what codec_unpack returns; free *rec with codec_free. */
enlace_err_t log_record_unpack(const uint8_t *data, size_t len, Enlace__Record **rec);

/* ---- verifier's scan ------------------------------------------------------------------ */

typedef enum {
    LOG_SCAN_BAD_NAME = 1,  /* a "seg-*" file whose name is malformed (skipped) */
    LOG_SCAN_SEGMENT_GAP,   /* a segment's name says it starts at another seq than expected */
    LOG_SCAN_SHORT,         /* a segment ends inside a frame (torn tail) */
    LOG_SCAN_BAD_LENGTH,    /* impossible frame length: the rest of the segment is skipped */
    LOG_SCAN_BAD_CRC,       /* CRC mismatch: the frame is skipped */
    LOG_SCAN_UNDECODABLE,   /* good CRC but not an enlace.Record */
    LOG_SCAN_SEQ_MISMATCH,  /* a record's seq is not the expected one */
    LOG_SCAN_IO,            /* a segment could not be opened or read */
    LOG_SCAN_EMPTY_SEGMENT, /* a segment other than the last holds no record */
    LOG_SCAN_ZERO_TAIL      /* a segment other than the last ends in a zero tail */
} log_scan_issue_t;

/* Stable lower-case name of an issue, e.g. "bad-crc". */
const char *log_scan_issue_str(log_scan_issue_t issue);

/* A record found by log_scan. Everything is borrowed for the duration of the callback. */
typedef struct {
    uint64_t index;            /* position in the scan: records delivered before it */
    uint64_t seq;              /* the record's own seq (== index in a sound log) */
    const uint8_t *data;       /* record bytes: the Merkle leaf is SHA-256(0x00||data) */
    size_t len;                /* their length */
    const Enlace__Record *rec; /* unpacked but NOT validated (validate_record if needed) */
    const char *segment;       /* segment file name */
    uint64_t offset;           /* byte offset of the frame in the segment */
} log_scan_entry_t;

/* A problem found by log_scan. Borrowed for the duration of the callback. */
typedef struct {
    log_scan_issue_t issue;
    const char *segment;   /* file name */
    uint64_t offset;       /* byte offset of the frame (or 0 for whole-file issues) */
    uint64_t expected_seq; /* the seq expected at this point */
    uint64_t found_seq;    /* the seq found (SEGMENT_GAP, SEQ_MISMATCH), else 0 */
    const char *detail;    /* human-readable sentence */
} log_scan_problem_t;

/* Per record; a non-OK return stops the scan and log_scan returns it. */
typedef enlace_err_t (*log_scan_record_fn)(const log_scan_entry_t *entry, void *user);
/* Per problem; may be NULL. */
typedef void (*log_scan_problem_fn)(const log_scan_problem_t *problem, void *user);

typedef struct {
    uint64_t segments; /* segment files read */
    uint64_t records;  /* records delivered to on_record */
    uint64_t bytes;    /* bytes read, frame headers included */
    uint64_t problems; /* problems reported */
    uint64_t next_seq; /* the seq expected after the last record */
} log_scan_report_t;

/* Read every segment of `dir` in order without any index or lock: check names, frame
 * lengths, CRCs, that records decode, and that seqs run 0, 1, 2, ... across segments.
 * A zero tail ends the last segment's data silently; in any other segment it is a
 * problem (ZERO_TAIL). The last segment is read as live (log_frame_reader_set_live).
 * After a problem the scan goes on where it can: a bad CRC skips one frame (its seq is
 * assumed to be the expected one), a bad length or short frame skips the rest of the
 * segment, a seq mismatch resynchronises on the seq found. on_record may be NULL.
 * On a live log (a broker still writing), read the checkpoint files first and scan
 * after: a torn tail may then be a write in progress, but no checkpoint read before the
 * scan can cover records the scan has not seen.
 * *report (may be NULL) is filled in either way.
 * Returns ENLACE_OK when the scan ran to the end (problems or not: see report->problems),
 * ENLACE_ERR_NOT_FOUND / ENLACE_ERR_IO when the directory cannot be listed,
 * ENLACE_ERR_NOMEM, or the first non-OK value returned by on_record. */
enlace_err_t log_scan(const char *dir, log_scan_record_fn on_record, log_scan_problem_fn on_problem,
                      void *user, log_scan_report_t *report);

#endif
