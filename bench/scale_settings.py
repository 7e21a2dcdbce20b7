"""Settings of bench/scale.py's subprocesses: the portal's, plus two switches.

BENCH_SCALE_TRIVIAL=1 installs bench.scale_app (a clinic app with one trivial
migration); BENCH_SCALE_PLAIN_EXECUTOR=1 puts back django-tenants' own
executors (no skipping), for the reference figure.
"""

import os

from portal.settings import *  # noqa: F403
from portal.settings import INSTALLED_APPS, TENANT_APPS

if os.environ.get("BENCH_SCALE_TRIVIAL") == "1":
    TENANT_APPS = [*TENANT_APPS, "bench.scale_app"]
    INSTALLED_APPS = [*INSTALLED_APPS, "bench.scale_app"]
if os.environ.get("BENCH_SCALE_PLAIN_EXECUTOR") == "1":
    GET_EXECUTOR_FUNCTION = None
