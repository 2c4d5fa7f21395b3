"""Models every machine can read: stored in the database in one transaction, loaded from each
machine's own verified copy, and models an older release kept on disk still served.

Each "machine" here is a models folder of its own (its DESKLOOP_HOME) on the one shared database;
tests/test_two_hosts.py runs real web and worker processes in network namespaces of their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from core.cli import main
from core.learning.training import registry_for
from core.ml.registry import ModelLoadError, ModelRegistry, ModelTooLarge, library_versions
from core.runtime import Runtime
from core.store.artifacts import ArtifactStore, VersionNotStored
from core.store.db import UnknownTenantError
from core.store.tables import ModelVersionRow
from core.suggesting import suggest

ROOT = Path(__file__).resolve().parent.parent


def _registry(db, models_dir: Path, tenant: str = "acme", **limits) -> ModelRegistry:
    db.ensure_tenant(tenant)
    return ModelRegistry(models_dir, tenant, "suggestions", db=db, **limits)


def _stored_rows(db) -> tuple[int, int]:
    with db.engine.connect() as conn:
        return (conn.scalar(text("SELECT count(*) FROM model_versions")),
                conn.scalar(text("SELECT count(*) FROM model_chunks")))


def test_a_writer_killed_half_way_leaves_no_version(db, settings, tmp_path):
    registry = _registry(db, tmp_path / "web")
    writer = subprocess.Popen([sys.executable, "-m", "tests.model_writer", settings.database_url,
                               str(tmp_path / "worker")], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        assert registry.versions() == [] and registry.current_version() is None  # not while it writes
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert registry.versions() == [] and registry.current_version() is None
    assert _stored_rows(db) == (0, 0)  # its chunks went with its transaction
    stored = registry.save({"weights": [1]}, {})  # and it held no lock that outlived it
    assert registry.load()[0] == {"weights": [1]} and registry.current_version() == stored.version


def test_a_damaged_copy_on_this_machine_is_fetched_again(db, tmp_path):
    registry = _registry(db, tmp_path / "models")
    stored = registry.save({"weights": [1]}, {})
    copy = stored.path / "model.joblib"
    copy.write_bytes(b"not the model")
    assert registry.load()[0] == {"weights": [1]}
    assert copy.read_bytes() != b"not the model"

    copy.write_bytes(b"damaged again")
    assert registry.check_cache() == {stored.version: "damaged"} and not copy.exists()
    assert registry.check_cache(fetch=True) == {stored.version: "fetched"}
    assert registry.check_cache() == {stored.version: "ok"}


def test_a_checksum_that_does_not_match_the_stored_bytes_is_refused(db, tmp_path):
    registry = _registry(db, tmp_path / "models")
    stored = registry.save({"weights": [1]}, {})
    with db.transaction(db.tenant_id("acme")) as session:
        session.execute(update(ModelVersionRow).values(sha256="0" * 64))
    with pytest.raises(ModelLoadError, match="checksum"):
        registry.load()
    assert not (stored.path / "model.joblib").exists()  # the copy no longer matched: removed, not trusted
    assert list(stored.path.iterdir()) == []  # and nothing unverified was left behind


def test_more_bytes_than_recorded_are_refused_before_they_fill_the_disk(db, tmp_path):
    registry = _registry(db, tmp_path / "worker", chunk_bytes=1024)
    registry.save(os.urandom(64 * 1024), {})
    with db.transaction(db.tenant_id("acme")) as session:
        session.execute(update(ModelVersionRow).values(size=2048))
    with pytest.raises(ModelLoadError, match="larger than the 2,048 bytes recorded"):
        _registry(db, tmp_path / "web", chunk_bytes=1024).load()


def test_a_large_model_goes_in_chunks_and_comes_back_whole_on_another_machine(db, tmp_path):
    payload = os.urandom(3 * 1024 * 1024 + 17)  # random bytes: compression cannot shrink them
    worker = _registry(db, tmp_path / "worker", chunk_bytes=256 * 1024)
    stored = worker.save(payload, {})
    with db.tenant_session(db.tenant_id("acme")) as session:
        row = session.scalar(select(ModelVersionRow))
    assert row.chunks == -(-row.size // (256 * 1024)) > 12 and row.size == stored.metadata["size"]
    web = _registry(db, tmp_path / "web")
    model, loaded = web.load()
    assert model == payload and loaded.version == stored.version
    assert (tmp_path / "web" / "acme" / "suggestions" / stored.version / "model.joblib").is_file()


def test_a_model_above_the_size_limit_is_neither_stored_nor_fetched(db, tmp_path):
    small_limit = _registry(db, tmp_path / "models", max_bytes=1024 * 1024)
    with pytest.raises(ModelTooLarge, match="DESKLOOP_MAX_MODEL_BYTES"):
        small_limit.save(os.urandom(2 * 1024 * 1024), {})
    assert small_limit.versions() == [] and _stored_rows(db) == (0, 0)
    assert list((tmp_path / "models").rglob("*.*")) == [] and not list((tmp_path / "models").rglob("*fetching*"))

    _registry(db, tmp_path / "worker").save(os.urandom(2 * 1024 * 1024), {})
    with pytest.raises(ModelTooLarge, match="not loaded"):
        small_limit.load()


def test_another_tenants_version_is_not_found(db, tmp_path):
    theirs = _registry(db, tmp_path / "models", tenant="globex").save({"secret": "globex"}, {})
    ours = _registry(db, tmp_path / "models", tenant="acme")
    with pytest.raises(ModelLoadError, match="no model version"):
        ours.load(theirs.version)
    with pytest.raises(ModelLoadError, match="no model version"):
        ours.promote(theirs.version)
    assert ours.current_version() is None and ours.versions() == []
    store = ArtifactStore(db, db.tenant_id("acme"), "suggestions")
    with pytest.raises(VersionNotStored):
        next(store.chunks(theirs.version))


def test_a_model_for_a_tenant_that_does_not_exist_is_not_written_anywhere(db, tmp_path):
    with pytest.raises(UnknownTenantError):
        ModelRegistry(tmp_path / "models", "nobody", "suggestions", db=db).save({"weights": [1]}, {})
    assert not (tmp_path / "models").exists() and _stored_rows(db) == (0, 0)


@pytest.mark.parametrize("name", ["../globex/suggestions/x", "..", "/etc/passwd", "a" * 65, ""])
def test_a_version_name_that_could_leave_the_cache_folder_is_refused(db, tmp_path, name):
    registry = _registry(db, tmp_path / "models")
    registry.save({"weights": [1]}, {})
    with pytest.raises(ModelLoadError, match="no model version"):
        registry.load(name or "..")
    with pytest.raises(ModelLoadError, match="no model version"):
        registry.promote(name)


def _save_as_an_older_release_did(folder: Path, model, version: str, **metadata) -> None:
    """A version in the layout models had on local disk: ``<version>/model.joblib`` and ``metadata.json``."""
    (folder / version).mkdir(parents=True)
    joblib.dump(model, folder / version / "model.joblib", compress=3)
    from core.ml.model_cache import file_sha256

    (folder / version / "metadata.json").write_text(json.dumps({
        **metadata, "version": version, "libraries": library_versions(),
        "sha256": file_sha256(folder / version / "model.joblib")}))


def _older_install(models_dir: Path) -> Path:
    folder = models_dir / "acme" / "suggestions"
    _save_as_an_older_release_did(folder, {"weights": [1]}, "20260101T000000000000-aaaaaa", metrics={"cv": 0.8})
    _save_as_an_older_release_did(folder, {"weights": [2]}, "20260102T000000000000-bbbbbb")
    _save_as_an_older_release_did(folder, {"weights": [3]}, "20260103T000000000000-cccccc")
    (folder / "20260103T000000000000-cccccc" / "model.joblib").write_bytes(b"edited after it was saved")
    (folder / "current").write_text("20260101T000000000000-aaaaaa")
    (folder / "refused.jsonl").write_text(json.dumps({"at": "2026-01-02T00:00:00+00:00", "reason": "worse"}) + "\n")
    return folder


def test_a_model_an_older_release_kept_on_disk_is_served_and_moved_into_the_database(db, tmp_path):
    _older_install(tmp_path / "old-machine")
    registry = _registry(db, tmp_path / "old-machine")
    model, stored = registry.load()
    assert model == {"weights": [1]} and stored.version == "20260101T000000000000-aaaaaa"
    assert stored.metadata["metrics"] == {"cv": 0.8}
    assert [v.version for v in registry.versions()] == ["20260101T000000000000-aaaaaa",
                                                        "20260102T000000000000-bbbbbb"]  # the edited one left out
    assert [r["reason"] for r in registry.refusals()] == ["worse"]

    elsewhere = _registry(db, tmp_path / "new-machine")  # now any machine serves it
    assert elsewhere.load()[0] == {"weights": [1]}
    elsewhere.promote("20260102T000000000000-bbbbbb")
    again = _registry(db, tmp_path / "old-machine")  # the old pointer on disk no longer decides
    assert again.current_version() == "20260102T000000000000-bbbbbb" and again.load()[0] == {"weights": [2]}
    assert len(again.refusals()) == 1  # imported once, not on every start


def test_deskloop_migrate_moves_models_kept_on_disk_into_the_database(settings, db):
    db.ensure_tenant("acme")
    _older_install(settings.models_dir)
    done = CliRunner().invoke(main, ["migrate"])
    assert done.exit_code == 0, done.output
    assert "acme: 2 suggestions model version(s) moved into the database" in done.output
    assert "20260101T000000000000-aaaaaa in service" in done.output and "cccccc" in done.output
    assert registry_for(Runtime(settings), "acme").current_version() == "20260101T000000000000-aaaaaa"
    assert "moved" not in CliRunner().invoke(main, ["migrate"]).output  # once


def test_two_processes_with_their_own_home_share_models(settings, db, tmp_path):
    here = _registry(db, settings.models_dir)
    first = here.save({"weights": [1]}, {})
    other_home = tmp_path / "other-machine"
    env = {**os.environ, "DESKLOOP_HOME": str(other_home), "DESKLOOP_DATABASE_URL": settings.database_url}
    deskloop = str(Path(sys.executable).with_name("deskloop"))
    fetched = subprocess.run([deskloop, "models", "verify", "--tenant", "acme", "--fetch"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert fetched.returncode == 0 and f"{first.version}  fetched" in fetched.stdout, fetched.stderr
    assert (other_home / "models" / "acme" / "suggestions" / first.version / "model.joblib").is_file()

    # The other machine trains (a version saved there), this one sees it in service and lists it.
    trained = subprocess.run([sys.executable, "-c", (
        "import sys; from core.runtime import Runtime; from core.learning.training import registry_for; "
        "print(registry_for(Runtime(), 'acme').save({'weights': [2]}, {}).version)")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert trained.returncode == 0, trained.stderr
    second = trained.stdout.strip()
    assert here.current_version() == second and here.load()[0] == {"weights": [2]}
    listed = CliRunner().invoke(main, ["models", "--tenant", "acme"]).output
    assert f"* {second}" in listed and "MB" in listed and "sha256" in listed


def test_a_web_process_serves_a_version_promoted_elsewhere_and_loads_each_version_once(settings, db, tmp_path,
                                                                                       monkeypatch):
    runtime = Runtime(settings)
    worker = _registry(db, tmp_path / "worker")
    first = worker.save({"weights": [1]}, {})
    loads: list[str | None] = []
    real_load = ModelRegistry.load

    def counted(self, version=None):
        loads.append(version)
        return real_load(self, version)

    monkeypatch.setattr(ModelRegistry, "load", counted)
    for _ in range(3):
        assert suggest.current_model(runtime, "acme")[1].version == first.version
    second = worker.save({"weights": [2]}, {})
    for _ in range(3):
        model, stored = suggest.current_model(runtime, "acme")
        assert (model, stored.version) == ({"weights": [2]}, second.version)
    assert loads == [first.version, second.version]
    worker.promote(first.version)  # a rollback on any machine is served at once too
    assert suggest.current_model(runtime, "acme")[1].version == first.version
    runtime.close()


def test_deskloop_models_verify_names_a_damaged_copy_and_fetch_repairs_it(settings, db):
    stored = _registry(db, settings.models_dir).save({"weights": [1]}, {})
    (stored.path / "model.joblib").write_bytes(b"damaged on this machine")
    checked = CliRunner().invoke(main, ["models", "verify", "--tenant", "acme"])
    assert checked.exit_code == 1 and f"{stored.version}  damaged" in checked.output
    repaired = CliRunner().invoke(main, ["models", "verify", "--tenant", "acme", "--fetch"])
    assert repaired.exit_code == 0 and f"{stored.version}  fetched" in repaired.output
    assert CliRunner().invoke(main, ["models", "verify", "--tenant", "acme"]).output.strip() == f"{stored.version}  ok"
