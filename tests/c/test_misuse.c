/* Misuse is an error, not undefined behaviour: every case in the issue
 * returns its documented code, sets the message, and crashes nothing. */
#include "check.h"

static litepool_pool *open_pool(const char *file, uint32_t max_size) {
    char path[300];
    litepool_config cfg;
    litepool_pool *pool = NULL;
    test_path(path, sizeof path, file);
    litepool_config_default(&cfg);
    cfg.max_size = max_size;
    cfg.min_idle = 0;
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    return pool;
}

static void test_null_pointers(litepool_pool *pool) {
    litepool_config cfg;
    litepool_pool *p = NULL;
    litepool_conn *c = NULL;
    litepool_stats st;
    uint64_t id;
    litepool_config_default(&cfg);

    litepool_config_default(NULL); /* documented: does nothing */
    CHECK_MSG("`cfg` is NULL");
    CHECK_RC(litepool_open(NULL, &cfg, &p), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("litepool_open: `path` is NULL");
    CHECK_RC(litepool_open("x.db", NULL, &p), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("`cfg` is NULL");
    CHECK_RC(litepool_open("x.db", &cfg, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("`out` is NULL");
    CHECK_RC(litepool_open_from_env(NULL, &p), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_open_from_env("x.db", NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK(p == NULL);

    CHECK_RC(litepool_acquire(NULL, 10, &c), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("litepool_acquire: `pool` is NULL");
    CHECK_RC(litepool_acquire(pool, 10, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_try_acquire(NULL, &c), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_try_acquire(pool, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_read(NULL, 10, &c), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_read(pool, 10, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_write(NULL, 10, &c), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_write(pool, 10, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_labeled(pool, LITEPOOL_LANE_ANY, 10, NULL, &c), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("`label` is NULL");
    CHECK_RC(litepool_acquire_labeled(NULL, LITEPOOL_LANE_ANY, 10, "x", &c), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_labeled(pool, LITEPOOL_LANE_ANY, 10, "x", NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK(c == NULL);

    CHECK(litepool_conn_db(NULL) == NULL);
    CHECK_MSG("litepool_conn_db: `conn` is NULL");
    CHECK_RC(litepool_exec(NULL, "SELECT 1"), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_conn_id(NULL, &id), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_release(NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_get_stats(NULL, &st), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_get_stats(pool, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK(litepool_health(NULL) == -1);
    CHECK_MSG("`pool` is NULL");
    CHECK_RC(litepool_metrics(NULL, NULL, 0, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_metrics(pool, NULL, 16, NULL), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`buf` is NULL");
    CHECK_RC(litepool_close(NULL, 0), LITEPOOL_NULL_ARGUMENT);
    litepool_free(NULL); /* documented: does nothing, like free(NULL) */
    CHECK(strcmp(litepool_last_error(), "") == 0);

    /* NULL arguments on a live lease. */
    CHECK_RC(litepool_acquire(pool, 1000, &c), LITEPOOL_OK);
    CHECK_RC(litepool_exec(c, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("`sql` is NULL");
    CHECK_RC(litepool_conn_id(c, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_release(c), LITEPOOL_OK);
}

static void test_release_twice_and_use_after_release(litepool_pool *pool) {
    litepool_conn *c = NULL, *d = NULL;
    uint64_t id = 0;
    litepool_stats st;
    CHECK_RC(litepool_acquire(pool, 1000, &c), LITEPOOL_OK);
    CHECK_RC(litepool_release(c), LITEPOOL_OK);
    CHECK_RC(litepool_release(c), LITEPOOL_ALREADY_RELEASED);
    CHECK_MSG("already released");
    CHECK(litepool_conn_db(c) == NULL);
    CHECK_MSG("litepool_conn_db: the connection was already released");
    CHECK_RC(litepool_exec(c, "SELECT 1"), LITEPOOL_ALREADY_RELEASED);
    CHECK_RC(litepool_conn_id(c, &id), LITEPOOL_ALREADY_RELEASED);
    CHECK(id == 0);

    /* The same slot is reused by the next lease: the old handle stays dead
     * and cannot release the new lease. */
    CHECK_RC(litepool_acquire(pool, 1000, &d), LITEPOOL_OK);
    CHECK(d != c);
    CHECK_RC(litepool_release(c), LITEPOOL_ALREADY_RELEASED);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    CHECK(st.active == 1);
    CHECK_RC(litepool_exec(d, "SELECT 1"), LITEPOOL_OK);
    CHECK_RC(litepool_release(d), LITEPOOL_OK);
}

static void test_handles_that_were_never_issued(litepool_pool *pool) {
    litepool_conn *c = NULL;
    litepool_pool *bogus_pool = (litepool_pool *)(uintptr_t)0x1234;
    litepool_conn *bogus_conn = (litepool_conn *)(uintptr_t)0xdeadbeefu;
    litepool_stats st;
    CHECK_RC(litepool_acquire(bogus_pool, 10, &c), LITEPOOL_INVALID_HANDLE);
    CHECK_MSG("not a pool handle");
    CHECK_RC(litepool_get_stats(bogus_pool, &st), LITEPOOL_INVALID_HANDLE);
    CHECK_RC(litepool_release(bogus_conn), LITEPOOL_INVALID_HANDLE);
    CHECK(litepool_conn_db(bogus_conn) == NULL);
    /* A pool handle passed as a connection, and the reverse. */
    CHECK_RC(litepool_release((litepool_conn *)(void *)pool), LITEPOOL_INVALID_HANDLE);
    CHECK_RC(litepool_acquire(pool, 1000, &c), LITEPOOL_OK);
    CHECK_RC(litepool_close((litepool_pool *)(void *)c, 0), LITEPOOL_INVALID_HANDLE);
    litepool_free((litepool_pool *)(void *)c);
    CHECK_MSG("not a pool handle");
    CHECK_RC(litepool_release(c), LITEPOOL_OK);
}

/* A real handle with its generation forged to 0xFFFFFFFF (a slot far
 * younger than that) was never issued: INVALID_HANDLE, not POOL_FREED. */
static void test_a_forged_generation_is_invalid_not_freed(litepool_pool *pool) {
    litepool_stats st;
    uintptr_t h = (uintptr_t)(void *)pool;
    litepool_pool *forged = (litepool_pool *)(h | (uintptr_t)0xFFFFFFFFu);
    CHECK_RC(litepool_get_stats(forged, &st), LITEPOOL_INVALID_HANDLE);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
}

static void test_acquire_from_a_closed_pool(void) {
    litepool_pool *pool = open_pool("closed.db", 2);
    litepool_conn *c = NULL;
    litepool_stats st;
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    CHECK_RC(litepool_acquire(pool, 1000, &c), LITEPOOL_CLOSED);
    CHECK_MSG("closed");
    CHECK_RC(litepool_try_acquire(pool, &c), LITEPOOL_CLOSED);
    CHECK_RC(litepool_acquire_read(pool, 1000, &c), LITEPOOL_CLOSED);
    CHECK_RC(litepool_acquire_write(pool, 1000, &c), LITEPOOL_CLOSED);
    CHECK(c == NULL);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK); /* still readable */
    CHECK(st.total == 0);
    litepool_free(pool);
}

static void test_close_with_a_lease_out_times_out(void) {
    litepool_pool *pool = open_pool("close-timeout.db", 2);
    litepool_conn *c = NULL;
    litepool_stats st;
    CHECK_RC(litepool_acquire(pool, 1000, &c), LITEPOOL_OK);
    CHECK_RC(litepool_close(pool, 20), LITEPOOL_CLOSE_TIMEOUT);
    CHECK_MSG("1 connection(s) still leased");
    CHECK_RC(litepool_exec(c, "SELECT 1"), LITEPOOL_OK); /* the lease still works */
    CHECK_RC(litepool_release(c), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_OK);
    CHECK(st.total == 0 && st.active == 0);
    litepool_free(pool);
}

static void test_free_with_leases_out_defers_the_free(void) {
    litepool_pool *pool = open_pool("free.db", 2);
    litepool_conn *a = NULL, *b = NULL;
    sqlite3_stmt *stmt = NULL;
    litepool_stats st;
    CHECK_RC(litepool_acquire(pool, 1000, &a), LITEPOOL_OK);
    CHECK_RC(litepool_acquire_write(pool, 1000, &b), LITEPOOL_OK);
    litepool_free(pool);
    CHECK(strcmp(litepool_last_error(), "") == 0); /* not an error */

    /* The pool handle is dead at once... */
    CHECK_RC(litepool_acquire(pool, 10, &a), LITEPOOL_POOL_FREED);
    CHECK_MSG("already freed");
    CHECK_RC(litepool_get_stats(pool, &st), LITEPOOL_POOL_FREED);
    CHECK(litepool_health(pool) == -1);
    CHECK_RC(litepool_close(pool, 0), LITEPOOL_POOL_FREED);
    litepool_free(pool); /* freeing twice: nothing happens, message set */
    CHECK_MSG("litepool_free: the pool was already freed");

    /* ...while the leases keep working until released. */
    CHECK_RC(litepool_exec(b, "CREATE TABLE t (x); INSERT INTO t VALUES (1)"), LITEPOOL_OK);
    CHECK(sqlite3_prepare_v2(litepool_conn_db(a), "SELECT count(*) FROM t", -1, &stmt, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 1);
    sqlite3_finalize(stmt);
    CHECK_RC(litepool_release(a), LITEPOOL_OK);
    CHECK_RC(litepool_release(b), LITEPOOL_OK); /* the last one frees the pool */
    CHECK_RC(litepool_release(b), LITEPOOL_ALREADY_RELEASED);
}

static void test_non_utf8_strings(void) {
    char path[300];
    litepool_config cfg;
    litepool_pool *pool = NULL;
    litepool_conn *c = NULL;
    static const char bad[] = {'b', 'a', 'd', (char)0xff, (char)0xfe, '.', 'd', 'b', 0};
    litepool_config_default(&cfg);
    CHECK_RC(litepool_open(bad, &cfg, &pool), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`path` is not valid UTF-8");
    CHECK_RC(litepool_open_from_env(bad, &pool), LITEPOOL_INVALID_ARGUMENT);
    cfg.name = bad;
    test_path(path, sizeof path, "utf8.db");
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`cfg->name` is not valid UTF-8");
    CHECK(pool == NULL);

    litepool_config_default(&cfg);
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    CHECK_RC(litepool_acquire(pool, 1000, &c), LITEPOOL_OK);
    CHECK_RC(litepool_exec(c, bad), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`sql` is not valid UTF-8");
    CHECK_RC(litepool_release(c), LITEPOOL_OK);
    CHECK_RC(litepool_acquire_labeled(pool, LITEPOOL_LANE_ANY, 1000, bad, &c), LITEPOOL_INVALID_ARGUMENT);
    CHECK_RC(litepool_acquire_labeled(pool, 7, 1000, "x", &c), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`lane` is 7");
    litepool_free(pool);
}

static void check_invalid(litepool_config *cfg, const char *field) {
    char path[300];
    litepool_pool *pool = NULL;
    test_path(path, sizeof path, "invalid.db");
    CHECK_RC(litepool_open(path, cfg, &pool), LITEPOOL_INVALID_CONFIG);
    CHECK_MSG(field);
    CHECK(pool == NULL);
    litepool_config_default(cfg);
}

static void test_invalid_config(void) {
    litepool_config cfg;
    litepool_pool *pool = NULL;
    litepool_config_default(&cfg);
    cfg.max_size = 0;
    check_invalid(&cfg, "max_size");
    cfg.min_idle = 11;
    check_invalid(&cfg, "min_idle");
    cfg.acquire_timeout_ms = 0;
    check_invalid(&cfg, "acquire_timeout");
    cfg.housekeeping_period_ms = 0;
    check_invalid(&cfg, "housekeeping_period");
    cfg.busy_timeout_ms = 0xffffffffu;
    check_invalid(&cfg, "busy_timeout");
    cfg.journal_mode = "SIDEWAYS";
    check_invalid(&cfg, "journal_mode");
    cfg.synchronous = "SOMETIMES";
    check_invalid(&cfg, "synchronous");
    cfg.name = "a\"b";
    check_invalid(&cfg, "name");

    setenv("DB_POOL_MAX", "ten", 1);
    CHECK_RC(litepool_open_from_env(":memory:", &pool), LITEPOOL_INVALID_CONFIG);
    CHECK_MSG("DB_POOL_MAX");
    setenv("DB_POOL_MAX", "0", 1);
    CHECK_RC(litepool_open_from_env(":memory:", &pool), LITEPOOL_INVALID_CONFIG);
    unsetenv("DB_POOL_MAX");
    CHECK(pool == NULL);
}

static void test_unopenable_path(void) {
    litepool_config cfg;
    litepool_pool *pool = NULL;
    litepool_config_default(&cfg);
    CHECK_RC(litepool_open("/nonexistent-dir/for/sure/x.db", &cfg, &pool), LITEPOOL_OPEN_FAILED);
    CHECK_MSG("/nonexistent-dir/for/sure/x.db");
    CHECK(litepool_last_sqlite_code() == SQLITE_CANTOPEN);
    CHECK(pool == NULL);
}

int main(void) {
    litepool_pool *pool;
    test_dir();
    pool = open_pool("misuse.db", 2);
    test_null_pointers(pool);
    test_release_twice_and_use_after_release(pool);
    test_handles_that_were_never_issued(pool);
    test_a_forged_generation_is_invalid_not_freed(pool);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
    test_acquire_from_a_closed_pool();
    test_close_with_a_lease_out_times_out();
    test_free_with_leases_out_defers_the_free();
    test_non_utf8_strings();
    test_invalid_config();
    test_unopenable_path();
    return finish("test_misuse");
}
