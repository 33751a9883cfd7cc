"""The web process stays light: the case page shows calibration without scikit-learn."""

from __future__ import annotations

import subprocess
import sys

from tests.support.services import ROOT


def test_web_and_the_cli_never_import_sklearn():
    code = (
        "import sys; from web import create_app; import shared.cli, shared.calibration.apply\n"
        "print(','.join(m for m in sys.modules if m.startswith(('sklearn', 'scipy'))))"
    )
    env = {"MEDTRIAGE_SECRET_KEY": "x", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
