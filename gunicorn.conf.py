"""gunicorn settings for `make run`; each can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() + 1)))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
accesslog = "-"
