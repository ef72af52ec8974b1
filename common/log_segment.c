/* log_segment — segment names, frame reading and the verifier's scan (see log_segment.h). */
#include "log_segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "wire.h"

/* Reads are done in blocks of this size (a frame larger than it grows the buffer). */
#define READ_BLOCK (1u << 20)
/* A live reader's re-reads of a damaged frame: after 1, 2, 4, ... ms, this many times
 * (255 ms in all: a writer's pwrite into the page cache takes microseconds, but the
 * writer thread can be descheduled in the middle of one). */
#define LIVE_RETRIES 8

void log_segment_name(uint64_t first_seq, char name[LOG_SEGMENT_NAME_MAX])
{
    snprintf(name, LOG_SEGMENT_NAME_MAX, "seg-%020" PRIu64 ".log", first_seq);
}

bool log_segment_parse_name(const char *name, uint64_t *first_seq)
{
    if (strlen(name) != LOG_SEGMENT_NAME_MAX - 1 || strncmp(name, "seg-", 4) != 0 ||
        strcmp(name + 24, ".log") != 0) {
        return false;
    }
    uint64_t v = 0;
    for (int i = 4; i < 24; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return false;
        }
        unsigned d = (unsigned)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *first_seq = v;
    return true;
}

void log_frame_header(uint8_t hdr[LOG_FRAME_HEADER], const uint8_t *record, uint32_t len)
{
    wire_put_be32(hdr, len);
    wire_put_be32(hdr + 4, crc32c(record, len));
}

static int file_cmp(const void *a, const void *b)
{
    const log_segment_file_t *x = a, *y = b;
    if (x->valid != y->valid) {
        return x->valid ? -1 : 1;
    }
    if (x->valid && x->first_seq != y->first_seq) {
        return x->first_seq < y->first_seq ? -1 : 1;
    }
    return strcmp(x->name, y->name);
}

enlace_err_t log_segment_list(const char *dir, log_segment_file_t **files, size_t *n)
{
    *files = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        return errno == ENOENT ? ENLACE_ERR_NOT_FOUND : ENLACE_ERR_IO;
    }
    log_segment_file_t *list = NULL;
    size_t count = 0, cap = 0;
    enlace_err_t rc = ENLACE_OK;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "seg-", 4) != 0) {
            continue;
        }
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            void *p = realloc(list, cap * sizeof(*list));
            if (p == NULL) {
                rc = ENLACE_ERR_NOMEM;
                goto done;
            }
            list = p;
        }
        log_segment_file_t *f = &list[count++];
        snprintf(f->name, sizeof(f->name), "%s", e->d_name);
        f->valid = log_segment_parse_name(e->d_name, &f->first_seq);
        if (!f->valid) {
            f->first_seq = 0;
        }
    }
    if (errno != 0) {
        rc = ENLACE_ERR_IO;
        goto done;
    }
    if (count > 0) {
        qsort(list, count, sizeof(*list), file_cmp);
    }
    *files = list;
    *n = count;
    list = NULL;
done:
    free(list);
    closedir(d);
    return rc;
}

bool log_segment_relist(const char *dir, uint64_t want, log_segment_file_t **files, size_t *n,
                        size_t *i)
{
    log_segment_file_t *again = NULL;
    size_t m = 0;
    if (log_segment_list(dir, &again, &m) != ENLACE_OK) {
        return false;
    }
    for (size_t k = 0; k < m && again[k].valid; k++) {
        if (again[k].first_seq == want) {
            free(*files);
            *files = again;
            *n = m;
            *i = k;
            return true;
        }
    }
    free(again);
    return false;
}

/* ---- frame reader ---------------------------------------------------------------------- */

struct log_frame_reader {
    int fd;           /* borrowed file descriptor */
    uint8_t *buf;     /* read buffer */
    size_t cap;       /* its capacity */
    size_t start;     /* first unconsumed byte in buf */
    size_t end;       /* end of valid bytes in buf */
    uint64_t buf_off; /* file offset of buf[0] */
    bool eof;         /* a read returned 0 */
    bool live;        /* re-read damaged frames (log_frame_reader_set_live) */
    uint8_t *scratch; /* READ_BLOCK bytes for looking ahead to the end of the file, or NULL */
};

log_frame_reader_t *log_frame_reader_new(int fd)
{
    log_frame_reader_t *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    r->buf = malloc(READ_BLOCK);
    if (r->buf == NULL) {
        free(r);
        return NULL;
    }
    r->cap = READ_BLOCK;
    r->fd = fd;
    return r;
}

void log_frame_reader_destroy(log_frame_reader_t **r)
{
    if (r == NULL || *r == NULL) {
        return;
    }
    free((*r)->buf);
    free((*r)->scratch);
    free(*r);
    *r = NULL;
}

