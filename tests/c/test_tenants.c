/* Tenants from C: one pool, each tenant's database ATTACHed as
 * `tenant_<code>` on the leases that ask for it. Isolation, code checks,
 * unknown tenants, removal with leases out, a transaction spanning main and
 * a tenant through litepool_exec, counters, the LRU attachment limit, and
 * every misuse of the tenant functions. */
#include "check.h" /* first: it sets _POSIX_C_SOURCE */

#include <pthread.h>

static char dir_path[300];

static void tenant_path(char *out, size_t len, const char *code) {
    snprintf(out, len, "%s/%s.db", dir_path, code);
}

static litepool_pool *open_pool(const char *name, uint32_t max_size) {
    char path[300];
    litepool_config cfg;
    litepool_pool *pool = NULL;
    test_path(path, sizeof path, name);
    litepool_config_default(&cfg);
    cfg.max_size = max_size;
    cfg.min_idle = 1;
    cfg.name = "tenants";
    CHECK_RC(litepool_open(path, &cfg, &pool), LITEPOOL_OK);
    return pool;
}

static void register_tenant(litepool_pool *pool, const char *code) {
    char path[300];
    tenant_path(path, sizeof path, code);
    CHECK_RC(litepool_register_tenant(pool, code, path), LITEPOOL_OK);
}

