"""The service's web console: static files and the front-end packages it serves (npm, console/package.json).
Shipped inside the Python package as dispatch.console (setup.py), so the service finds it through the package."""
