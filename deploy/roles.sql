-- The application role's rights: run as the owner (the role that runs the migrations), after every migration.
-- The owner owns every table and runs `flask --app wsgi db upgrade`; the application connects as
-- inventory_app, which can read and write the stock but cannot change or remove a ledger or audit entry,
-- alter a table or switch a trigger off (only an owner can). docs/deployment.md creates both roles;
-- tests/operations/test_database_roles.py runs this file.
GRANT USAGE ON SCHEMA public TO inventory_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO inventory_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO inventory_app;
-- Append-only: new entries only.
REVOKE UPDATE, DELETE, TRUNCATE ON movement, audit_entry FROM inventory_app;
-- The schema's version is the migrations' business; the application only reads it (/ready).
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM inventory_app;
