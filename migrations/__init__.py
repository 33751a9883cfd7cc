"""Alembic migrations; the same scripts build the schema on SQLite and PostgreSQL."""
