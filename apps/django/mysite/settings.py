"""
Django settings for mysite project (a stock `startproject` layout, run on rwsgi unchanged).

The database and collected static files go where GUESTBOOK_DB / GUESTBOOK_STATIC say (the
tests point them at a temporary directory), else beside manage.py; GUESTBOOK_MYSQL_URL puts
the database on MariaDB or MySQL instead.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "django-insecure-rwsgi-example-not-secret"

DEBUG = False

ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "test"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "guestbook",
]

# Django REST framework (guestbook/api.py): readable by anyone, writable by a logged-in user
# (the admin's session, with its CSRF token), ten entries a page.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 10,
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("GUESTBOOK_DB", BASE_DIR / "db.sqlite3"),
    }
}

# MariaDB or MySQL when GUESTBOOK_MYSQL_URL says so (mysql://USER:PASSWORD@HOST:PORT/NAME),
# through PyMySQL, the pure-Python driver (mysqlclient is a C extension and cannot load in
# rwsgi). Django's MySQL backend checks mysqlclient's version, so PyMySQL is announced as one.
if os.environ.get("GUESTBOOK_MYSQL_URL"):
    from urllib.parse import unquote, urlsplit

    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
    url = urlsplit(os.environ["GUESTBOOK_MYSQL_URL"])
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.mysql",
        "NAME": url.path.lstrip("/"),
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname,
        "PORT": str(url.port or 3306),
        "OPTIONS": {"charset": "utf8mb4"},
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Chicago"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("GUESTBOOK_STATIC", BASE_DIR / "staticfiles")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
