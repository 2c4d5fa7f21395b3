"""Models: features, the predictor, abstention, clusters and the versioned model registry; no
knowledge of labels, signals or training data (training lives in :mod:`core.learning`)."""
