"""The only module gunicorn knows: ``gunicorn wsgi:app``."""

from api import create_app

app = create_app()
