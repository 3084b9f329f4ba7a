"""Extension objects, bound to an app in ``create_app``: nothing connects at import time."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from inventory.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
