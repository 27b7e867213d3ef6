"""litepool connections as SQLAlchemy's `creator`."""

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy import Column, Integer, String, create_engine, select  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Session  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

import litepool  # noqa: E402


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True, nullable=False)


@pytest.mark.parametrize("poolclass", [None, NullPool])
def test_engine_with_litepool_creator(db_path, poolclass):
    lp = litepool.Pool(db_path, max_size=4, min_idle=0)
    kwargs = {"poolclass": poolclass} if poolclass else {}
    engine = create_engine("sqlite://", creator=lambda: lp.connection(), **kwargs)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Item(name="a"), Item(name="b")])
        session.commit()
        assert session.scalars(select(Item.name).order_by(Item.name)).all() == ["a", "b"]
        assert session.execute(sqlalchemy.text("SELECT 'x' REGEXP 'x'")).scalar() == 1
    with Session(engine) as session:
        session.add(Item(name="a"))
        with pytest.raises(sqlalchemy.exc.IntegrityError) as info:
            session.commit()
        assert isinstance(info.value.orig, litepool.IntegrityError)
        assert info.value.orig.sqlite_errorname == "SQLITE_CONSTRAINT_UNIQUE"
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DELETE FROM items WHERE name = :n"), {"n": "b"})
    assert lp.query("SELECT name FROM items") == [("a",)]
    engine.dispose()
    assert lp.stats()["active"] == 0
    lp.close()


def test_engine_with_connect(db_path):
    engine = create_engine("sqlite://", creator=lambda: litepool.connect(db_path), poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE t (x INTEGER)"))
        conn.execute(sqlalchemy.text("INSERT INTO t VALUES (1), (2)"))
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT sum(x) FROM t")).scalar() == 3
    engine.dispose()
    litepool.pool_for(db_path).close()
