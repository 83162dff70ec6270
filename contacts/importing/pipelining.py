"""The fast path, for big files (a million rows within a minute on two cores; the plain path,
service.py with writing.py, takes two to three times longer): the file is read and checked in a
child process while this one saves batches with raw SQL (sql_writing.py). On PostgreSQL,
threads with connections of their own write batches while the next ones are planned; what
they have not written yet is laid over what the database shows (planning.plan's `in_flight`),
so that each row lands exactly as if the rows were saved one by one.
"""
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue

from django.db import connection, transaction

from contacts.importing.planning import Counts, Plan, look_up, plan
from contacts.importing.reading import Batch, ContactImportError, ContactRow
from contacts.importing.sql_writing import assign_ids, prepare, select_in, write
from contacts.importing.summary import ImportSummary, Progress

WRITERS = 2  # PostgreSQL: batches written at once, by threads with connections of their own
WRITE_AHEAD = 3  # PostgreSQL: batches planned and not yet written, at most
# Beside PostgreSQL, whose writing is the longer half, the reader yields the CPU to it.
READER_NICENESS = 10
READ_AHEAD_BATCHES = 8  # batches the reader may be ahead: the memory an import holds


def can_fork() -> bool:
    """Whether the fast path can run here: its reader is a fork."""
    return "fork" in multiprocessing.get_all_start_methods()


class _ReadAhead:
    """`batches`, read and checked in a child process (a fork: it has the open file) a few
    batches ahead while this one saves them: reading takes about half an import's time.

    The child starts here, before any thread does (a fork copies only the calling thread)."""

    def __init__(self, batches: Iterator[Batch], *, niceness: int = 0) -> None:
        context = multiprocessing.get_context("fork")
        self._queue = context.Queue(maxsize=READ_AHEAD_BATCHES)
        self._reader = context.Process(
            target=_reader, args=(batches, self._queue, niceness), daemon=True
        )
        self._reader.start()

    def __iter__(self) -> Iterator[Batch]:
        while (batch := _receive(self._queue, self._reader)) is not None:
            yield batch

    def close(self) -> None:
        if self._reader.is_alive():
            self._reader.terminate()  # the saving failed or stopped: no more rows are wanted
        self._reader.join()
        self._queue.close()


def _reader(batches: Iterator[Batch], queue: multiprocessing.Queue, niceness: int) -> None:
    """The child process: every batch, then None (or the exception that stopped it)."""
    os.nice(niceness)
    try:
        for batch in batches:
            queue.put(batch)
    except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
        queue.put(error)
    else:
        queue.put(None)


def _receive(queue: multiprocessing.Queue, reader: multiprocessing.Process) -> Batch | None:
    """The reader's next batch, or None at the end; its exception is raised here."""
    while True:
        try:
            batch = queue.get(timeout=1)
            break
        except Empty:
            if not reader.is_alive() and queue.empty():
                raise ContactImportError(
                    f"Reading the file stopped unexpectedly (exit code {reader.exitcode})."
                ) from None
    if isinstance(batch, Exception):
        raise batch
    return batch


def save_fast(
    batches: Iterator[Batch], summary: ImportSummary, progress: Progress | None
) -> None:
    """Save the batches by the fast path, counting them in `summary`."""
    # Inside the caller's transaction, the import keeps to the caller's connection.
    pipelined = connection.vendor == "postgresql" and not connection.in_atomic_block
    reader = _ReadAhead(batches, niceness=READER_NICENESS if pipelined else 0)
    try:
        if pipelined:
            _save_pipelined(summary.good_rows(iter(reader)), summary, progress)
        else:
            agents: dict[str, int | None] = {"": None}
            for rows, position in summary.good_rows(iter(reader)):
                summary.saved(_save_batch(rows, agents), position, progress)
    finally:
        reader.close()


def _save_batch(rows: list[ContactRow], agents: dict[str, int | None]) -> Counts:
    """service.save_batch, written with raw SQL."""
    saved = Counts()
    while rows:
        with transaction.atomic(), connection.cursor() as cursor:
            prepare(cursor)
            planned = plan(rows, look_up(rows, agents, select_in), agents)
            write(cursor, planned)
        saved.add_up(planned.counts)
        rows = rows[planned.rows :]
    return saved


