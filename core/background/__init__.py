"""Background work: one way to queue a job (RQ with Redis, in-process without), the jobs, and
the scheduler."""
