"""Tenants: one pool, each tenant's database attached as tenant_<code>."""

import pytest

import litepool


@pytest.fixture
def tenants(pool, tmp_path):
    for code in ("acme", "globex"):
        pool.register_tenant(code, str(tmp_path / f"{code}.db"))
        pool.execute(f"CREATE TABLE tenant_{code}.items (name TEXT)", tenant=code)
    return pool


def test_two_tenants_are_isolated(tenants):
    pool = tenants
    pool.execute("INSERT INTO tenant_acme.items VALUES (?)", ("anvil",), tenant="acme")
    with pool.write(tenant="globex") as conn:
        assert conn.tenant_schema == "tenant_globex"
        conn.execute("INSERT INTO tenant_globex.items VALUES ('gadget')")
    assert pool.query("SELECT name FROM tenant_acme.items", tenant="acme") == [("anvil",)]
    assert pool.query("SELECT name FROM tenant_globex.items", tenant="globex") == [("gadget",)]
    # Neither wrote into the shared main database nor into the other's file.
    assert pool.query("SELECT count(*) FROM sqlite_master WHERE name = 'items'") == [(0,)]
    stats = pool.tenant_stats()
    assert set(stats) == {"acme", "globex"}
    assert stats["acme"]["acquired"] >= 2 and stats["acme"]["active"] == 0


def test_tenant_keyword_on_every_entry_point(tenants):
    pool = tenants
    with pool.connection(tenant="acme") as conn:
        conn.execute("INSERT INTO tenant_acme.items VALUES ('a')")
    with pool.read(tenant="acme") as conn:
        assert conn.execute("SELECT count(*) FROM tenant_acme.items").fetchone() == (1,)
    assert pool.execute("DELETE FROM tenant_acme.items", tenant="acme").rowcount == 1
    pool.executescript("INSERT INTO tenant_acme.items VALUES ('b');", tenant="acme")
    assert pool.query("SELECT name FROM tenant_acme.items", tenant="acme") == [("b",)]


@pytest.mark.parametrize("code", ["", "Upper", "has-dash", "x" * 65, "tab\t", "ünï"])
def test_invalid_codes_are_refused(pool, tmp_path, code):
    with pytest.raises(litepool.InvalidTenant) as info:
        pool.register_tenant(code, str(tmp_path / "t.db"))
    assert info.value.code == "LITEPOOL_INVALID_TENANT"
    with pytest.raises((litepool.InvalidTenant, litepool.UnknownTenant)):
        pool.query("SELECT 1", tenant=code)


def test_unknown_tenant(pool):
    with pytest.raises(litepool.UnknownTenant, match="register_tenant") as info:
        pool.connection(tenant="nobody")
    assert info.value.code == "LITEPOOL_UNKNOWN_TENANT"


def test_remove_tenant(tenants):
    pool = tenants
    held = pool.connection(tenant="acme")
    with pytest.raises(litepool.TenantBusy, match="1 lease") as info:
        pool.remove_tenant("acme", timeout=0.05)
    assert info.value.code == "LITEPOOL_TENANT_BUSY"
    held.close()
    pool.remove_tenant("acme")
    with pytest.raises(litepool.UnknownTenant):
        pool.query("SELECT 1", tenant="acme")
    assert set(pool.tenant_stats()) == {"globex"}