@dataclass(eq=False)
class _Job:
    """A planned batch given to the writers; `before`: the one given just before it;
    `stopped`: set when the import stops early (an error, Ctrl-C)."""

    plan: Plan
    position: int
    before: "_Job | None"
    stopped: threading.Event
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


def _write_job(job: _Job) -> None:
    """Write a batch beside the one before, committing after it: the contacts stored before
    (which that batch may have changed) are touched only once it is committed. Once the
    import has stopped, a batch not committed yet is rolled back."""

    def after_the_batch_before() -> None:
        if job.before is not None:
            job.before.done.wait()
            failed, job.before = job.before.error is not None, None
            if failed:
                raise ContactImportError("Not saved: a batch before it failed.")

    with transaction.atomic(), connection.cursor() as cursor:
        write(cursor, job.plan, before_changes=after_the_batch_before)
        if job.stopped.is_set():
            raise ContactImportError("Not saved: the import stopped.")


class _Writers:
    """Threads writing planned batches (PostgreSQL), each in a transaction on a database
    connection of its own: the database stores two batches at once, on both cores, and
    commits them in order. `in_flight`: the batches given to them and not collected yet."""

    def __init__(self, count: int) -> None:
        self.in_flight: deque[_Job] = deque()
        self._stopped = threading.Event()
        self._jobs: SimpleQueue[_Job | None] = SimpleQueue()
        self._threads = [
            threading.Thread(target=self._run, name=f"import-writer-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                try:
                    _write_job(job)
                except Exception as error:  # noqa: BLE001 - raised again by collect()
                    job.error = error
                finally:
                    job.done.set()
        finally:
            connection.close()  # this thread's own

    def submit(self, plan: Plan, position: int) -> None:
        job = _Job(plan, position, self.in_flight[-1] if self.in_flight else None, self._stopped)
        self.in_flight.append(job)
        self._jobs.put(job)

    def collect(self, summary: ImportSummary, progress: Progress | None, *, keep: int) -> None:
        """Count the batches written so far, in order; wait until at most `keep` are left.
        A batch's error is raised here."""
        while self.in_flight and (len(self.in_flight) > keep or self.in_flight[0].done.is_set()):
            job = self.in_flight[0]
            job.done.wait()
            if job.error is not None:
                raise job.error
            self.in_flight.popleft()
            summary.saved(job.plan.counts, job.position, progress)

    def stop(self, *, early: bool) -> None:
        """Wait for the threads to end; `early`: the batches not committed yet are dropped."""
        if early:
            self._stopped.set()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()


def _save_pipelined(
    batches: Iterator[tuple[list[ContactRow], int]],
    summary: ImportSummary,
    progress: Progress | None,
) -> None:
    """Batches planned here while threads write the ones before (PostgreSQL): the database
    stores batches (most of an import's time) while this prepares the next. What the
    database does not show yet, the batches planned but not written, is laid over it."""
    agents: dict[str, int | None] = {"": None}
    writers = _Writers(WRITERS)
    try:
        for batch, position in batches:
            rows = batch
            while rows:  # a plan may leave rows to a batch of their own (see _save_batch)
                # Rows without numbers are matched by name, which later batches may change:
                # those are matched in the database alone, once every batch before is written.
                keep = WRITE_AHEAD if all(row.phones for row in rows) else 0
                writers.collect(summary, progress, keep=keep)
                with transaction.atomic(), connection.cursor() as cursor:
                    prepare(cursor)
                    in_flight = [job.plan for job in writers.in_flight]
                    planned = plan(rows, look_up(rows, agents, select_in), agents, in_flight)
                    assign_ids(cursor, planned.new)
                writers.submit(planned, position)
                rows = rows[planned.rows :]
        writers.collect(summary, progress, keep=0)
    except BaseException:  # a batch failed, or the caller's progress, or Ctrl-C
        writers.stop(early=True)
        raise
    writers.stop(early=False)
