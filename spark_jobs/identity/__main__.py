"""`python -m spark_jobs.identity`: the spark-submit entry (`spark_jobs.identity.job.main`)."""

from spark_jobs.identity.job import main

if __name__ == "__main__":
    main()
