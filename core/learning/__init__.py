"""The learning loop: what signals mean, how they act at once, and how the loop is replayed and measured."""
