"""Django database backend over ``litepool.sqlite3``: Django's own SQLite
backend with litepool's pool underneath. In ``settings.DATABASES``::

    "default": {"ENGINE": "litepool.django", "NAME": BASE_DIR / "db.sqlite3"}

Everything else (features, introspection, schema editor, functions) is
Django's ``django.db.backends.sqlite3``.
"""
