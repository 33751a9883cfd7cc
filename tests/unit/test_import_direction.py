"""The web process stays light: it never imports the worker, torch or Celery's worker side."""

from __future__ import annotations

import subprocess
import sys

from tests.support.services import ROOT


def test_web_never_imports_worker_or_torch():
    code = (
        "import sys; from web import create_app; import web.wsgi  # noqa\n"
        "bad = [m for m in sys.modules if m == 'worker' or m.startswith(('worker.', 'torch', 'transformers'))]\n"
        "print(','.join(bad))"
    )
    env = {
        "MEDTRIAGE_INSTANCE_PATH": str(ROOT / ".pytest_cache" / "import-check"),
        "MEDTRIAGE_SECRET_KEY": "x",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_shared_never_imports_flask_or_worker():
    code = (
        "import sys, pkgutil, importlib, shared\n"
        "for m in pkgutil.walk_packages(shared.__path__, 'shared.'): importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'worker', 'web', 'torch')]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
