"""The learning loop: what signals mean, how they act at once, and how labels and signals become
a trained model."""
