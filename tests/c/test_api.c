/* Every function of litepool.h used as documented, including the raw
 * sqlite3 * of a lease driven with sqlite3_prepare_v2 / sqlite3_step. */
#include "check.h"

static void test_version_and_names(void) {
    CHECK(strcmp(litepool_version(), LITEPOOL_VERSION) == 0);
    CHECK(strcmp(litepool_result_name(LITEPOOL_OK), "LITEPOOL_OK") == 0);
    CHECK(strcmp(litepool_result_name(LITEPOOL_TIMEOUT), "LITEPOOL_TIMEOUT") == 0);
    CHECK(strcmp(litepool_result_name(LITEPOOL_ALREADY_RELEASED), "LITEPOOL_ALREADY_RELEASED") == 0);
    CHECK(strcmp(litepool_result_name(LITEPOOL_ERROR), "LITEPOOL_ERROR") == 0);
    CHECK(strcmp(litepool_result_name(9999), "LITEPOOL_UNKNOWN") == 0);
    /* The numbers are ABI: pin a few. */
    CHECK(LITEPOOL_OK == 0 && LITEPOOL_TIMEOUT == 1 && LITEPOOL_NULL_ARGUMENT == 4 && LITEPOOL_PANIC == 7);
}

static void test_config_default(void) {
    litepool_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    litepool_config_default(&cfg);
    CHECK(cfg.max_size == 10);
    CHECK(cfg.min_idle == 2);
    CHECK(cfg.acquire_timeout_ms == 5000);
    CHECK(cfg.idle_timeout_ms == 30000);
    CHECK(cfg.max_lifetime_ms == 1800000);
    CHECK(cfg.validation_window_ms == 500);
    CHECK(cfg.leak_threshold_ms == 0);
    CHECK(cfg.busy_timeout_ms == 5000);
    CHECK(cfg.housekeeping_period_ms == 1000);
    CHECK(cfg.foreign_keys);
    CHECK(strcmp(cfg.name, "litepool") == 0);
    CHECK(strcmp(cfg.journal_mode, "WAL") == 0);
    CHECK(strcmp(cfg.synchronous, "NORMAL") == 0);
    CHECK(cfg.init_sql == NULL);
    CHECK(strcmp(cfg.checkpoint, "pool") == 0);
    CHECK(cfg.checkpoint_pages == 1000);
    CHECK(cfg.wal_high_water == 64u << 20 && cfg.journal_size_limit == 64u << 20);
    CHECK(cfg.extension == NULL && cfg.vfs == NULL && cfg.replica_url == NULL);
}

static litepool_pool *open_pool(const char *file, uint32_t max_size) {
    char path[300];
    litepool_config cfg;
    litepool_pool *pool = NULL;
    test_path(path, sizeof path, file);
    litepool_config_default(&cfg);
    cfg.max_size = max_size;
    cfg.min_idle = 1;
    cfg.name = "api";
    cfg.init_sql = "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v INTEGER)";
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    CHECK(pool != NULL);
    CHECK(strcmp(litepool_last_error(), "") == 0);
    return pool;
}

