/* Tiny test helpers shared by the C tests: checks that print the failing
 * expression with litepool's last error, and a temporary directory. */
#ifndef LITEPOOL_TEST_CHECK_H
#define LITEPOOL_TEST_CHECK_H

#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "litepool.h"

static int check_failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n  last error: %s\n", __FILE__, \
                    __LINE__, #cond, litepool_last_error());                         \
            check_failures++;                                                        \
        }                                                                            \
    } while (0)

/* Checks that `expr` returns `expected` (a litepool_result), naming both. */
#define CHECK_RC(expr, expected)                                                          \
    do {                                                                                  \
        litepool_result check_rc_ = (expr);                                               \
        if (check_rc_ != (expected)) {                                                    \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n  last error: %s\n",     \
                    __FILE__, __LINE__, #expr, litepool_result_name(check_rc_),           \
                    litepool_result_name(expected), litepool_last_error());               \
            check_failures++;                                                             \
        }                                                                                 \
    } while (0)

/* Checks that the last error mentions `needle`. */
#define CHECK_MSG(needle)                                                               \
    do {                                                                                \
        const char *check_msg_ = litepool_last_error();                                 \
        if (strstr(check_msg_, (needle)) == NULL) {                                     \
            fprintf(stderr, "%s:%d: last error \"%s\" does not mention \"%s\"\n",       \
                    __FILE__, __LINE__, check_msg_, (needle));                          \
            check_failures++;                                                           \
        }                                                                               \
    } while (0)

/* A fresh directory under $TMPDIR (or /tmp) for this test's databases. */
static char check_dir[256];

static inline const char *test_dir(void) {
    const char *base = getenv("TMPDIR");
    snprintf(check_dir, sizeof check_dir, "%s/litepool-c-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(check_dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    return check_dir;
}

/* `dir/name` in a static buffer per call site (callers copy if needed). */
static inline void test_path(char *out, size_t len, const char *name) {
    snprintf(out, len, "%s/%s", check_dir, name);
}

/* Removes the test directory and everything SQLite left in it. */
static inline void remove_test_dir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", check_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "warning: could not remove %s\n", check_dir);
    }
}

static inline void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static inline int finish(const char *name) {
    remove_test_dir();
    if (check_failures > 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, check_failures);
        return 1;
    }
    printf("%s: ok\n", name);
    return 0;
}

#endif
