"""Every value type, both ways."""

import datetime
import math

import pytest

import litepool


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (0, 0),
        (-(2**63), -(2**63)),
        (2**63 - 1, 2**63 - 1),
        (1.5, 1.5),
        (-0.0, -0.0),
        (math.inf, math.inf),
        ("", ""),
        ("héllo ✓ \x00 nul", "héllo ✓ \x00 nul"),
        (b"", b""),
        (b"\x00\xff", b"\x00\xff"),
        (bytearray(b"ab"), b"ab"),
        (memoryview(b"mv"), b"mv"),
        (True, 1),
        (False, 0),
        (datetime.date(2024, 2, 29), "2024-02-29"),
        (datetime.datetime(2024, 2, 29, 13, 5, 7), "2024-02-29 13:05:07"),
        (datetime.time(13, 5, 7), "13:05:07"),
    ],
)
def test_round_trip(pool, value, expected):
    with pool.connection() as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (?)", (value,))
        (got,) = conn.execute("SELECT x FROM t").fetchone()
    assert got == expected and type(got) is type(expected)
    assert pool.query("SELECT ?", (value,)) == [(expected,)]


def test_types_of_results(pool):
    row = pool.query("SELECT NULL, 1, 2.5, 'x', x'00', typeof(?), typeof(?)", (True, b"b"))[0]
    assert row == (None, 1, 2.5, "x", b"\x00", "integer", "blob")
    assert [type(v) for v in row[:5]] == [type(None), int, float, str, bytes]


def test_nan_is_stored_as_null(pool):
    # SQLite turns a NaN REAL into NULL.
    assert pool.query("SELECT ?", (math.nan,)) == [(None,)]


@pytest.mark.parametrize("big", [2**63, -(2**63) - 1, 10**30])
def test_int_beyond_64_bits_is_a_clear_error(pool, big):
    with pytest.raises(litepool.DataError, match="64-bit") as info:
        pool.query("SELECT ?", (big,))
    assert info.value.code == "LITEPOOL_INVALID_VALUE"
    with pytest.raises(litepool.DataError, match=r"parameter :n"):
        pool.query("SELECT :n", {"n": big})


def test_unsupported_type_names_the_parameter_and_type(pool):
    with pytest.raises(litepool.ProgrammingError, match=r"parameter 2: type 'list'"):
        pool.query("SELECT ?, ?", (1, [1]))


def test_large_values(pool):
    blob = bytes(range(256)) * 4096
    text = "x" * 1_000_000
    assert pool.query("SELECT ?, ?", (blob, text)) == [(blob, text)]