void log_frame_reader_set_live(log_frame_reader_t *r, bool live)
{
    r->live = live;
}

/* Make at least `want` unconsumed bytes available, reading more if needed.
 * Returns 1 when they are there, 0 at end of file, -1 on error. */
static int fill(log_frame_reader_t *r, size_t want)
{
    while (r->end - r->start < want) {
        if (r->eof) {
            return 0;
        }
        if (r->start > 0) {
            /* Slide the unconsumed tail to the front before reading more. */
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->buf_off += r->start;
            r->end -= r->start;
            r->start = 0;
        }
        if (want > r->cap) {
            uint8_t *p = realloc(r->buf, want);
            if (p == NULL) {
                errno = ENOMEM;
                return -1;
            }
            r->buf = p;
            r->cap = want;
        }
        ssize_t got = pread(r->fd, r->buf + r->end, r->cap - r->end, (off_t)(r->buf_off + r->end));
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (got == 0) {
            r->eof = true;
        }
        r->end += (size_t)got;
    }
    return 1;
}

bool log_all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Are the unconsumed bytes and everything after them in the file zero?
 * Returns 1 yes, 0 no, -1 on a read error. The reader's position is unchanged. */
static int zeros_to_eof(log_frame_reader_t *r)
{
    if (!log_all_zero(r->buf + r->start, r->end - r->start)) {
        return 0;
    }
    if (r->eof) {
        return 1;
    }
    if (r->scratch == NULL && (r->scratch = malloc(READ_BLOCK)) == NULL) {
        errno = ENOMEM;
        return -1;
    }
    for (uint64_t off = r->buf_off + r->end;;) {
        ssize_t got = pread(r->fd, r->scratch, READ_BLOCK, (off_t)off);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return -1;
        }
        if (got == 0) {
            return 1;
        }
        if (!log_all_zero(r->scratch, (size_t)got)) {
            return 0;
        }
        off += (uint64_t)got;
    }
}

/* log_frame_next without the live re-reads. */
static log_frame_status_t next_frame(log_frame_reader_t *r, uint64_t *offset, const uint8_t **data,
                                     uint32_t *len)
{
    *data = NULL;
    *len = 0;
    *offset = r->buf_off + r->start;
    int f = fill(r, LOG_FRAME_HEADER);
    if (f < 0) {
        return LOG_FRAME_IO;
    }
    if (f == 0) {
        if (r->end == r->start) {
            return LOG_FRAME_END;
        }
        /* Fewer than 8 bytes left: a torn header, or the last bytes of a zero tail. */
        return log_all_zero(r->buf + r->start, r->end - r->start) ? LOG_FRAME_ZERO_TAIL
                                                                  : LOG_FRAME_SHORT;
    }
    *offset = r->buf_off + r->start;
    uint32_t n = wire_get_be32(r->buf + r->start);
    uint32_t crc = wire_get_be32(r->buf + r->start + 4);
    *len = n;
    if (n == 0 && crc == 0) {
        f = zeros_to_eof(r);
        if (f < 0) {
            return LOG_FRAME_IO;
        }
        if (f == 1) {
            return LOG_FRAME_ZERO_TAIL;
        }
    }
    if (n == 0 || n > LOG_MAX_RECORD) {
        return LOG_FRAME_BAD_LENGTH;
    }
    f = fill(r, LOG_FRAME_HEADER + (size_t)n);
    if (f < 0) {
        return LOG_FRAME_IO;
    }
    *offset = r->buf_off + r->start; /* fill may have slid the buffer */
    if (f == 0) {
        return LOG_FRAME_SHORT;
    }
    *data = r->buf + r->start + LOG_FRAME_HEADER;
    r->start += LOG_FRAME_HEADER + (size_t)n;
    return crc32c(*data, n) == crc ? LOG_FRAME_OK : LOG_FRAME_BAD_CRC;
}

log_frame_status_t log_frame_next(log_frame_reader_t *r, uint64_t *offset, const uint8_t **data,
                                  uint32_t *len)
{
    log_frame_status_t st = next_frame(r, offset, data, len);
    long delay_ms = 1;
    for (int i = 0; r->live && (st == LOG_FRAME_BAD_CRC || st == LOG_FRAME_BAD_LENGTH); i++) {
        if (i == LIVE_RETRIES) {
            r->live = false; /* real damage: do not wait on every damaged frame */
            break;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = delay_ms * 1000000};
        nanosleep(&ts, NULL);
        delay_ms *= 2;
        /* Forget what was read and read the frame again from the file. */
        uint64_t at = *offset;
        r->buf_off = at;
        r->start = r->end = 0;
        r->eof = false;
        st = next_frame(r, offset, data, len);
    }
    return st;
}

uint64_t log_frame_position(const log_frame_reader_t *r)
{
    return r->buf_off + r->start;
}

