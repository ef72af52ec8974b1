/* log_history — checkpoint files of a log directory (see log_history.h). */
#include "log_history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"

#define SEP_LEN 2
/* Largest entry with its separator. */
#define ENTRY_MAX (CHECKPOINT_MAX_NOTE + SEP_LEN)

/* pread exactly len bytes at off (short only at end of file). Returns bytes read or -1. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

static enlace_err_t write_full(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return ENLACE_ERR_IO;
        }
        done += (size_t)n;
    }
    return ENLACE_OK;
}

/* Find the last "\f\n" in buf[0..len) starting before `before`; -1 when none. */
static long last_sep(const char *buf, size_t before)
{
    for (size_t i = before; i >= SEP_LEN; i--) {
        if (buf[i - 2] == '\f' && buf[i - 1] == '\n') {
            return (long)(i - 2);
        }
    }
    return -1;
}

enlace_err_t log_history_read_latest(int dfd, char **note)
{
    *note = NULL;
    int fd = openat(dfd, LOG_CHECKPOINT_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? ENLACE_ERR_NOT_FOUND : ENLACE_ERR_IO;
    }
    enlace_err_t rc = ENLACE_ERR_NOMEM;
    char *buf = malloc(CHECKPOINT_MAX_NOTE + 2);
    if (buf == NULL) {
        goto done;
    }
    ssize_t n = pread_full(fd, buf, CHECKPOINT_MAX_NOTE + 1, 0);
    if (n < 0) {
        rc = ENLACE_ERR_IO;
        goto done;
    }
    if (n > CHECKPOINT_MAX_NOTE || memchr(buf, '\0', (size_t)n) != NULL) {
        rc = ENLACE_ERR_CORRUPT;
        goto done;
    }
    buf[n] = '\0';
    *note = buf;
    buf = NULL;
    rc = ENLACE_OK;
done:
    free(buf);
    close(fd);
    return rc;
}

enlace_err_t log_history_read_last(int dfd, char **note, uint64_t *valid_len)
{
    *note = NULL;
    *valid_len = 0;
    int fd = openat(dfd, LOG_HISTORY_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? ENLACE_OK : ENLACE_ERR_IO;
    }
    enlace_err_t rc = ENLACE_ERR_IO;
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        goto done;
    }
    /* The last complete entry, the separator before it and a torn piece after it fit
     * in two entries' worth (plus a separator). */
    uint64_t size = (uint64_t)st.st_size;
    size_t window = size < 2 * ENTRY_MAX + 4 ? (size_t)size : 2 * ENTRY_MAX + 4;
    uint64_t start = size - window;
    buf = malloc(window + 1);
    if (buf == NULL) {
        rc = ENLACE_ERR_NOMEM;
        goto done;
    }
    ssize_t got = pread_full(fd, buf, window, (off_t)start);
    if (got != (ssize_t)window) {
        goto done;
    }
    long end = last_sep(buf, window);
    if (end < 0) {
        rc = start == 0 ? ENLACE_OK : ENLACE_ERR_CORRUPT;
        goto done;
    }
    long prev = last_sep(buf, (size_t)end);
    size_t from = prev < 0 ? 0 : (size_t)prev + SEP_LEN;
    if (prev < 0 && start != 0) {
        rc = ENLACE_ERR_CORRUPT; /* entry longer than a note may be */
        goto done;
    }
    size_t len = (size_t)end - from;
    if (len > CHECKPOINT_MAX_NOTE || memchr(buf + from, '\0', len) != NULL) {
        rc = ENLACE_ERR_CORRUPT;
        goto done;
    }
    memmove(buf, buf + from, len);
    buf[len] = '\0';
    *note = buf;
    buf = NULL;
    *valid_len = start + (uint64_t)end + SEP_LEN;
    rc = ENLACE_OK;
done:
    free(buf);
    close(fd);
    return rc;
}

enlace_err_t log_history_truncate(int dfd, uint64_t len)
{
    int fd = openat(dfd, LOG_HISTORY_FILE, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return ENLACE_ERR_IO;
    }
    enlace_err_t rc =
        ftruncate(fd, (off_t)len) == 0 && fdatasync(fd) == 0 ? ENLACE_OK : ENLACE_ERR_IO;
    close(fd);
    return rc;
}