/* The first column of the first row of `sql` as an integer, -1 on failure. */
static long long query_int(litepool_conn *conn, const char *sql) {
    sqlite3_stmt *stmt = NULL;
    long long v = -1;
    sqlite3 *db = litepool_conn_db(conn);
    if (db == NULL || sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf(stderr, "prepare failed: %s\n  %s\n", db ? sqlite3_errmsg(db) : litepool_last_error(), sql);
        return -1;
    }
    if (sqlite3_step(stmt) == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return v;
}

/* query_int on a fresh lease for `code` (NULL: an ordinary lease). */
static long long tenant_int(litepool_pool *pool, const char *code, const char *sql) {
    litepool_conn *conn = NULL;
    long long v;
    litepool_result rc = code ? litepool_acquire_tenant(pool, code, LITEPOOL_LANE_READ, 1000, &conn)
                              : litepool_acquire_read(pool, 1000, &conn);
    CHECK_RC(rc, LITEPOOL_OK);
    if (rc != LITEPOOL_OK) return -1;
    v = query_int(conn, sql);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    return v;
}

static void exec_as(litepool_pool *pool, const char *code, const char *sql) {
    litepool_conn *conn = NULL;
    CHECK_RC(litepool_acquire_tenant(pool, code, LITEPOOL_LANE_WRITE, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, sql), LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
}

static void test_register(litepool_pool *pool) {
    char path[300], other[300];
    tenant_path(path, sizeof path, "a");
    tenant_path(other, sizeof other, "a_elsewhere");
    /* Registering again with the same path does nothing; another path is refused. */
    CHECK_RC(litepool_register_tenant(pool, "a", path), LITEPOOL_OK);
    CHECK_RC(litepool_register_tenant(pool, "a", other), LITEPOOL_INVALID_CONFIG);
    CHECK_MSG("already registered");
    CHECK(access(other, F_OK) != 0);
    /* A path that cannot be opened fails now, naming it. */
    CHECK_RC(litepool_register_tenant(pool, "nowhere", "/nonexistent-litepool-dir/t.db"), LITEPOOL_OPEN_FAILED);
    CHECK_MSG("/nonexistent-litepool-dir/t.db");
    CHECK_RC(litepool_acquire_tenant(pool, "nowhere", LITEPOOL_LANE_ANY, 100, &(litepool_conn *){NULL}),
             LITEPOOL_UNKNOWN_TENANT);
}

static void test_isolation(litepool_pool *pool) {
    char path[300];
    sqlite3 *raw = NULL;
    sqlite3_stmt *stmt = NULL;
    int rows = 0;

    exec_as(pool, "a",
            "CREATE TABLE tenant_a.users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
            "INSERT INTO tenant_a.users (name) VALUES ('alice'), ('amy')");
    exec_as(pool, "b",
            "CREATE TABLE tenant_b.users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
            "INSERT INTO tenant_b.users (name) VALUES ('bob')");

    /* Same table name, different databases: each tenant sees only its rows. */
    CHECK(tenant_int(pool, "b", "SELECT count(*) FROM tenant_b.users") == 1);
    CHECK(tenant_int(pool, "b", "SELECT count(*) FROM tenant_b.users WHERE name IN ('alice', 'amy')") == 0);
    CHECK(tenant_int(pool, "b", "SELECT count(*) FROM tenant_b.users WHERE name = 'bob'") == 1);
    CHECK(tenant_int(pool, "a", "SELECT count(*) FROM tenant_a.users") == 2);
    CHECK(tenant_int(pool, "a", "SELECT count(*) FROM tenant_a.users WHERE name = 'bob'") == 0);
    /* The main database has no users table: the rows live in the tenant files. */
    CHECK(tenant_int(pool, NULL, "SELECT count(*) FROM main.sqlite_master WHERE name = 'users'") == 0);

    /* Opened directly, b's file holds only b's rows. */
    tenant_path(path, sizeof path, "b");
    CHECK(sqlite3_open_v2(path, &raw, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(raw, "SELECT name FROM users", -1, &stmt, NULL) == SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        rows++;
        CHECK(strcmp((const char *)sqlite3_column_text(stmt, 0), "bob") == 0);
    }
    CHECK(rows == 1);
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
}

/* Runs `sql` through the raw handle; returns SQLite's result code. */
static int raw_exec(litepool_conn *conn, const char *sql) {
    return sqlite3_exec(litepool_conn_db(conn), sql, NULL, NULL, NULL);
}

/* Clean leases through the raw handle: a tenant cannot plant a TEMP
 * trigger or list the other tenants' files; removing the pool's authorizer
 * with sqlite3_set_authorizer(db, NULL, NULL) does not unconfine later
 * leases of other tenants; pragmas and TEMP objects do not outlive a lease. */
static void test_clean_leases(void) {
    litepool_pool *pool = open_pool("clean.db", 1);
    litepool_conn *conn = NULL;
    register_tenant(pool, "ca");
    register_tenant(pool, "cb");
    exec_as(pool, "cb", "CREATE TABLE tenant_cb.users (name TEXT); INSERT INTO tenant_cb.users VALUES ('secret')");
    CHECK_RC(litepool_acquire_write(pool, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, "CREATE TABLE main.usage_log (who TEXT)"), LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);

    CHECK_RC(litepool_acquire_tenant(pool, "ca", LITEPOOL_LANE_WRITE, 1000, &conn), LITEPOOL_OK);
    CHECK(raw_exec(conn, "CREATE TEMP TABLE loot (name TEXT)") == SQLITE_OK);
    CHECK(raw_exec(conn, "CREATE TEMP TRIGGER grab AFTER INSERT ON main.usage_log "
                         "BEGIN INSERT INTO loot SELECT name FROM tenant_cb.users; END") == SQLITE_AUTH);
    CHECK(query_int(conn, "SELECT count(*) FROM pragma_database_list") == -1);
    /* Lift the confinement for this lease (allowed: it is the lease's own
     * connection) and change state without the pool seeing it. */
    sqlite3_set_authorizer(litepool_conn_db(conn), NULL, NULL);
    CHECK(query_int(conn, "SELECT count(*) FROM tenant_cb.users") == 1);
    CHECK(raw_exec(conn, "PRAGMA foreign_keys = OFF") == SQLITE_OK);
    sqlite3_busy_timeout(litepool_conn_db(conn), 1);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);

    CHECK(tenant_int(pool, "ca", "SELECT count(*) FROM temp.sqlite_master") == 0);
    CHECK(tenant_int(pool, "ca", "SELECT count(*) FROM tenant_cb.users") == -1);
    CHECK(tenant_int(pool, "ca", "PRAGMA foreign_keys") == 1);
    CHECK(tenant_int(pool, "ca", "PRAGMA busy_timeout") == 5000);

    /* A read lease stays read-only: turning query_only off is refused. */
    CHECK_RC(litepool_acquire_read(pool, 1000, &conn), LITEPOOL_OK);
    CHECK(raw_exec(conn, "PRAGMA query_only = OFF") == SQLITE_AUTH);
    CHECK_RC(litepool_exec(conn, "INSERT INTO usage_log VALUES ('x')"), LITEPOOL_READ_ONLY_LANE);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

static void test_invalid_codes(litepool_pool *pool) {
    char long_code[70], path[300], sql[200];
    char max_code[65];
    const char *bad[5];
    litepool_conn *conn = NULL;
    litepool_tenant_stats st;
    size_t i;
    memset(long_code, 'a', 65);
    long_code[65] = 0;
    bad[0] = "Upper";
    bad[1] = "a;DROP TABLE users";
    bad[2] = long_code;
    bad[3] = "";
    bad[4] = "x\"y";
    test_path(path, sizeof path, "bad.db");
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RC(litepool_register_tenant(pool, bad[i], path), LITEPOOL_INVALID_TENANT);
        CHECK_MSG("litepool_register_tenant: invalid tenant code");
        CHECK_RC(litepool_acquire_tenant(pool, bad[i], LITEPOOL_LANE_ANY, 100, &conn), LITEPOOL_INVALID_TENANT);
        CHECK_MSG("expected 1 to 64 characters of [a-z0-9_]");
        CHECK_RC(litepool_remove_tenant(pool, bad[i], 0), LITEPOOL_INVALID_TENANT);
        CHECK_RC(litepool_get_tenant_stats(pool, bad[i], &st), LITEPOOL_INVALID_TENANT);
    }
    CHECK(conn == NULL);
    /* Checked before anything is opened: no file was created. */
    CHECK(access(path, F_OK) != 0);
    /* 64 characters is the longest valid code. */
    memset(max_code, 'z', 64);
    max_code[64] = 0;
    register_tenant(pool, max_code);
    CHECK_RC(litepool_acquire_tenant(pool, max_code, LITEPOOL_LANE_ANY, 1000, &conn), LITEPOOL_OK);
    /* Attached under its schema (a tenant lease may not list the attachments). */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tenant_%s.sqlite_master", max_code);
    CHECK(query_int(conn, sql) == 0);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_remove_tenant(pool, max_code, 1000), LITEPOOL_OK);
}

static void test_unknown_tenant(litepool_pool *pool) {
    litepool_conn *conn = NULL;
    litepool_tenant_stats st, untouched;
    memset(&st, 0xab, sizeof st);
    untouched = st;
    CHECK_RC(litepool_acquire_tenant(pool, "nobody", LITEPOOL_LANE_ANY, 100, &conn), LITEPOOL_UNKNOWN_TENANT);
    CHECK_MSG("litepool_acquire_tenant: unknown tenant \"nobody\"");
    CHECK(conn == NULL); /* outputs are written only on success */
    CHECK_RC(litepool_remove_tenant(pool, "nobody", 0), LITEPOOL_UNKNOWN_TENANT);
    CHECK_RC(litepool_get_tenant_stats(pool, "nobody", &st), LITEPOOL_UNKNOWN_TENANT);
    CHECK(memcmp(&st, &untouched, sizeof st) == 0);
    CHECK(strcmp(litepool_result_name(LITEPOOL_UNKNOWN_TENANT), "LITEPOOL_UNKNOWN_TENANT") == 0);
}

static void test_lanes(litepool_pool *pool) {
    litepool_conn *conn = NULL;
    CHECK_RC(litepool_acquire_tenant(pool, "a", LITEPOOL_LANE_READ, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, "DELETE FROM tenant_a.users"), LITEPOOL_READ_ONLY_LANE);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK(tenant_int(pool, "a", "SELECT count(*) FROM tenant_a.users") == 2);
    CHECK_RC(litepool_acquire_tenant(pool, "a", LITEPOOL_LANE_ANY, 1000, &conn), LITEPOOL_OK);
    CHECK(query_int(conn, "SELECT count(*) FROM tenant_a.users") == 2);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
}

static void test_transaction_spans_main_and_a_tenant(litepool_pool *pool) {
    litepool_conn *conn = NULL;
    litepool_stats before, after;
    const char *both =
        "SELECT (SELECT count(*) FROM tenant_a.users WHERE name = 'tx') * 10 + (SELECT count(*) FROM main.audit)";
    exec_as(pool, "a", "CREATE TABLE main.audit (what TEXT NOT NULL)");

    /* Rolled back explicitly: neither database keeps its row. */
    CHECK_RC(litepool_acquire_tenant(pool, "a", LITEPOOL_LANE_WRITE, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, "BEGIN IMMEDIATE;"
                                 "INSERT INTO tenant_a.users (name) VALUES ('tx');"
                                 "INSERT INTO main.audit VALUES ('added tx')"),
             LITEPOOL_OK);
    CHECK(query_int(conn, both) == 11); /* visible inside the transaction */
    CHECK_RC(litepool_exec(conn, "ROLLBACK"), LITEPOOL_OK);
    CHECK(query_int(conn, both) == 0);

    /* A statement failing half-way: roll back, and main loses its row too. */
    CHECK_RC(litepool_exec(conn, "BEGIN IMMEDIATE;"
                                 "INSERT INTO main.audit VALUES ('about to fail');"
                                 "INSERT INTO tenant_a.users (id, name) VALUES (1, 'duplicate id')"),
             LITEPOOL_SQLITE_ERROR);
    CHECK(litepool_last_sqlite_code() == SQLITE_CONSTRAINT_PRIMARYKEY);
    CHECK_RC(litepool_exec(conn, "ROLLBACK"), LITEPOOL_OK);
    CHECK(query_int(conn, "SELECT count(*) FROM main.audit") == 0);

    /* Left open at release: the pool rolls both back. */
    CHECK_RC(litepool_exec(conn, "BEGIN IMMEDIATE;"
                                 "INSERT INTO tenant_a.users (name) VALUES ('tx');"
                                 "INSERT INTO main.audit VALUES ('added tx')"),
             LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &before), LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_get_stats(pool, &after), LITEPOOL_OK);
    CHECK(after.rolled_back_on_return == before.rolled_back_on_return + 1);
    CHECK(tenant_int(pool, "a", both) == 0);

    /* Committed: both keep their row, seen from another lease. */
    CHECK_RC(litepool_acquire_tenant(pool, "a", LITEPOOL_LANE_WRITE, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_exec(conn, "BEGIN IMMEDIATE;"
                                 "INSERT INTO tenant_a.users (name) VALUES ('tx');"
                                 "INSERT INTO main.audit VALUES ('added tx');"
                                 "COMMIT"),
             LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK(tenant_int(pool, "a", both) == 11);
    CHECK(tenant_int(pool, NULL, "SELECT count(*) FROM main.audit") == 1);
}

static void test_stats_and_metrics(litepool_pool *pool) {
    litepool_tenant_stats before, after;
    litepool_conn *conn = NULL, *held = NULL;
    char metrics[16384];
    size_t needed = 0;
    CHECK_RC(litepool_get_tenant_stats(pool, "b", &before), LITEPOOL_OK);
    CHECK(before.active == 0 && before.attaches >= 1 && before.acquired >= 3);
    /* The same idle connection, still carrying b, serves the second lease. */
    CHECK_RC(litepool_acquire_tenant(pool, "b", LITEPOOL_LANE_ANY, 1000, &conn), LITEPOOL_OK);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    CHECK_RC(litepool_acquire_tenant(pool, "b", LITEPOOL_LANE_ANY, 1000, &held), LITEPOOL_OK);
    CHECK_RC(litepool_get_tenant_stats(pool, "b", &after), LITEPOOL_OK);
    CHECK(after.active == 1);
    CHECK(after.acquired == before.acquired + 2);
    CHECK(after.affinity_hits >= before.affinity_hits + 1);
    CHECK(after.attaches - after.detaches <= 2); /* at most once per connection */

    /* Metrics label leases per tenant, only for tenants with leases out. */
    CHECK_RC(litepool_metrics(pool, metrics, sizeof metrics, &needed), LITEPOOL_OK);
    CHECK(strstr(metrics, "litepool_tenants{pool=\"tenants\"} 2") != NULL);
    CHECK(strstr(metrics, "litepool_tenant_leases_active{pool=\"tenants\",tenant=\"b\"} 1") != NULL);
    CHECK(strstr(metrics, "litepool_tenant_leases_active{pool=\"tenants\",tenant=\"a\"}") == NULL);
    CHECK_RC(litepool_release(held), LITEPOOL_OK);
    CHECK_RC(litepool_get_tenant_stats(pool, "b", &after), LITEPOOL_OK);
    CHECK(after.active == 0);
}

struct delayed_release {
    litepool_conn *conn;
    long delay_ms;
};

static void *release_later(void *arg) {
    struct delayed_release *d = arg;
    sleep_ms(d->delay_ms);
    CHECK_RC(litepool_release(d->conn), LITEPOOL_OK);
    return NULL;
}

static void test_remove_with_a_lease_out(litepool_pool *pool) {
    litepool_conn *held = NULL, *again = NULL;
    litepool_tenant_stats st;
    struct delayed_release d;
    pthread_t thread;
    register_tenant(pool, "gone");
    exec_as(pool, "gone", "CREATE TABLE tenant_gone.t (x); INSERT INTO tenant_gone.t VALUES (42)");

    /* With a lease out, removal gives up at its timeout and changes nothing. */
    CHECK_RC(litepool_acquire_tenant(pool, "gone", LITEPOOL_LANE_ANY, 1000, &held), LITEPOOL_OK);
    CHECK_RC(litepool_remove_tenant(pool, "gone", 0), LITEPOOL_TENANT_BUSY);
    CHECK_RC(litepool_remove_tenant(pool, "gone", 50), LITEPOOL_TENANT_BUSY);
    CHECK_MSG("litepool_remove_tenant: tenant \"gone\" still has 1 lease(s) out");
    CHECK_RC(litepool_get_tenant_stats(pool, "gone", &st), LITEPOOL_OK);
    CHECK(st.active == 1);
    CHECK(query_int(held, "SELECT x FROM tenant_gone.t") == 42);
    CHECK_RC(litepool_acquire_tenant(pool, "gone", LITEPOOL_LANE_ANY, 1000, &again), LITEPOOL_OK);
    CHECK_RC(litepool_release(again), LITEPOOL_OK);

    /* Removal waits for a lease released within its timeout. */
    d.conn = held;
    d.delay_ms = 100;
    CHECK(pthread_create(&thread, NULL, release_later, &d) == 0);
    CHECK_RC(litepool_remove_tenant(pool, "gone", 10000), LITEPOOL_OK);
    pthread_join(thread, NULL);
    CHECK_RC(litepool_release(held), LITEPOOL_ALREADY_RELEASED);

    again = NULL;
    CHECK_RC(litepool_acquire_tenant(pool, "gone", LITEPOOL_LANE_ANY, 100, &again), LITEPOOL_UNKNOWN_TENANT);
    CHECK(again == NULL);
    CHECK_RC(litepool_get_tenant_stats(pool, "gone", &st), LITEPOOL_UNKNOWN_TENANT);
    CHECK_RC(litepool_remove_tenant(pool, "gone", 0), LITEPOOL_UNKNOWN_TENANT);

    /* The file stays; registering it again brings its data back. */
    register_tenant(pool, "gone");
    CHECK(tenant_int(pool, "gone", "SELECT x FROM tenant_gone.t") == 42);
    CHECK_RC(litepool_remove_tenant(pool, "gone", 1000), LITEPOOL_OK);
}

/* One connection, its attachment limit lowered to 2 with sqlite3_limit:
 * six tenants in turn evict the least recently used, and all still work. */
static void test_lru_past_the_attachment_limit(void) {
    litepool_pool *pool = open_pool("lru.db", 1);
    litepool_conn *conn = NULL;
    litepool_tenant_stats st;
    char code[16], sql[200];
    unsigned long long attaches = 0, detaches = 0;
    int i, round;
    for (i = 0; i < 6; i++) {
        snprintf(code, sizeof code, "t%d", i);
        register_tenant(pool, code);
    }
    CHECK_RC(litepool_acquire(pool, 1000, &conn), LITEPOOL_OK);
    CHECK(sqlite3_limit(litepool_conn_db(conn), SQLITE_LIMIT_ATTACHED, 2) >= 2);
    CHECK_RC(litepool_release(conn), LITEPOOL_OK);
    for (round = 0; round < 2; round++) {
        for (i = 0; i < 6; i++) {
            snprintf(code, sizeof code, "t%d", i);
            CHECK_RC(litepool_acquire_tenant(pool, code, LITEPOOL_LANE_WRITE, 1000, &conn), LITEPOOL_OK);
            snprintf(sql, sizeof sql,
                     "CREATE TABLE IF NOT EXISTS tenant_t%d.t (code TEXT); INSERT INTO tenant_t%d.t VALUES ('t%d')",
                     i, i, i);
            CHECK_RC(litepool_exec(conn, sql), LITEPOOL_OK);
            snprintf(sql, sizeof sql, "SELECT count(*) FROM tenant_t%d.t WHERE code = 't%d'", i, i);
            CHECK(query_int(conn, sql) == round + 1);
            CHECK(query_int(conn, "SELECT count(*) FROM pragma_database_list WHERE name LIKE 'tenant_%'") <= 2);
            CHECK_RC(litepool_release(conn), LITEPOOL_OK);
        }
    }
    for (i = 0; i < 6; i++) {
        snprintf(code, sizeof code, "t%d", i);
        CHECK_RC(litepool_get_tenant_stats(pool, code, &st), LITEPOOL_OK);
        CHECK(st.acquired == 2);
        attaches += st.attaches;
        detaches += st.detaches;
    }
    /* 12 leases cycling through 6 tenants on 2 slots: every one attached. */
    CHECK(attaches == 12);
    CHECK(detaches == 10);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
}

static void test_misuse(litepool_pool *pool) {
    litepool_conn *conn = NULL, *lease = NULL;
    litepool_tenant_stats st;
    static const char bad_utf8[] = {'a', (char)0xff, 0};
    char path[300];
    tenant_path(path, sizeof path, "a");

    CHECK_RC(litepool_register_tenant(NULL, "a", path), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("litepool_register_tenant: `pool` is NULL");
    CHECK_RC(litepool_register_tenant(pool, NULL, path), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("`code` is NULL");
    CHECK_RC(litepool_register_tenant(pool, "a", NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("`path` is NULL");
    CHECK_RC(litepool_remove_tenant(NULL, "a", 0), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_remove_tenant(pool, NULL, 0), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_tenant(NULL, "a", LITEPOOL_LANE_ANY, 10, &conn), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_tenant(pool, NULL, LITEPOOL_LANE_ANY, 10, &conn), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_acquire_tenant(pool, "a", LITEPOOL_LANE_ANY, 10, NULL), LITEPOOL_NULL_ARGUMENT);
    CHECK_MSG("`out` is NULL");
    CHECK_RC(litepool_get_tenant_stats(NULL, "a", &st), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_get_tenant_stats(pool, NULL, &st), LITEPOOL_NULL_ARGUMENT);
    CHECK_RC(litepool_get_tenant_stats(pool, "a", NULL), LITEPOOL_NULL_ARGUMENT);

    CHECK_RC(litepool_register_tenant(pool, bad_utf8, path), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`code` is not valid UTF-8");
    CHECK_RC(litepool_register_tenant(pool, "c", bad_utf8), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`path` is not valid UTF-8");
    CHECK_RC(litepool_acquire_tenant(pool, bad_utf8, LITEPOOL_LANE_ANY, 10, &conn), LITEPOOL_INVALID_ARGUMENT);
    CHECK_RC(litepool_acquire_tenant(pool, "a", 9, 10, &conn), LITEPOOL_INVALID_ARGUMENT);
    CHECK_MSG("`lane` is 9");
    CHECK(conn == NULL);

    /* A lease passed where a pool is expected. */
    CHECK_RC(litepool_acquire(pool, 1000, &lease), LITEPOOL_OK);
    CHECK_RC(litepool_acquire_tenant((litepool_pool *)lease, "a", LITEPOOL_LANE_ANY, 10, &conn),
             LITEPOOL_INVALID_HANDLE);
    CHECK_RC(litepool_register_tenant((litepool_pool *)lease, "a", path), LITEPOOL_INVALID_HANDLE);
    CHECK_RC(litepool_release(lease), LITEPOOL_OK);
}

static void test_closed_and_freed_pool(void) {
    litepool_pool *pool = open_pool("closed.db", 2);
    litepool_conn *conn = NULL;
    litepool_tenant_stats st;
    char path[300];
    register_tenant(pool, "c");
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    CHECK_RC(litepool_acquire_tenant(pool, "c", LITEPOOL_LANE_ANY, 100, &conn), LITEPOOL_CLOSED);
    CHECK_RC(litepool_get_tenant_stats(pool, "c", &st), LITEPOOL_OK); /* still readable */
    litepool_free(pool);
    tenant_path(path, sizeof path, "c");
    CHECK_RC(litepool_register_tenant(pool, "c", path), LITEPOOL_POOL_FREED);
    CHECK_RC(litepool_acquire_tenant(pool, "c", LITEPOOL_LANE_ANY, 100, &conn), LITEPOOL_POOL_FREED);
    CHECK_RC(litepool_remove_tenant(pool, "c", 0), LITEPOOL_POOL_FREED);
    CHECK_RC(litepool_get_tenant_stats(pool, "c", &st), LITEPOOL_POOL_FREED);
    CHECK(conn == NULL);
}

int main(void) {
    litepool_pool *pool;
    snprintf(dir_path, sizeof dir_path, "%s", test_dir());
    CHECK(LITEPOOL_INVALID_TENANT == 17 && LITEPOOL_UNKNOWN_TENANT == 18 && LITEPOOL_TENANT_BUSY == 19);
    pool = open_pool("main.db", 2);
    register_tenant(pool, "a");
    register_tenant(pool, "b");
    test_register(pool);
    test_isolation(pool);
    test_invalid_codes(pool);
    test_unknown_tenant(pool);
    test_lanes(pool);
    test_transaction_spans_main_and_a_tenant(pool);
    test_stats_and_metrics(pool);
    test_remove_with_a_lease_out(pool);
    test_misuse(pool);
    CHECK_RC(litepool_close(pool, 1000), LITEPOOL_OK);
    litepool_free(pool);
    test_lru_past_the_attachment_limit();
    test_closed_and_freed_pool();
    test_clean_leases();
    return finish("test_tenants");
}
