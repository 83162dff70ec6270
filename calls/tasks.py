"""Background tasks (django-tasks; `manage.py db_worker` runs them): thin wrappers of services."""
from django_tasks import task

from calls import recordings


@task()
def archive_recording(recording_id: int) -> str:
    """Download and store one call recording; retries are enqueued by the service itself."""
    return recordings.archive(recording_id=recording_id)


@task()
def prune_recordings() -> int:
    """Delete our copies older than RECORDINGS_RETENTION_DAYS."""
    return recordings.prune()
