/* 8 threads, each choosing among 40 tenants at random, on a pool of 4
 * connections (so at most 4 x SQLite's attach limit attachments at once:
 * connections evict tenants and re-attach them all the time). Half the
 * leases insert a row tagged with the tenant's code through a write lease,
 * half read through a read lease and check that no other tenant's row is
 * visible. Afterwards every tenant holds exactly the rows written to it.
 * Usage: test_tenant_threads [leases per thread]   (default 1000; the
 * valgrind run passes fewer). */
#include "check.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>

#define THREADS 8
#define TENANTS 40

static litepool_pool *pool;
static long iterations = 1000;

struct worker {
    pthread_t thread;
    int id;
    unsigned long long rng;
    long done;
    long inserts[TENANTS];
    long failures;
    char first_error[512];
};

static void fail(struct worker *w, const char *what, const char *detail) {
    if (w->failures++ == 0) {
        snprintf(w->first_error, sizeof w->first_error, "%s: %s", what, detail);
    }
}

/* xorshift64: a small, seeded, thread-private generator. */
static unsigned next_random(struct worker *w) {
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return (unsigned)(w->rng >> 32);
}

static void write_row(struct worker *w, int k, litepool_conn *conn, const char *code) {
    char sql[128];
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = litepool_conn_db(conn);
    snprintf(sql, sizeof sql, "INSERT INTO tenant_%s.rows (owner, writer) VALUES (?1, ?2)", code);
    if (db == NULL || sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fail(w, "prepare insert", db ? sqlite3_errmsg(db) : litepool_last_error());
        return;
    }
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, w->id);
    if (sqlite3_step(stmt) == SQLITE_DONE) {
        w->inserts[k]++;
    } else {
        fail(w, "insert", sqlite3_errmsg(db));
    }
    sqlite3_finalize(stmt);
}

static void read_rows(struct worker *w, litepool_conn *conn, const char *code) {
    char sql[160];
    sqlite3_stmt *stmt = NULL;
    sqlite3 *db = litepool_conn_db(conn);
    snprintf(sql, sizeof sql, "SELECT count(*), total(owner <> ?1) FROM tenant_%s.rows", code);
    if (db == NULL || sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fail(w, "prepare select", db ? sqlite3_errmsg(db) : litepool_last_error());
        return;
    }
    sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        fail(w, "select", sqlite3_errmsg(db));
    } else if (sqlite3_column_int64(stmt, 0) < 1) {
        fail(w, "select", "the tenant's seed row is missing");
    } else if (sqlite3_column_double(stmt, 1) != 0.0) {
        fail(w, "isolation", "another tenant's row is visible through this tenant's schema");
    }
    sqlite3_finalize(stmt);
}

static void *run(void *arg) {
    struct worker *w = arg;
    long i;
    for (i = 0; i < iterations; i++) {
        int k = (int)(next_random(w) % TENANTS);
        int write = (int)(next_random(w) & 1);
        char code[16];
        litepool_conn *conn = NULL;
        snprintf(code, sizeof code, "k%02d", k);
        if (litepool_acquire_tenant(pool, code, write ? LITEPOOL_LANE_WRITE : LITEPOOL_LANE_READ, 30000, &conn) !=
            LITEPOOL_OK) {
            fail(w, "acquire", litepool_last_error());
            continue;
        }
        if (write) {
            write_row(w, k, conn, code);
        } else {
            read_rows(w, conn, code);
        }
        if (litepool_release(conn) != LITEPOOL_OK) fail(w, "release", litepool_last_error());
        w->done++;
    }
    return NULL;
}

static long long count_rows(const char *code, const char *where) {
    char sql[200];
    litepool_conn *conn = NULL;
    sqlite3_stmt *stmt = NULL;
    long long n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tenant_%s.rows WHERE %s", code, where);
    CHECK_RC(litepool_acquire_tenant(pool, code, LITEPOOL_LANE_READ, 1000, &conn), LITEPOOL_OK);
    if (conn == NULL) return -1;
    CHECK(sqlite3_prepare_v2(litepool_conn_db(conn), sql, -1, &stmt, NULL) == SQLITE_OK);
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    return n;
}

