"""The model registry: versions side by side in the database, the one in service, and every reason
a stored model is refused before it could give wrong answers."""

import copy

import pytest
from sqlalchemy import select, update

from core.ml.registry import ModelLoadError, ModelRegistry
from core.store.tables import ModelChunkRow, ModelVersionRow


@pytest.fixture
def registry(db, tmp_path):
    db.ensure_tenant("acme")
    return ModelRegistry(tmp_path / "models", "acme", "suggestions", db=db)


def _edit_metadata(db, version, edit) -> None:
    tenant_id = db.tenant_id("acme")
    with db.transaction(tenant_id) as session:
        row = session.scalar(select(ModelVersionRow).where(ModelVersionRow.version == version))
        details = copy.deepcopy(row.details)
        edit(details)
        row.details = details


def test_versions_are_kept_side_by_side_and_current_can_move(registry):
    first = registry.save({"weights": [1]}, {"metrics": {"accuracy": 0.8}})
    second = registry.save({"weights": [2]}, {"metrics": {"accuracy": 0.9}})
    assert registry.current_version() == second.version
    assert [v.version for v in registry.versions()] == sorted([first.version, second.version])
    registry.promote(first.version)
    model, stored = registry.load()
    assert model == {"weights": [1]} and stored.metadata["metrics"]["accuracy"] == 0.8
    assert stored.metadata["libraries"]["scikit-learn"]
    assert stored.metadata["size"] == (stored.path / "model.joblib").stat().st_size


def test_an_artifact_changed_in_the_database_is_refused(registry, db):
    stored = registry.save({"weights": [1]}, {})
    (stored.path / "model.joblib").unlink()  # this machine must fetch it
    with db.transaction(db.tenant_id("acme")) as session:
        session.execute(update(ModelChunkRow).where(ModelChunkRow.seq == 0).values(data=b"not the model"))
    with pytest.raises(ModelLoadError, match="has 13 bytes|checksum"):
        registry.load()
    assert not (stored.path / "model.joblib").exists()  # nothing unverified is kept


def test_a_model_from_another_scikit_learn_is_refused_with_a_clear_message(registry, db):
    stored = registry.save({"weights": [1]}, {})
    _edit_metadata(db, stored.version, lambda m: m["libraries"].update({"scikit-learn": "0.24.2"}))
    with pytest.raises(ModelLoadError, match="scikit-learn 0.24.2"):
        registry.load()


def test_loading_without_a_trained_model_says_what_to_do(registry):
    with pytest.raises(ModelLoadError, match="deskloop train"):
        registry.load()


def test_a_model_saved_in_an_older_format_is_refused_with_a_clear_message(registry, db):
    stored = registry.save({"weights": [1]}, {})
    # written before formats were recorded
    _edit_metadata(db, stored.version, lambda m: m["libraries"].pop("deskloop-model-format"))
    with pytest.raises(ModelLoadError, match="model format 1.*deskloop train"):
        registry.load()


def test_refused_retrains_are_kept_with_the_version_in_service(registry):
    stored = registry.save({"weights": [1]}, {})
    registry.record_refusal({"reason": "worse on the newest tickets"})
    [refusal] = registry.refusals()
    assert refusal["reason"] == "worse on the newest tickets" and refusal["in_service"] == stored.version


def test_metrics_that_are_not_finite_are_kept_as_they_were(registry):
    """A draft rule that never drafts has an infinite threshold; PostgreSQL's json type refuses that."""
    registry.save({"weights": [1]}, {"metrics": {"draft_min_similarity": float("inf")}})
    registry.record_refusal({"reason": "could not judge", "p_value": float("nan")})
    assert registry.versions()[0].metadata["metrics"]["draft_min_similarity"] == float("inf")
    assert registry.refusals()[0]["p_value"] != registry.refusals()[0]["p_value"]  # NaN