static void test_prepare_and_step_on_a_leased_handle(litepool_pool *pool) {
    litepool_conn *conn = NULL;
    sqlite3 *db;
    sqlite3_stmt *stmt = NULL;
    int rc, rows = 0;
    sqlite3_int64 sum = 0;

    CHECK_RC(litepool_acquire_write(pool, 1000, &conn), LITEPOOL_OK);
    db = litepool_conn_db(conn);
    CHECK(db != NULL);
    CHECK_RC(litepool_exec(conn, "INSERT INTO kv VALUES ('a', 1); INSERT INTO kv VALUES ('b', 2)"), LITEPOOL_OK);

    rc = sqlite3_prepare_v2(db, "INSERT INTO kv VALUES (?1, ?2)", -1, &stmt, NULL);
    CHECK(rc == SQLITE_OK);
    sqlite3_bind_text(stmt, 1, "c", -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, 39);
    CHECK(sqlite3_step(stmt) == SQLITE_DONE);
    CHECK(sqlite3_finalize(stmt) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);

    CHECK_RC(litepool_acquire_read(pool, LITEPOOL_POOL_TIMEOUT, &conn), LITEPOOL_OK);
    db = litepool_conn_db(conn);
    rc = sqlite3_prepare_v2(db, "SELECT k, v FROM kv ORDER BY k", -1, &stmt, NULL);
    CHECK(rc == SQLITE_OK);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        rows++;
        sum += sqlite3_column_int64(stmt, 1);
    }
    CHECK(rc == SQLITE_DONE);
    CHECK(rows == 3 && sum == 42);
    sqlite3_finalize(stmt);
    /* A read lease refuses writes: through litepool_exec with its own code, */
    CHECK_RC(litepool_exec(conn, "DELETE FROM kv"), LITEPOOL_READ_ONLY_LANE);
    CHECK(litepool_last_sqlite_code() == SQLITE_READONLY);
    /* and through the raw handle with SQLite's. */
    CHECK(sqlite3_exec(db, "DELETE FROM kv", NULL, NULL, NULL) == SQLITE_READONLY);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
}

static void test_sqlite_errors_carry_the_extended_code(litepool_pool *pool) {
    litepool_conn *conn = NULL;
    CHECK_RC(litepool_acquire(pool, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, "INSERT INTO kv VALUES ('a', 5)"), LITEPOOL_SQLITE_ERROR);
    CHECK(litepool_last_sqlite_code() == SQLITE_CONSTRAINT_PRIMARYKEY);
    CHECK_MSG("litepool_exec: ");
    CHECK_MSG("SQLITE_CONSTRAINT_PRIMARYKEY");
    CHECK_RC(litepool_exec(conn, "SELEC nonsense"), LITEPOOL_SQLITE_ERROR);
    CHECK(litepool_last_sqlite_code() == SQLITE_ERROR);
    /* Success clears the thread's last error. */
    CHECK_RC(litepool_exec(conn, "SELECT 1"), LITEPOOL_OK);
    CHECK(strcmp(litepool_last_error(), "") == 0);
    CHECK(litepool_last_sqlite_code() == 0);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
}

static void test_transaction_left_open_is_rolled_back(litepool_pool *pool) {
    litepool_conn *conn = NULL;
    litepool_stats before, after;
    sqlite3_stmt *stmt = NULL;
    CHECK_RC(litepool_get_stats(pool, &before), LITEPOOL_OK);
    CHECK_RC(litepool_acquire_write(pool, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, "BEGIN IMMEDIATE; INSERT INTO kv VALUES ('tx', 1)"), LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &after), LITEPOOL_OK);
    CHECK(after.rolled_back_on_return == before.rolled_back_on_return + 1);

    CHECK_RC(litepool_acquire(pool, 1000, &conn), LITEPOOL_OK);
    CHECK(sqlite3_prepare_v2(litepool_conn_db(conn), "SELECT count(*) FROM kv WHERE k = 'tx'", -1, &stmt,
                             NULL) == SQLITE_OK);
    CHECK(sqlite3_step(stmt) == SQLITE_ROW);
    CHECK(sqlite3_column_int(stmt, 0) == 0);
    sqlite3_finalize(stmt);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
}

