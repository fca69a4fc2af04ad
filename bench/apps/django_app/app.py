"""Django bench app (bench/memory's `django` app): a small Django project in one settings-free
file, the same under CPython (gunicorn, granian) and rwsgi.

    /page   an ORM query of 20 rows rendered through templates/catalogue/page.html, which
            {% extends %} base.html: filters, a {% for %} loop with {% cycle %}, autoescaping
    /json   the same 20 rows as a JsonResponse

Settings come from settings.configure() below. The database is an in-memory SQLite database
in shared-cache mode (every thread of the process sees the same one, as granian's blocking
threads need), created with its table and 20 rows at import. A connection to an in-memory
database is never closed by Django, so the database lives as long as the process. Under a
preloading server (gunicorn --preload, rwsgi --preload) the master builds it and each worker
inherits its own copy, copy-on-write.

    gunicorn --chdir bench/apps/django_app app:application
    granian --interface wsgi --working-dir bench/apps/django_app app:application
    rwsgi run bench/apps/django_app/app.py --pythonpath bench/.vendor
"""

import datetime
import decimal
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # the `catalogue` package (every server puts HERE first anyway)
    sys.path.insert(0, HERE)

import django  # noqa: E402
from django.conf import settings  # noqa: E402

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="rwsgi-bench-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF="catalogue.urls",
        INSTALLED_APPS=["catalogue"],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                # Django opens SQLite with uri=True; "mode=memory" also tells it never to close it.
                "NAME": "file:rwsgi-bench-catalogue?mode=memory&cache=shared",
            }
        },
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [os.path.join(HERE, "templates")],
                "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
            }
        ],
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402

from catalogue.models import Item  # noqa: E402

CATEGORIES = ["tools", "toys", "books", "garden"]
START = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)


def create_database():
    if Item._meta.db_table in connection.introspection.table_names():
        return
    with connection.schema_editor() as editor:
        editor.create_model(Item)
    Item.objects.bulk_create(
        Item(name=f"item <{i}>", category=CATEGORIES[i % len(CATEGORIES)],
             price=decimal.Decimal(i * 125) / 100, added=START + datetime.timedelta(days=i))
        for i in range(20))


create_database()
application = get_wsgi_application()
