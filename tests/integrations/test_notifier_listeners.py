"""The notifiers' listeners are found where jobs run: by name, in a process that imported nothing
but the dispatch module, without loading a vendor SDK."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_fresh_worker_finds_the_integrations_listeners_by_name():
    script = ("import sys; from core.dispatch import listeners as l; l._import_core_listeners(); "
              "print(sorted(n for n in l._listeners if n.endswith('-alert')), 'slack_sdk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout.strip()
    assert out == "['linear-alert', 'slack-alert'] False"
