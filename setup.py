"""Which packages the distribution holds, and their data. Here rather than in pyproject.toml for one thing it
cannot say: two folders outside the dispatch package ship inside it, console/ as dispatch.console and
migrations/ as dispatch.migrations. The service finds them through the package (importlib.resources), the same
way in a checkout (the editable install maps them) and in an installed wheel; tests/test_packaging.py checks."""

from setuptools import find_namespace_packages, setup

MAPPED = {"dispatch.console": "console", "dispatch.migrations": "migrations"}

setup(
    packages=[
        *find_namespace_packages(include=["dispatch*", "geo*", "simulator*", "benchmarks*", "loadtests*"]),
        *MAPPED,
    ],
    package_dir=MAPPED,
    package_data={
        "dispatch": ["**/*.toml", "**/*.sql"],
        "dispatch.edge.assets": ["*"],
        "dispatch.console": [
            "static/**/*",
            "node_modules/leaflet/dist/**/*",
            "node_modules/chart.js/dist/chart.umd.min.js",
            # Only what /docs loads (dispatch.edge.docs): the package's other 12 MB are not served.
            "node_modules/swagger-ui-dist/swagger-ui.css",
            "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
        ],
        "dispatch.migrations": ["script.py.mako", "versions/*.py"],
        "geo.data": ["*.osm.pbf"],
    },
)
