"""A Django project on ``litepool.django`` (Django's SQLite backend over
``litepool.sqlite3``): migrations, ORM queries and transactions. Run as a
script, with the database path as the argument; exits non-zero on failure.
"""

import datetime
import decimal
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    DATABASES={"default": {"ENGINE": "litepool.django", "NAME": sys.argv[1]}},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "smoke"],
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.db.models import Count, F, Sum  # noqa: E402

import litepool  # noqa: E402
from smoke.models import Author, Book  # noqa: E402

call_command("migrate", verbosity=0)
applied = {(m.app, m.name) for m in __import__("django.db.migrations.recorder", fromlist=["x"])
           .MigrationRecorder(connection).migration_qs}
assert ("smoke", "0002_book_pages") in applied and ("auth", "0001_initial") in applied, applied
assert type(connection.connection).__module__ == "litepool.sqlite3", type(connection.connection)
with connection.cursor() as c:
    c.execute("PRAGMA table_info(smoke_book)")
    assert "pages" in [row[1] for row in c.fetchall()]

# ORM: create, query, relations, aggregates, update expressions, dates and decimals.
ann = Author.objects.create(name="Ann", born=datetime.date(1970, 5, 17))
bob = Author.objects.create(name="Bob")
Book.objects.create(title="One", author=ann, price=decimal.Decimal("9.99"), pages=100,
                    published=datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
Book.objects.create(title="Two", author=ann, price=decimal.Decimal("20.00"), pages=250)
Book.objects.create(title="Three", author=bob, price=decimal.Decimal("5.50"))
assert Author.objects.get(name="Ann").born == datetime.date(1970, 5, 17)
assert list(Book.objects.filter(author__name="Ann").order_by("title").values_list("title", flat=True)) == ["One", "Two"]
counts = dict(Author.objects.annotate(n=Count("books")).values_list("name", "n"))
assert counts == {"Ann": 2, "Bob": 1}, counts
assert Book.objects.aggregate(total=Sum("price"))["total"] == decimal.Decimal("35.49")
Book.objects.filter(author=ann).update(pages=F("pages") + 1)
assert sorted(Book.objects.values_list("pages", flat=True)) == [0, 101, 251]
one = Book.objects.select_related("author").get(title="One")
assert one.author.name == "Ann" and one.published.year == 2020
assert Book.objects.filter(title__iregex=r"^t").count() == 2  # Django's REGEXP function
User.objects.create_user("carol", password="secret")
assert User.objects.get(username="carol").check_password("secret")

# Transactions: a rolled-back atomic block leaves nothing; savepoints nest.
try:
    with transaction.atomic():
        Author.objects.create(name="Dan")
        raise RuntimeError("roll back")
except RuntimeError:
    pass
assert not Author.objects.filter(name="Dan").exists()
with transaction.atomic():
    Author.objects.create(name="Eve")
    try:
        with transaction.atomic():
            Author.objects.create(name="Ann")  # unique name: fails
    except IntegrityError:
        pass
    Author.objects.create(name="Fay")
assert set(Author.objects.values_list("name", flat=True)) == {"Ann", "Bob", "Eve", "Fay"}
# Cascade through the foreign key (Django turns SQLite's foreign keys on).
bob.delete()
assert Book.objects.count() == 2

connection.close()
pool = litepool._dropin._pools[os.path.abspath(sys.argv[1])][0]
assert pool.stats()["active"] == 0, pool.stats()
print("django smoke test: ok")
