/* A C program using litepool: lease connections, use the ordinary SQLite C
 * API on them, read the pool's statistics.
 *
 * Build against an installed litepool (`make install PREFIX=...`):
 *
 *   cc example.c $(pkg-config --cflags --libs litepool) -o example
 *   ./example [database path]        (default: litepool-example.db)
 *
 * (For a PREFIX outside the linker's search path, set PKG_CONFIG_PATH to
 * PREFIX/lib/pkgconfig and LD_LIBRARY_PATH to PREFIX/lib.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <litepool.h>

/* Prints the calling thread's last litepool error and exits. */
static void die(const char *what, litepool_result rc) {
    fprintf(stderr, "%s failed: %s: %s\n", what, litepool_result_name(rc), litepool_last_error());
    exit(1);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "litepool-example.db";
    litepool_config cfg;
    litepool_pool *pool;
    litepool_conn *conn;
    litepool_stats stats;
    litepool_result rc;
    sqlite3_stmt *stmt;
    int i;

    if (strcmp(litepool_version(), LITEPOOL_VERSION) != 0) {
        fprintf(stderr, "header %s does not match library %s\n", LITEPOOL_VERSION, litepool_version());
        return 1;
    }
    litepool_config_default(&cfg);
    cfg.max_size = 4;
    cfg.name = "example";
    if ((rc = litepool_open(path, &cfg, &pool)) != LITEPOOL_OK) die("litepool_open", rc);

    /* Writes: the write lane queues writers fairly; BEGIN IMMEDIATE. */
    if ((rc = litepool_acquire_write(pool, LITEPOOL_POOL_TIMEOUT, &conn)) != LITEPOOL_OK) die("acquire_write", rc);
    if ((rc = litepool_exec(conn, "CREATE TABLE IF NOT EXISTS quota (user TEXT PRIMARY KEY, used INTEGER);"
                                  "BEGIN IMMEDIATE")) != LITEPOOL_OK)
        die("litepool_exec", rc);
    sqlite3_prepare_v2(litepool_conn_db(conn),
                       "INSERT INTO quota VALUES (?1, ?2) ON CONFLICT(user) DO UPDATE SET used = used + ?2", -1,
                       &stmt, NULL);
    for (i = 0; i < 3; i++) {
        char user[16];
        snprintf(user, sizeof user, "user%d", i);
        sqlite3_bind_text(stmt, 1, user, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(stmt, 2, (i + 1) * 100);
        if (sqlite3_step(stmt) != SQLITE_DONE) fprintf(stderr, "insert: %s\n", sqlite3_errmsg(litepool_conn_db(conn)));
        sqlite3_reset(stmt);
    }
    sqlite3_finalize(stmt); /* finalize before release */
    if ((rc = litepool_exec(conn, "COMMIT")) != LITEPOOL_OK) die("commit", rc);
    litepool_release(conn);

    /* Reads: a read lease has PRAGMA query_only=ON. */
    if ((rc = litepool_acquire_read(pool, 1000, &conn)) != LITEPOOL_OK) die("acquire_read", rc);
    sqlite3_prepare_v2(litepool_conn_db(conn), "SELECT user, used FROM quota ORDER BY user", -1, &stmt, NULL);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        printf("%s used %lld\n", (const char *)sqlite3_column_text(stmt, 0), sqlite3_column_int64(stmt, 1));
    }
    sqlite3_finalize(stmt);
    litepool_release(conn);

    litepool_get_stats(pool, &stats);
    printf("pool: active=%u idle=%u total=%u max=%u acquired=%llu health=%d\n", stats.active, stats.idle, stats.total,
           stats.max, (unsigned long long)stats.acquired, litepool_health(pool));
    if ((rc = litepool_close(pool, 5000)) != LITEPOOL_OK) die("litepool_close", rc);
    litepool_free(pool);
    return 0;
}
