import json

import pytest

from core.ml.registry import ModelLoadError, ModelRegistry


def test_versions_are_kept_side_by_side_and_current_can_move(tmp_path):
    registry = ModelRegistry(tmp_path, "acme", "suggestions")
    first = registry.save({"weights": [1]}, {"metrics": {"accuracy": 0.8}})
    second = registry.save({"weights": [2]}, {"metrics": {"accuracy": 0.9}})
    assert registry.current_version() == second.version
    assert [v.version for v in registry.versions()] == sorted([first.version, second.version])
    registry.promote(first.version)
    model, stored = registry.load()
    assert model == {"weights": [1]} and stored.metadata["metrics"]["accuracy"] == 0.8
    assert stored.metadata["libraries"]["scikit-learn"]


def test_a_tampered_artifact_is_refused(tmp_path):
    registry = ModelRegistry(tmp_path, "acme", "suggestions")
    stored = registry.save({"weights": [1]}, {})
    (stored.path / "model.joblib").write_bytes(b"not the model")
    with pytest.raises(ModelLoadError, match="checksum"):
        registry.load()


def test_a_model_from_another_scikit_learn_is_refused_with_a_clear_message(tmp_path):
    registry = ModelRegistry(tmp_path, "acme", "suggestions")
    stored = registry.save({"weights": [1]}, {})
    meta_path = stored.path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["libraries"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="scikit-learn 0.24.2"):
        registry.load()


def test_loading_without_a_trained_model_says_what_to_do(tmp_path):
    with pytest.raises(ModelLoadError, match="deskloop train"):
        ModelRegistry(tmp_path, "acme", "suggestions").load()


def test_a_model_saved_in_an_older_format_is_refused_with_a_clear_message(tmp_path):
    registry = ModelRegistry(tmp_path, "acme", "suggestions")
    stored = registry.save({"weights": [1]}, {})
    meta_path = stored.path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    del meta["libraries"]["deskloop-model-format"]  # written before formats were recorded
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelLoadError, match="model format 1.*deskloop train"):
        registry.load()
