"""The background entry points: the jobs a worker runs by dotted path and the scheduler's sweep.
They sit above every domain because they start work in all of them."""
