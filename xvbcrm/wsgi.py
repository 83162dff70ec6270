"""WSGI entry point: `gunicorn xvbcrm.wsgi`."""
import os

import django

from xvbcrm.wsgi_guard import WSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xvbcrm.settings")

# django.core.wsgi.get_wsgi_application(), with a handler whose requests survive a
# Content-Type Django cannot parse (see wsgi_guard).
django.setup(set_prefix=False)
application = WSGIHandler()
