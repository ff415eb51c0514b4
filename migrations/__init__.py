"""The schema's Alembic migrations, shipped inside the Python package as dispatch.migrations (setup.py), so the
service finds them through the package (dispatch.setup.alembic_config)."""