static void test_try_acquire_stats_health_and_ids(void) {
    litepool_pool *pool = open_pool("small.db", 2);
    litepool_conn *a = NULL, *b = NULL, *c = NULL;
    litepool_stats st;
    uint64_t id_a = 0, id_b = 0;

    CHECK(litepool_health(pool) == LITEPOOL_HEALTHY);
    CHECK_RC(litepool_try_acquire(pool, &a), LITEPOOL_OK);
    CHECK_RC(litepool_try_acquire(pool, &b), LITEPOOL_OK);
    CHECK_RC(litepool_conn_id(a, &id_a), LITEPOOL_OK);
    CHECK_RC(litepool_conn_id(b, &id_b), LITEPOOL_OK);
    CHECK(id_a != 0 && id_b != 0 && id_a != id_b);
    CHECK(litepool_conn_db(a) != litepool_conn_db(b));
    CHECK(litepool_health(pool) == LITEPOOL_DEGRADED);

    c = (litepool_conn *)0;
    CHECK_RC(litepool_try_acquire(pool, &c), LITEPOOL_EXHAUSTED);
    CHECK(c == NULL); /* outputs are written only on success */
    CHECK_RC(litepool_acquire(pool, 50, &c), LITEPOOL_TIMEOUT);
    CHECK_MSG("timed out after");
    CHECK_MSG("active=2");

    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    CHECK(st.active == 2 && st.idle == 0 && st.total == 2 && st.max == 2 && st.min == 1 && st.waiting == 0);
    CHECK(st.timeouts == 1);
    CHECK(st.acquired == 2 && st.acquired == st.acquired_direct + st.acquired_waited);
    CHECK(st.created >= 2);

    CHECK_RC(litepool_release(a), LITEPOOL_OK);
    CHECK_RC(litepool_release(b), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    CHECK(st.active == 0 && st.idle == 2);
    CHECK(litepool_health(pool) == LITEPOOL_HEALTHY);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    CHECK(litepool_health(pool) == LITEPOOL_DEGRADED); /* closed */
    litepool_free(pool);
}

static void test_metrics(litepool_pool *pool) {
    size_t needed = 0, again = 0;
    char small[8] = "unset";
    char *buf;
    CHECK_RC(litepool_metrics(pool, NULL, 0, &needed), LITEPOOL_BUFFER_TOO_SMALL);
    CHECK(needed > 100);
    CHECK_RC(litepool_metrics(pool, small, sizeof small, &again), LITEPOOL_BUFFER_TOO_SMALL);
    CHECK(strcmp(small, "unset") == 0); /* untouched */
    CHECK_MSG("needs");
    buf = malloc(needed + 64);
    CHECK(buf != NULL);
    if (buf == NULL) return;
    CHECK_RC(litepool_metrics(pool, buf, needed + 64, &again), LITEPOOL_OK);
    CHECK(strlen(buf) + 1 == again);
    CHECK(strstr(buf, "pool=\"api\"") != NULL);
    CHECK_RC(litepool_metrics(pool, buf, needed + 64, NULL), LITEPOOL_OK); /* needed may be NULL */
    free(buf);
}

static void test_labeled_acquire_names_the_leak(void) {
    char path[300];
    litepool_config cfg;
    litepool_pool *pool = NULL;
    litepool_conn *conn = NULL;
    litepool_stats st;
    int waited;
    test_path(path, sizeof path, "leak.db");
    litepool_config_default(&cfg);
    cfg.leak_threshold_ms = 30;
    cfg.min_idle = 0;
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    CHECK_RC(litepool_acquire_labeled(pool, LITEPOOL_LANE_WRITE, 1000, "test_api.c reserve()", &conn),
             LITEPOOL_OK);
    for (waited = 0; waited < 3000; waited += 20) {
        sleep_ms(20);
        CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
        if (st.leaks > 0) break;
    }
    CHECK(st.leaks == 1);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

static void test_open_from_env(void) {
    char path[300];
    litepool_pool *pool = NULL;
    litepool_stats st;
    test_path(path, sizeof path, "env.db");
    setenv("DB_POOL_MAX", "3", 1);
    setenv("DB_POOL_MIN", "0", 1);
    CHECK_RC(litepool_open_from_env(path, &pool), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    CHECK(st.max == 3 && st.min == 0);
    litepool_free(pool);
    unsetenv("DB_POOL_MAX");
    unsetenv("DB_POOL_MIN");
}

static void test_memory_database_is_shared(void) {
    litepool_config cfg;
    litepool_pool *pool = NULL;
    litepool_conn *a = NULL, *b = NULL;
    sqlite3_stmt *stmt = NULL;
    litepool_config_default(&cfg);
    CHECK_RC(litepool_open(":memory:", &cfg, &pool), LITEPOOL_OK);
    CHECK_RC(litepool_acquire(pool, 1000, &a), LITEPOOL_OK);
    CHECK_RC(litepool_exec(a, "CREATE TABLE t (x); INSERT INTO t VALUES (7)"), LITEPOOL_OK);
    CHECK_RC(litepool_acquire(pool, 1000, &b), LITEPOOL_OK);
    CHECK(sqlite3_prepare_v2(litepool_conn_db(b), "SELECT x FROM t", -1, &stmt, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 7);
    sqlite3_finalize(stmt);
    CHECK_RC(litepool_release(a), LITEPOOL_OK);
    CHECK_RC(litepool_release(b), LITEPOOL_OK);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

/* Resizing a live pool and soft eviction. */
static void test_resize_and_evict(void) {
    litepool_pool *pool = open_pool("resize.db", 1);
    litepool_conn *a = NULL, *b = NULL;
    litepool_stats st;
    uint32_t closed = 99;
    CHECK_RC(litepool_acquire(pool, 1000, &a), LITEPOOL_OK);
    CHECK_RC(litepool_acquire(pool, 50, &b), LITEPOOL_TIMEOUT);
    CHECK_RC(litepool_resize(pool, 2, 0), LITEPOOL_OK);
    CHECK_RC(litepool_acquire(pool, 1000, &b), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    CHECK(st.max == 2 && st.active == 2);
    CHECK_RC(litepool_release(b), LITEPOOL_OK);
    CHECK_RC(litepool_evict(pool, &closed), LITEPOOL_OK);
    CHECK(closed == 1);
    CHECK_RC(litepool_release(a), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    /* the evicted lease closed when released (min_idle 1 may refill one) */
    CHECK(st.active == 0 && st.total <= 1);
    CHECK_RC(litepool_evict(pool, NULL), LITEPOOL_OK);
    CHECK_RC(litepool_resize(pool, 0, 0), LITEPOOL_INVALID_CONFIG);
    CHECK_MSG("max_size");
    CHECK_RC(litepool_resize(pool, 2, 3), LITEPOOL_INVALID_CONFIG);
    CHECK_RC(litepool_resize(NULL, 2, 0), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

static void test_commit_tokens_and_wal_options(void) {
    char path[300];
    litepool_config cfg;
    litepool_pool *pool = NULL;
    litepool_conn *conn = NULL;
    uint64_t first = 0, second = 0;
    test_path(path, sizeof path, "tokens.db");
    litepool_config_default(&cfg);
    cfg.checkpoint = "always";
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_INVALID_CONFIG);
    CHECK_MSG("checkpoint");
    cfg.checkpoint = "external";
    cfg.wal_high_water = 1u << 20;
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    CHECK_RC(litepool_commit_token(pool, &first), LITEPOOL_OK);
    CHECK_RC(litepool_commit_token(pool, &second), LITEPOOL_OK);
    CHECK(first >= 1 && second == first + 1);
    CHECK_RC(litepool_commit_token(pool, NULL), LITEPOOL_NULL_ARGUMENT);
    /* A primary sees its own tokens at once. */
    CHECK_RC(litepool_acquire_at_least(pool, second, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK(strcmp(litepool_result_name(LITEPOOL_READ_ONLY_REPLICA), "LITEPOOL_READ_ONLY_REPLICA") == 0);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

int main(void) {
    litepool_pool *pool;
    test_dir();
    test_version_and_names();
    test_config_default();
    pool = open_pool("api.db", 4);
    test_prepare_and_step_on_a_leased_handle(pool);
    test_sqlite_errors_carry_the_extended_code(pool);
    test_transaction_left_open_is_rolled_back(pool);
    test_metrics(pool);
    test_resize_and_evict();
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK); /* closing twice is allowed */
    litepool_free(pool);
    test_try_acquire_stats_health_and_ids();
    test_labeled_acquire_names_the_leak();
    test_open_from_env();
    test_memory_database_is_shared();
    test_commit_tokens_and_wal_options();
    return finish("test_api");
}
