"""Extension objects, bound to an app in ``create_app``: nothing connects at import time."""

import contextvars

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession

from inventory.models import Base

REPLICA_BIND = "replica"
# Set by api.replica for the requests it routes to the streaming replica; everything else reads the primary.
read_from_replica: contextvars.ContextVar[bool] = contextvars.ContextVar("read_from_replica", default=False)


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session, sending a replica-routed request's queries to the replica bind."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and read_from_replica.get():
            replica = self._db.engines.get(REPLICA_BIND)
            if replica is not None:
                return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()
