"""The ONNX encoder gives the PyTorch encoder's vectors, in order, from an export made once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from core.ml.encoder import DIMENSION, LAYERS, SentenceEncoder
from core.ml.onnx_encoder import MODEL_FILE, OnnxSentenceEncoder, export_onnx

TEXTS = [
    "I am still waiting on my card?",
    "What can I do if my card still hasn't arrived after 2 weeks?",
    "How do I top up with Apple Pay?",
    "Why was I charged a fee for a cash withdrawal at the ATM near my office last Tuesday evening?",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("onnx-encoder")
    export_onnx(directory)
    return directory


@pytest.fixture(scope="module")
def onnx_encoder(model_dir: Path) -> OnnxSentenceEncoder:
    return OnnxSentenceEncoder(model_dir)


def test_vectors_have_the_torch_encoders_shape_and_unit_parts(onnx_encoder: OnnxSentenceEncoder) -> None:
    vectors = onnx_encoder.encode(TEXTS)

    assert vectors.shape == (len(TEXTS), len(LAYERS) * DIMENSION)
    assert vectors.dtype == np.float32
    for part in range(len(LAYERS)):
        norms = np.linalg.norm(vectors[:, part * DIMENSION:(part + 1) * DIMENSION], axis=1)
        np.testing.assert_allclose(norms, 1.0, atol=1e-4)


def test_vectors_agree_with_the_torch_encoder(onnx_encoder: OnnxSentenceEncoder) -> None:
    ours = onnx_encoder.encode(TEXTS)
    reference = SentenceEncoder().encode(TEXTS)

    cosine = (ours * reference).sum(axis=1) / len(LAYERS)  # every part is a unit vector

    assert cosine.min() > 0.98


def test_order_is_kept_when_lengths_are_mixed_and_batches_split(onnx_encoder: OnnxSentenceEncoder) -> None:
    texts = ["refund", TEXTS[3] * 3, "card", TEXTS[1], "", TEXTS[0]]

    together = onnx_encoder.encode(texts, batch_size=4)
    one_by_one = np.vstack([onnx_encoder.encode([text]) for text in texts])

    # Dynamic quantization scales activations per batch, so batch-mates nudge a vector slightly;
    # the empty text (special tokens only) moves most: 0.979 with onnxruntime 1.32, 0.99+ for the rest.
    cosine = together @ one_by_one.T / len(LAYERS)
    assert cosine.argmax(axis=1).tolist() == list(range(len(texts)))
    assert np.delete(cosine.diagonal(), texts.index("")).min() > 0.98
    assert cosine.diagonal()[texts.index("")] > 0.95


def test_empty_text_and_empty_list(onnx_encoder: OnnxSentenceEncoder) -> None:
    vectors = onnx_encoder.encode(["", "   "])

    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors[:, :DIMENSION], axis=1), 1.0, atol=1e-4)
    assert onnx_encoder.encode([]).shape == (0, len(LAYERS) * DIMENSION)


def test_an_existing_export_is_reused(model_dir: Path) -> None:
    before = (model_dir / MODEL_FILE).stat().st_mtime_ns

    assert export_onnx(model_dir) == model_dir / MODEL_FILE

    assert (model_dir / MODEL_FILE).stat().st_mtime_ns == before
