/* The C half of the FFI benchmark (benches/c/run.sh): N x (litepool_acquire
 * + litepool_release) on one thread, timed with clock_gettime, and the same
 * with a trivial statement stepped on the leased sqlite3 * in between.
 * Prints `name ns_per_op` lines. Usage: acquire DB_PATH ITERATIONS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "litepool.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void acquire_release(litepool_pool *pool) {
    litepool_conn *conn;
    if (litepool_acquire(pool, LITEPOOL_POOL_TIMEOUT, &conn) != LITEPOOL_OK || litepool_release(conn) != LITEPOOL_OK) {
        fprintf(stderr, "acquire/release: %s\n", litepool_last_error());
        exit(1);
    }
}

static void acquire_step_release(litepool_pool *pool) {
    litepool_conn *conn;
    sqlite3_stmt *stmt;
    if (litepool_acquire(pool, LITEPOOL_POOL_TIMEOUT, &conn) != LITEPOOL_OK) exit(1);
    sqlite3_prepare_v2(litepool_conn_db(conn), "SELECT 1", -1, &stmt, NULL);
    sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    litepool_release(conn);
}

int main(int argc, char **argv) {
    litepool_config cfg;
    litepool_pool *pool;
    long i, n;
    double start;
    if (argc < 3) {
        fprintf(stderr, "usage: acquire DB_PATH ITERATIONS\n");
        return 2;
    }
    n = strtol(argv[2], NULL, 10);
    litepool_config_default(&cfg);
    cfg.max_size = 4;
    cfg.min_idle = 1;
    if (litepool_open(argv[1], &cfg, &pool) != LITEPOOL_OK) {
        fprintf(stderr, "open: %s\n", litepool_last_error());
        return 1;
    }
    for (i = 0; i < 1000; i++) acquire_release(pool);
    start = now_ns();
    for (i = 0; i < n; i++) acquire_release(pool);
    printf("c_acquire_release %.1f\n", (now_ns() - start) / (double)n);
    start = now_ns();
    for (i = 0; i < n; i++) acquire_step_release(pool);
    printf("c_acquire_step_release %.1f\n", (now_ns() - start) / (double)n);
    litepool_free(pool);
    return 0;
}
