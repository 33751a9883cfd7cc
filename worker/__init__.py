"""The Celery worker: loads the pipeline once per process and analyzes cases."""
