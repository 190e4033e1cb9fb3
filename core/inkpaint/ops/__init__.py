"""Operations: each module defines a job type (``JOB``), ``run(job, ctx)`` and its CLI subcommand."""
