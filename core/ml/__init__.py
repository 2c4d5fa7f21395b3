"""Learning: features, training, the versioned model registry and the predictor."""
