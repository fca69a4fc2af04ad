"""
WSGI config for mysite project: it exposes the WSGI callable as a module-level variable
named ``application``.

    python3 apps/vendor.py django
    cd apps/django
    rwsgi python --pythonpath vendor manage.py migrate
    rwsgi run mysite/wsgi.py --pythonpath . --pythonpath vendor
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

application = get_wsgi_application()
