/* Statement deadlines, load shedding, tenant weights, the warm statement
 * cache and the slow-statement log from C. */
#include "check.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>

/* Counts to a trillion: minutes of work if nothing stops it. */
#define RUNAWAY                                                                         \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000000) " \
    "SELECT count(*) FROM c"

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static litepool_pool *open_with(const char *file, litepool_config *cfg) {
    char path[300];
    litepool_pool *pool = NULL;
    test_path(path, sizeof path, file);
    CHECK_RC(litepool_open(path, cfg, &pool), LITEPOOL_OK);
    return pool;
}

static void test_deadlines(void) {
    litepool_config cfg;
    litepool_pool *pool;
    litepool_conn *conn = NULL;
    sqlite3_stmt *stmt = NULL;
    long started;
    litepool_config_default(&cfg);
    CHECK(cfg.statement_timeout_ms == 0); /* off by default */
    cfg.statement_timeout_ms = 100;
    pool = open_with("deadline.db", &cfg);
    CHECK_RC(litepool_acquire(pool, LITEPOOL_POOL_TIMEOUT, &conn), LITEPOOL_OK);
    started = now_ms();
    CHECK_RC(litepool_exec(conn, RUNAWAY), LITEPOOL_DEADLINE);
    CHECK(now_ms() - started < 2000); /* 100 ms, with room for valgrind */
    CHECK_MSG("was stopped after");
    CHECK_MSG("deadline 100 ms");
    CHECK_RC(litepool_exec(conn, "CREATE TABLE IF NOT EXISTS t (x)"), LITEPOOL_OK); /* still usable */
    /* A lease deadline stops statements run on the raw handle too. */
    CHECK_RC(litepool_conn_set_deadline(conn, 0), LITEPOOL_INVALID_ARGUMENT);
    CHECK_RC(litepool_conn_set_deadline(conn, 50), LITEPOOL_OK);
    CHECK(sqlite3_prepare_v2(litepool_conn_db(conn), RUNAWAY, -1, &stmt, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(stmt) == SQLITE_INTERRUPT);
    sqlite3_finalize(stmt);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_conn_set_deadline(conn, 50), LITEPOOL_ALREADY_RELEASED);
    CHECK(strcmp(litepool_result_name(LITEPOOL_DEADLINE), "LITEPOOL_DEADLINE") == 0);
    CHECK(LITEPOOL_DEADLINE == 25 && LITEPOOL_OVERLOADED == 26);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

static void *queue_one(void *arg) {
    litepool_pool *pool = arg;
    litepool_conn *conn = NULL;
    if (litepool_acquire(pool, 10000, &conn) == LITEPOOL_OK) {
        litepool_release(conn);
    }
    return NULL;
}

static void test_a_full_queue_sheds(void) {
    litepool_config cfg;
    litepool_pool *pool;
    litepool_conn *held = NULL, *refused = NULL;
    litepool_stats stats;
    pthread_t waiter;
    int i;
    litepool_config_default(&cfg);
    cfg.max_size = 1;
    cfg.min_idle = 1;
    cfg.max_waiting = 1;
    pool = open_with("shed.db", &cfg);
    CHECK_RC(litepool_acquire(pool, LITEPOOL_POOL_TIMEOUT, &held), LITEPOOL_OK);
    CHECK(pthread_create(&waiter, NULL, queue_one, pool) == 0);
    for (i = 0; i < 500; i++) {
        CHECK_RC(litepool_get_stats(pool, &stats), LITEPOOL_OK);
        if (stats.waiting == 1) break;
        sleep_ms(10);
    }
    CHECK(stats.waiting == 1);
    CHECK_RC(litepool_acquire(pool, 5000, &refused), LITEPOOL_OVERLOADED);
    CHECK_MSG("max_waiting");
    CHECK(refused == NULL);
    CHECK_RC(litepool_release(held), LITEPOOL_OK);
    CHECK(pthread_join(waiter, NULL) == 0);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

static void test_tenant_weights(void) {
    litepool_config cfg;
    litepool_pool *pool;
    char path[300];
    litepool_config_default(&cfg);
    cfg.fair_tenants = true;
    cfg.max_leases_per_tenant = 2;
    pool = open_with("fair.db", &cfg);
    test_path(path, sizeof path, "fair_t1.db");
    CHECK_RC(litepool_register_tenant(pool, "t1", path), LITEPOOL_OK);
    CHECK_RC(litepool_set_tenant_weight(pool, "t1", 3), LITEPOOL_OK);
    CHECK_RC(litepool_set_tenant_weight(pool, "t1", 0), LITEPOOL_INVALID_CONFIG);
    CHECK_MSG("weight");
    CHECK_RC(litepool_set_tenant_weight(pool, "nobody", 2), LITEPOOL_UNKNOWN_TENANT);
    CHECK_RC(litepool_set_tenant_weight(pool, NULL, 2), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

static void test_warm_cache_and_slow_log(void) {
    litepool_config cfg;
    litepool_pool *pool;
    litepool_conn *conn = NULL;
    char *text;
    size_t needed = 0;
    int i, warmed = 0;
    const char *series =
        "litepool_statement_warmed_total{pool=\"stmts\",sql=\"SELECT v FROM kv WHERE k = ?1\"} 1";
    litepool_config_default(&cfg);
    cfg.name = "stmts";
    cfg.max_size = 1;
    cfg.min_idle = 1;
    cfg.housekeeping_period_ms = 20;
    cfg.warm_statements = 4;
    cfg.statement_stats = 4;
    cfg.slow_statement_threshold_ms = 1;
    cfg.init_sql = "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v INTEGER)";
    pool = open_with("stmts.db", &cfg);
    CHECK_RC(litepool_prepare(pool, "SELECT v FROM kv WHERE k = ?1"), LITEPOOL_OK);
    CHECK_RC(litepool_prepare(pool, "SELECT * FROM no_such_table"), LITEPOOL_SQLITE_ERROR);
    CHECK_MSG("no_such_table");
    CHECK_RC(litepool_prepare(pool, NULL), LITEPOOL_NULL_ARGUMENT);
    /* A new connection is warmed with the pinned statement when it opens. */
    CHECK_RC(litepool_evict(pool, NULL), LITEPOOL_OK);
    for (i = 0; i < 250 && !warmed; i++) {
        sleep_ms(20);
        CHECK_RC(litepool_metrics(pool, NULL, 0, &needed), LITEPOOL_BUFFER_TOO_SMALL);
        text = malloc(needed);
        CHECK_RC(litepool_metrics(pool, text, needed, NULL), LITEPOOL_OK);
        warmed = strstr(text, series) != NULL;
        free(text);
    }
    CHECK(warmed);
    /* A slow statement is logged with its plan. */
    CHECK_RC(litepool_acquire(pool, LITEPOOL_POOL_TIMEOUT, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn,
                           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
                           "SELECT count(*) FROM c"),
             LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_slow_statements(pool, NULL, 0, &needed), LITEPOOL_BUFFER_TOO_SMALL);
    CHECK(needed > 1);
    text = malloc(needed);
    CHECK_RC(litepool_slow_statements(pool, text, needed, &needed), LITEPOOL_OK);
    CHECK(strstr(text, "slow statement: ran") != NULL);
    CHECK(strstr(text, "WITH RECURSIVE c(x)") != NULL);
    free(text);
    CHECK_RC(litepool_slow_statements(NULL, NULL, 0, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

int main(void) {
    test_dir();
    test_deadlines();
    test_a_full_queue_sheds();
    test_tenant_weights();
    test_warm_cache_and_slow_log();
    return finish("test_statements");
}
