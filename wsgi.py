"""The only module gunicorn knows: ``gunicorn wsgi:app``; every ``flask --app wsgi`` command loads it too."""

from api import create_app
from api.config import ConfigurationError

try:
    app = create_app()
except ConfigurationError as error:
    # One clear line for a `flask` command (README, "Configuration"), as gunicorn.conf.py gives gunicorn.
    raise SystemExit(str(error)) from None
