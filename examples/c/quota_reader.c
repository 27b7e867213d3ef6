/* quota_reader: a C program that reads the quota-proxy database through a
 * connection leased from liblitepool, while the service keeps writing to it.
 *
 *   cc -std=c11 quota_reader.c $(pkg-config --cflags --libs litepool) -o quota_reader
 *   ./quota_reader path/to/quota.db
 *
 * It leases one read connection (PRAGMA query_only=ON), opens one read
 * transaction so every number comes from the same snapshot (WAL: the
 * service's writers are not blocked), and uses the ordinary SQLite C API on
 * the leased sqlite3 *: per-key quota and usage, totals, and a consistency
 * check (no key over its quota; used_quota equals the key's successful
 * usage rows). Then it prints its pool's statistics.
 *
 * Exit status: 0 ok, 1 the consistency check failed, 2 the database is
 * missing, is not a quota-proxy database, or a litepool call failed. */
#include <stdio.h>
#include <string.h>

#include <litepool.h>

#define PER_KEY_SQL                                                                                      \
    "SELECT k.key, k.label, k.total_quota, k.used_quota,"                                                \
    "       (SELECT count(*) FROM usage_log AS u WHERE u.api_key = k.key AND u.status_code = 200),"      \
    "       (SELECT count(*) FROM usage_log AS u WHERE u.api_key = k.key)"                               \
    " FROM api_keys AS k ORDER BY k.id"

static int fail(const char *what, litepool_result rc) {
    fprintf(stderr, "quota_reader: %s failed: %s: %s\n", what, litepool_result_name(rc), litepool_last_error());
    return 2;
}

/* Writes `key` shortened for display (the secret stays secret) into out. */
static void mask(const char *key, char *out, size_t len) {
    size_t n = strlen(key);
    if (n <= 12) {
        snprintf(out, len, "%s", key);
    } else {
        snprintf(out, len, "%.7s...%s", key, key + n - 4);
    }
}

static const char *health_name(int health) {
    switch (health) {
    case LITEPOOL_HEALTHY: return "healthy";
    case LITEPOOL_WARNING: return "warning";
    case LITEPOOL_DEGRADED: return "degraded";
    default: return "unknown";
    }
}

/* Prints the report from the leased connection; returns 0, 1 (inconsistent) or 2. */
static int report(sqlite3 *db) {
    sqlite3_stmt *stmt = NULL;
    long long keys = 0, used_total = 0, ok_total = 0, requests_total = 0;
    int problems = 0, rc;

    if (sqlite3_prepare_v2(db, PER_KEY_SQL, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "quota_reader: not a quota-proxy database? %s\n", sqlite3_errmsg(db));
        return 2;
    }
    printf("%-16s %-14s %14s %12s %12s %12s\n", "key", "label", "quota", "used", "ok rows", "requests");
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        char shown[32];
        const char *key = (const char *)sqlite3_column_text(stmt, 0);
        const char *label = (const char *)sqlite3_column_text(stmt, 1);
        long long total = sqlite3_column_int64(stmt, 2);
        long long used = sqlite3_column_int64(stmt, 3);
        long long ok = sqlite3_column_int64(stmt, 4);
        long long requests = sqlite3_column_int64(stmt, 5);
        mask(key ? key : "", shown, sizeof shown);
        printf("%-16s %-14.14s %14lld %12lld %12lld %12lld\n", shown, label && *label ? label : "-", total, used, ok,
               requests);
        if (used > total) {
            fprintf(stderr, "quota_reader: %s: used %lld > quota %lld\n", shown, used, total);
            problems++;
        }
        if (used != ok) {
            fprintf(stderr, "quota_reader: %s: used_quota %lld but %lld successful requests logged\n", shown, used, ok);
            problems++;
        }
        keys++;
        used_total += used;
        ok_total += ok;
        requests_total += requests;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "quota_reader: reading keys failed: %s\n", sqlite3_errmsg(db));
        sqlite3_finalize(stmt);
        return 2;
    }
    sqlite3_finalize(stmt); /* finalize before the lease goes back */
    printf("totals: %lld keys, %lld units used, %lld ok rows, %lld requests logged\n", keys, used_total, ok_total,
           requests_total);
    if (problems) {
        printf("consistency: FAILED (%d problems)\n", problems);
        return 1;
    }
    printf("consistency: ok\n");
    return 0;
}

int main(int argc, char **argv) {
    litepool_config cfg;
    litepool_pool *pool;
    litepool_conn *conn;
    litepool_stats stats;
    litepool_result rc;
    FILE *probe;
    int status;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DB_PATH\n", argv[0]);
        return 2;
    }
    /* The pool would create a missing file; a reader should not. */
    if ((probe = fopen(argv[1], "rb")) == NULL) {
        fprintf(stderr, "quota_reader: no database at %s\n", argv[1]);
        return 2;
    }
    fclose(probe);

    litepool_config_default(&cfg);
    cfg.max_size = 2;
    cfg.min_idle = 0;
    cfg.name = "quota_reader";
    if ((rc = litepool_open(argv[1], &cfg, &pool)) != LITEPOOL_OK) return fail("litepool_open", rc);
    if ((rc = litepool_acquire_read(pool, LITEPOOL_POOL_TIMEOUT, &conn)) != LITEPOOL_OK) {
        litepool_free(pool);
        return fail("litepool_acquire_read", rc);
    }
    printf("quota_reader: %s (liblitepool %s, SQLite %s); one read lease, one snapshot\n", argv[1],
           litepool_version(), sqlite3_libversion());
    /* One read transaction: every query below sees the same snapshot. */
    if ((rc = litepool_exec(conn, "BEGIN")) != LITEPOOL_OK) {
        status = fail("BEGIN", rc);
    } else {
        status = report(litepool_conn_db(conn));
        if ((rc = litepool_exec(conn, "COMMIT")) != LITEPOOL_OK) status = fail("COMMIT", rc);
    }
    if ((rc = litepool_release(conn)) != LITEPOOL_OK) status = fail("litepool_release", rc);

    if ((rc = litepool_get_stats(pool, &stats)) == LITEPOOL_OK) {
        printf("reader's pool: active=%u idle=%u total=%u max=%u acquired=%llu health=%s\n", stats.active, stats.idle,
               stats.total, stats.max, (unsigned long long)stats.acquired, health_name(litepool_health(pool)));
    }
    if ((rc = litepool_close(pool, 5000)) != LITEPOOL_OK) status = fail("litepool_close", rc);
    litepool_free(pool);
    return status;
}