enlace_err_t log_segment_data_size(int fd, uint64_t *size)
{
    *size = 0;
    log_frame_reader_t *r = log_frame_reader_new(fd);
    if (r == NULL) {
        return ENLACE_ERR_NOMEM;
    }
    enlace_err_t rc = ENLACE_OK;
    for (;;) {
        uint64_t off;
        const uint8_t *data;
        uint32_t len;
        log_frame_status_t st = log_frame_next(r, &off, &data, &len);
        if (st == LOG_FRAME_OK || st == LOG_FRAME_BAD_CRC) {
            continue;
        }
        if (st == LOG_FRAME_IO) {
            rc = errno == ENOMEM ? ENLACE_ERR_NOMEM : ENLACE_ERR_IO;
        } else {
            *size = off;
        }
        break;
    }
    log_frame_reader_destroy(&r);
    return rc;
}

enlace_err_t log_record_unpack(const uint8_t *data, size_t len, Enlace__Record **rec)
{
    ProtobufCMessage *m = NULL;
    *rec = NULL;
    enlace_err_t rc =
        codec_unpack(&enlace__record__descriptor, data, len, codec_default_budget(len), &m);
    if (rc == ENLACE_OK) {
        *rec = (Enlace__Record *)m;
    }
    return rc;
}

/* ---- scan ------------------------------------------------------------------------------- */

const char *log_scan_issue_str(log_scan_issue_t issue)
{
    switch (issue) {
    case LOG_SCAN_BAD_NAME: return "bad-name";
    case LOG_SCAN_SEGMENT_GAP: return "segment-gap";
    case LOG_SCAN_SHORT: return "short-frame";
    case LOG_SCAN_BAD_LENGTH: return "bad-length";
    case LOG_SCAN_BAD_CRC: return "bad-crc";
    case LOG_SCAN_UNDECODABLE: return "undecodable";
    case LOG_SCAN_SEQ_MISMATCH: return "seq-mismatch";
    case LOG_SCAN_IO: return "io-error";
    case LOG_SCAN_EMPTY_SEGMENT: return "empty-segment";
    case LOG_SCAN_ZERO_TAIL: return "zero-tail";
    }
    return "unknown";
}

/* State of one log_scan call. */
typedef struct {
    log_scan_problem_fn on_problem; /* problem callback, may be NULL */
    void *user;                     /* callback argument */
    log_scan_report_t rep;          /* running totals */
} scan_t;

