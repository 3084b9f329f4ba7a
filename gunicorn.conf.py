"""gunicorn settings for `make run`; each can be overridden from the environment."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() + 1)))
# Threads keep client connections alive between requests (the sync worker closes each one: a new TCP
# connection and its accept per request), and let one worker wait on several database round trips.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Above importers.limits.PARSE_WAIT_SECONDS (90): an upload's parse may take that long on a starved
# machine, and the worker must live to answer 413 rather than be killed mid-request.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
accesslog = "-"
