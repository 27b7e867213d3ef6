/* 8 threads x 10,000 acquire / query / release on a pool of 4 connections;
 * afterwards nothing is leased and every lease was counted.
 * Usage: test_threads [iterations per thread]   (default 10000; the
 * valgrind run passes fewer, valgrind being ~50x slower). */
#include "check.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>

#define THREADS 8

static litepool_pool *pool;
static long iterations = 10000;

struct worker {
    pthread_t thread;
    int id;
    long done;
    long failures;
    char first_error[256];
};

static void fail(struct worker *w, const char *what) {
    if (w->failures++ == 0) {
        snprintf(w->first_error, sizeof w->first_error, "%s: %s", what, litepool_last_error());
    }
}

static void *run(void *arg) {
    struct worker *w = arg;
    long i;
    for (i = 0; i < iterations; i++) {
        litepool_conn *conn = NULL;
        sqlite3_stmt *stmt = NULL;
        sqlite3 *db;
        if (litepool_acquire(pool, 10000, &conn) != LITEPOOL_OK) {
            fail(w, "acquire");
            continue;
        }
        db = litepool_conn_db(conn);
        if (db == NULL || sqlite3_prepare_v2(db, "SELECT v FROM counters WHERE id = ?1", -1, &stmt, NULL) != SQLITE_OK) {
            fail(w, "prepare");
        } else {
            sqlite3_bind_int(stmt, 1, w->id);
            if (sqlite3_step(stmt) != SQLITE_ROW || sqlite3_column_int(stmt, 0) != w->id * 10) {
                fail(w, "step");
            }
            sqlite3_finalize(stmt);
        }
        if (litepool_release(conn) != LITEPOOL_OK) {
            fail(w, "release");
        }
        w->done++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    char path[300];
    litepool_config cfg;
    litepool_conn *conn = NULL;
    litepool_stats before, after;
    struct worker workers[THREADS];
    int t;
    if (argc > 1) iterations = strtol(argv[1], NULL, 10);
    if (getenv("LITEPOOL_TEST_ITERATIONS")) iterations = strtol(getenv("LITEPOOL_TEST_ITERATIONS"), NULL, 10);
    if (iterations <= 0) iterations = 10000;

    test_dir();
    test_path(path, sizeof path, "threads.db");
    litepool_config_default(&cfg);
    cfg.max_size = 4;
    cfg.acquire_timeout_ms = 10000;
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    if (pool == NULL) return finish("test_threads");

    CHECK_RC(litepool_acquire_write(pool, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, "CREATE TABLE counters (id INTEGER PRIMARY KEY, v INTEGER);"
                                 "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 7)"
                                 " INSERT INTO counters SELECT i, i * 10 FROM n"),
             LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &before), LITEPOOL_OK);

    for (t = 0; t < THREADS; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].id = t;
        CHECK(pthread_create(&workers[t].thread, NULL, run, &workers[t]) == 0);
    }
    for (t = 0; t < THREADS; t++) {
        pthread_join(workers[t].thread, NULL);
        CHECK(workers[t].done == iterations);
        if (workers[t].failures > 0) {
            fprintf(stderr, "thread %d: %ld failure(s), first: %s\n", t, workers[t].failures, workers[t].first_error);
            check_failures++;
        }
    }

    CHECK_RC(litepool_get_stats(pool, &after), LITEPOOL_OK);
    CHECK(after.active == 0);
    CHECK(after.waiting == 0);
    CHECK(after.total <= 4);
    CHECK(after.acquired - before.acquired == (uint64_t)(THREADS * iterations));
    CHECK(after.timeouts == 0);
    printf("test_threads: %d threads x %ld leases on %u connections (%llu waited, %llu us waiting)\n", THREADS,
           iterations, after.max, (unsigned long long)(after.acquired_waited - before.acquired_waited),
           (unsigned long long)after.wait_time_us);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
    return finish("test_threads");
}