enlace_err_t log_history_append(int dfd, const char *note)
{
    bool created = false;
    int fd = openat(dfd, LOG_HISTORY_FILE, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd =
            openat(dfd, LOG_HISTORY_FILE, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        created = true;
    }
    if (fd < 0) {
        return ENLACE_ERR_IO;
    }
    /* One write of note and separator, so a crash leaves at most one torn piece. */
    size_t len = strlen(note);
    enlace_err_t rc = ENLACE_ERR_NOMEM;
    char *buf = malloc(len + SEP_LEN);
    if (buf != NULL) {
        memcpy(buf, note, len);
        memcpy(buf + len, LOG_HISTORY_SEP, SEP_LEN);
        rc = write_full(fd, buf, len + SEP_LEN);
        free(buf);
    }
    if (rc == ENLACE_OK && fdatasync(fd) != 0) {
        rc = ENLACE_ERR_IO;
    }
    close(fd);
    if (rc == ENLACE_OK && created && fsync(dfd) != 0) {
        rc = ENLACE_ERR_IO;
    }
    return rc;
}

enlace_err_t log_history_write_latest(int dfd, const char *note)
{
    int fd = openat(dfd, LOG_CHECKPOINT_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ENLACE_ERR_IO;
    }
    enlace_err_t rc = write_full(fd, note, strlen(note));
    if (rc == ENLACE_OK && fsync(fd) != 0) {
        rc = ENLACE_ERR_IO;
    }
    close(fd);
    if (rc == ENLACE_OK &&
        (renameat(dfd, LOG_CHECKPOINT_TMP, dfd, LOG_CHECKPOINT_FILE) != 0 || fsync(dfd) != 0)) {
        rc = ENLACE_ERR_IO;
    }
    return rc;
}

enlace_err_t log_history_each(int dfd, log_history_fn fn, void *user)
{
    int fd = openat(dfd, LOG_HISTORY_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? ENLACE_OK : ENLACE_ERR_IO;
    }
    /* buf holds the current entry so far plus one block read ahead. */
    const size_t block = 65536;
    enlace_err_t rc = ENLACE_ERR_NOMEM;
    char *buf = malloc(ENTRY_MAX + block + 1);
    size_t have = 0;
    uint64_t off = 0, index = 0;
    if (buf == NULL) {
        goto done;
    }
    for (;;) {
        ssize_t n = pread_full(fd, buf + have, block, (off_t)off);
        if (n < 0) {
            rc = ENLACE_ERR_IO;
            goto done;
        }
        off += (uint64_t)n;
        have += (size_t)n;
        /* Emit every complete entry in buf. */
        size_t from = 0;
        for (size_t i = 0; i + 1 < have; i++) {
            if (buf[i] != '\f' || buf[i + 1] != '\n') {
                continue;
            }
            size_t len = i - from;
            if (len > CHECKPOINT_MAX_NOTE || memchr(buf + from, '\0', len) != NULL) {
                rc = ENLACE_ERR_CORRUPT;
                goto done;
            }
            buf[i] = '\0';
            rc = fn(buf + from, index++, user);
            if (rc != ENLACE_OK) {
                goto done;
            }
            from = i + SEP_LEN;
            i++;
        }
        memmove(buf, buf + from, have - from);
        have -= from;
        if (have > ENTRY_MAX) {
            rc = ENLACE_ERR_CORRUPT;
            goto done;
        }
        if (n == 0) {
            break; /* what is left is a torn piece (or nothing) */
        }
    }
    rc = ENLACE_OK;
done:
    free(buf);
    close(fd);
    return rc;
}

enlace_err_t log_history_each_path(const char *dir, log_history_fn fn, void *user)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        return errno == ENOENT ? ENLACE_ERR_NOT_FOUND : ENLACE_ERR_IO;
    }
    enlace_err_t rc = log_history_each(dfd, fn, user);
    close(dfd);
    return rc;
}