int main(int argc, char **argv) {
    char path[300], file[24], code[16], sql[200], where[64];
    litepool_config cfg;
    litepool_conn *conn = NULL;
    litepool_stats st;
    litepool_tenant_stats ts;
    struct worker workers[THREADS];
    unsigned long long acquired_before = 0, acquired_after = 0, attaches = 0, detaches = 0;
    long long limit = 0;
    int t, k;
    if (argc > 1) iterations = strtol(argv[1], NULL, 10);
    if (iterations <= 0) iterations = 1000;

    test_dir();
    test_path(path, sizeof path, "main.db");
    litepool_config_default(&cfg);
    cfg.max_size = 4;
    cfg.acquire_timeout_ms = 30000;
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    if (pool == NULL) return finish("test_tenant_threads");

    for (k = 0; k < TENANTS; k++) {
        snprintf(code, sizeof code, "k%02d", k);
        snprintf(file, sizeof file, "%s.db", code);
        test_path(path, sizeof path, file);
        CHECK_RC(litepool_register_tenant(pool, code, path), LITEPOOL_OK);
        CHECK_RC(litepool_acquire_tenant(pool, code, LITEPOOL_LANE_WRITE, 1000, &conn), LITEPOOL_OK);
        snprintf(sql, sizeof sql,
                 "CREATE TABLE tenant_%s.rows (owner TEXT NOT NULL, writer INTEGER);"
                 "INSERT INTO tenant_%s.rows (owner) VALUES ('%s')",
                 code, code, code);
        CHECK_RC(litepool_exec(conn, sql), LITEPOOL_OK);
        limit = sqlite3_limit(litepool_conn_db(conn), SQLITE_LIMIT_ATTACHED, -1);
        CHECK_RC(litepool_release(conn), LITEPOOL_OK);
        CHECK_RC(litepool_get_tenant_stats(pool, code, &ts), LITEPOOL_OK);
        acquired_before += ts.acquired;
    }

    for (t = 0; t < THREADS; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].id = t;
        workers[t].rng = 0x9E3779B97F4A7C15ULL * (unsigned long long)(t + 1);
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

    /* Every tenant holds its seed row plus exactly the rows written to it,
     * and nothing else. */
    for (k = 0; k < TENANTS; k++) {
        long expected = 0;
        for (t = 0; t < THREADS; t++) expected += workers[t].inserts[k];
        snprintf(code, sizeof code, "k%02d", k);
        CHECK(count_rows(code, "writer IS NOT NULL") == expected);
        snprintf(where, sizeof where, "owner <> '%s'", code);
        CHECK(count_rows(code, where) == 0);
        CHECK_RC(litepool_get_tenant_stats(pool, code, &ts), LITEPOOL_OK);
        CHECK(ts.active == 0);
        acquired_after += ts.acquired;
        attaches += ts.attaches;
        detaches += ts.detaches;
    }
    /* The check loop above took 2 leases per tenant. */
    CHECK(acquired_after - acquired_before == (unsigned long long)(THREADS * iterations + 2 * TENANTS));

    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    CHECK(st.active == 0);
    CHECK(st.waiting == 0);
    CHECK(st.total <= 4);
    CHECK(st.timeouts == 0);
    /* Attachments alive now (attaches - detaches, plus those that went with
     * closed connections) never exceed what the connections could hold. */
    CHECK(limit > 0);
    CHECK(attaches >= TENANTS);
    CHECK(attaches - detaches <= st.created * (unsigned long long)limit);
    printf("test_tenant_threads: %d threads x %ld leases over %d tenants on %u connections "
           "(attach limit %lld): %llu attaches, %llu detaches\n",
           THREADS, iterations, TENANTS, st.max, limit, attaches, detaches);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
    return finish("test_tenant_threads");
}