static void problem(scan_t *s, log_scan_issue_t issue, const char *segment, uint64_t offset,
                    uint64_t found, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void problem(scan_t *s, log_scan_issue_t issue, const char *segment, uint64_t offset,
                    uint64_t found, const char *fmt, ...)
{
    char detail[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    s->rep.problems++;
    if (s->on_problem != NULL) {
        log_scan_problem_t p = {.issue = issue,
                                .segment = segment,
                                .offset = offset,
                                .expected_seq = s->rep.next_seq,
                                .found_seq = found,
                                .detail = detail};
        s->on_problem(&p, s->user);
    }
}

/* Scan one segment file. Returns ENLACE_OK or what on_record returned / NOMEM. */
static enlace_err_t scan_segment(scan_t *s, int dfd, const log_segment_file_t *f, bool last,
                                 log_scan_record_fn on_record)
{
    enlace_err_t rc = ENLACE_OK;
    log_frame_reader_t *r = NULL;
    int fd = openat(dfd, f->name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        problem(s, LOG_SCAN_IO, f->name, 0, 0, "cannot open: %s", strerror(errno));
        return ENLACE_OK;
    }
    r = log_frame_reader_new(fd);
    if (r == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto done;
    }
    s->rep.segments++;
    /* The last segment may be the one a writer is filling. */
    log_frame_reader_set_live(r, last);
    uint64_t in_segment = 0;
    for (;;) {
        uint64_t off;
        const uint8_t *data;
        uint32_t len;
        log_frame_status_t st = log_frame_next(r, &off, &data, &len);
        if (st == LOG_FRAME_END) {
            break;
        }
        if (st == LOG_FRAME_ZERO_TAIL) {
            struct stat sb;
            if (!last) {
                problem(s, LOG_SCAN_ZERO_TAIL, f->name, off, 0,
                        "the segment ends in %" PRIu64 " zero bytes from offset %" PRIu64
                        " (a zero tail) but is not the last segment",
                        fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > off
                            ? (uint64_t)sb.st_size - off
                            : 0,
                        off);
            }
            break;
        }
        if (st == LOG_FRAME_IO) {
            problem(s, LOG_SCAN_IO, f->name, log_frame_position(r), 0, "read error: %s",
                    strerror(errno));
            break;
        }
        if (st == LOG_FRAME_SHORT) {
            problem(s, LOG_SCAN_SHORT, f->name, off, 0,
                    "file ends inside the frame at offset %" PRIu64 " (declared length %" PRIu32
                    "): torn tail of %s",
                    off, len, last ? "the last segment" : "a segment that is not the last");
            break;
        }
        if (st == LOG_FRAME_BAD_LENGTH && len == 0) {
            problem(s, LOG_SCAN_BAD_LENGTH, f->name, off, 0,
                    "frame length 0 at offset %" PRIu64 ": zero bytes followed by other data "
                    "(not a zero tail); rest of segment unreadable",
                    off);
            break;
        }
        if (st == LOG_FRAME_BAD_LENGTH) {
            problem(s, LOG_SCAN_BAD_LENGTH, f->name, off, 0,
                    "frame length %" PRIu32 " at offset %" PRIu64
                    " is impossible; rest of segment unreadable",
                    len, off);
            break;
        }
        s->rep.bytes += LOG_FRAME_HEADER + (uint64_t)len;
        if (st == LOG_FRAME_BAD_CRC) {
            problem(s, LOG_SCAN_BAD_CRC, f->name, off, 0,
                    "CRC mismatch in the %" PRIu32 "-byte record at offset %" PRIu64
                    " (expected seq %" PRIu64 ")",
                    len, off, s->rep.next_seq);
            s->rep.next_seq++;
            in_segment++;
            continue;
        }
        Enlace__Record *rec = NULL;
        if (log_record_unpack(data, len, &rec) != ENLACE_OK) {
            problem(s, LOG_SCAN_UNDECODABLE, f->name, off, 0,
                    "record at offset %" PRIu64 " has a good CRC but is not an enlace.Record", off);
            s->rep.next_seq++;
            in_segment++;
            continue;
        }
        if (rec->seq != s->rep.next_seq) {
            problem(s, LOG_SCAN_SEQ_MISMATCH, f->name, off, rec->seq,
                    "record at offset %" PRIu64 " has seq %" PRIu64 ", expected %" PRIu64, off,
                    rec->seq, s->rep.next_seq);
            s->rep.next_seq = rec->seq;
        }
        log_scan_entry_t e = {.index = s->rep.records,
                              .seq = rec->seq,
                              .data = data,
                              .len = len,
                              .rec = rec,
                              .segment = f->name,
                              .offset = off};
        s->rep.records++;
        s->rep.next_seq = rec->seq + 1;
        in_segment++;
        if (on_record != NULL) {
            rc = on_record(&e, s->user);
        }
        codec_free((ProtobufCMessage **)&rec);
        if (rc != ENLACE_OK) {
            goto done;
        }
    }
    if (in_segment == 0 && !last) {
        problem(s, LOG_SCAN_EMPTY_SEGMENT, f->name, 0, 0,
                "segment holds no record but is not the last");
    }
done:
    log_frame_reader_destroy(&r);
    close(fd);
    return rc;
}

enlace_err_t log_scan(const char *dir, log_scan_record_fn on_record, log_scan_problem_fn on_problem,
                      void *user, log_scan_report_t *report)
{
    scan_t s = {.on_problem = on_problem, .user = user};
    log_segment_file_t *files = NULL;
    size_t n = 0;
    int dfd = -1;
    enlace_err_t rc = log_segment_list(dir, &files, &n);
    if (rc != ENLACE_OK) {
        goto done;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = ENLACE_ERR_IO;
        goto done;
    }
    size_t n_valid = 0;
    while (n_valid < n && files[n_valid].valid) {
        n_valid++;
    }
    for (size_t i = n_valid; i < n; i++) {
        problem(&s, LOG_SCAN_BAD_NAME, files[i].name, 0, 0,
                "file name is not seg-<20 digits>.log; not read");
    }
    for (size_t i = 0; i < n_valid; i++) {
        if (files[i].first_seq > s.rep.next_seq &&
            log_segment_relist(dir, s.rep.next_seq, &files, &n, &i)) {
            /* A segment created while we listed: the new listing has it at i. */
            for (n_valid = 0; n_valid < n && files[n_valid].valid;) {
                n_valid++;
            }
        }
        if (files[i].first_seq != s.rep.next_seq) {
            problem(&s, LOG_SCAN_SEGMENT_GAP, files[i].name, 0, files[i].first_seq,
                    "segment starts at seq %" PRIu64 " but seq %" PRIu64 " was expected",
                    files[i].first_seq, s.rep.next_seq);
            s.rep.next_seq = files[i].first_seq;
        }
        rc = scan_segment(&s, dfd, &files[i], i + 1 == n_valid, on_record);
        if (rc != ENLACE_OK) {
            goto done;
        }
    }
done:
    if (dfd >= 0) {
        close(dfd);
    }
    free(files);
    if (report != NULL) {
        *report = s.rep;
    }
    return rc;
}
