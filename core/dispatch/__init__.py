"""Dispatching work: one way to queue a job (RQ with Redis, in-process without) and the seam that
runs listeners after each event and signal. Every domain uses it; it uses none of them."""
