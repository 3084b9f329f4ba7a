"""Parsing an upload in a child process, so that no file can take down or bloat a worker.

``Child(work)`` forks; the child lowers its own limits (address space: the worker's own plus
``PARSE_MEMORY_BYTES``; CPU: ``PARSE_CPU_SECONDS``), runs ``work(send)`` and exits. Each ``send(message)``
reaches the worker through a pipe (pickled, length-prefixed; a full pipe makes the child wait, so the
worker holds one message at a time). ``receive()`` waits at most ``PARSE_WAIT_SECONDS`` in all; a child past
a limit, killed or crashed becomes ``WorkbookTooLarge`` (413) or ``ValidationFailed`` (422) naming why.

The child never returns into the caller's code: it leaves with ``os._exit``, so it closes no database
connection and runs no handler of the worker's.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import resource
import select
import signal
import struct
import time
from collections.abc import Callable

from importers import limits
from importers.limits import WorkbookTooLarge, mib
from inventory.errors import ValidationFailed

Send = Callable[[object], None]
_HEADER = struct.Struct("<Q")
MAX_MESSAGE_BYTES = 512 * 1024 * 1024  # a message bigger than this is a broken child, not a ledger
_DONE = "done"
_REFUSED = "refused"
_FAILED = "failed"
_MEMORY = "memory"


def memory_refusal() -> WorkbookTooLarge:
    limit = mib(limits.PARSE_MEMORY_BYTES)
    return WorkbookTooLarge(f"reading this workbook needs more than the {limit} memory limit (PARSE_MEMORY_BYTES)")


def time_refusal() -> WorkbookTooLarge:
    seconds = limits.PARSE_CPU_SECONDS
    return WorkbookTooLarge(f"reading this workbook took longer than the {seconds} s limit (PARSE_CPU_SECONDS)")


def wait_refusal() -> WorkbookTooLarge:
    """The worker stopped waiting: the parse took more wall time than it may (a busy machine, not the file's CPU)."""
    seconds = limits.PARSE_WAIT_SECONDS
    return WorkbookTooLarge(
        f"reading this workbook took longer than the {seconds} s the server waits for it (PARSE_WAIT_SECONDS); "
        "try again when the server is less busy"
    )


def unreadable(reason: str) -> ValidationFailed:
    return ValidationFailed(f"the workbook cannot be read: {reason}", field="file")


class Child:
    """One forked parse; iterate ``receive()`` until it returns ``None`` (the child is done), then ``close()``."""

    def __init__(self, work: Callable[[Send], None], waited: float = 0.0) -> None:
        """Fork ``work``; ``waited`` is what an earlier parse of the same upload already took of the wait
        (``PARSE_WAIT_SECONDS`` holds for the upload, not for each child)."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            os.close(read_end)
            _run_child(work, write_end)
        os.close(write_end)
        self.pid: int | None = pid
        self.fd: int | None = read_end
        self.waited = waited
        self.done = False

    def receive(self) -> object | None:
        """The child's next message, or None when it has finished; raises what the child could not do."""
        if self.done:
            return None
        header = self._read(_HEADER.size)
        if header is None:
            raise self._died()
        (size,) = _HEADER.unpack(header)
        if size > MAX_MESSAGE_BYTES:
            self.close()
            raise memory_refusal()
        payload = self._read(size)
        if payload is None:
            raise self._died()
        kind, value = pickle.loads(payload)  # written by our own child: trusted as the worker's own data
        if kind == "message":
            return value
        self.done = True
        self.close()
        if kind == _DONE:
            return None
        if kind == _MEMORY:
            raise memory_refusal()
        if kind == _REFUSED:
            too_large, message, field = value
            raise WorkbookTooLarge(message) if too_large else ValidationFailed(message, field=field)
        raise unreadable(str(value))

    def close(self) -> None:
        """Stop the child (if still running) and reap it; safe to call twice."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            _reap(self.pid)
            self.pid = None

    def _read(self, size: int) -> bytes | None:
        chunks: list[bytes] = []
        while size:
            if self.fd is None:
                return None
            budget = limits.PARSE_WAIT_SECONDS - self.waited
            started = time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(budget, 0))
            self.waited += time.monotonic() - started
            if not ready:
                self.done = True
                self.close()
                raise wait_refusal()
            chunk = os.read(self.fd, min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def _died(self) -> Exception:
        """What to say for a child whose pipe closed before it said it was done."""
        self.done = True
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        pid, self.pid = self.pid, None
        status = _reap(pid) if pid is not None else 0
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            if number in (signal.SIGXCPU, signal.SIGKILL):
                return time_refusal()
            if number in (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS):
                return memory_refusal()  # an allocation refused under the address-space limit aborts the reader
            return unreadable(f"the reader stopped on signal {signal.Signals(number).name}")
        return unreadable("the reader stopped")

    def __del__(self) -> None:
        self.close()


def _reap(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def _address_space() -> int:
    """The process's virtual size now (Linux), or 0 when unknown."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# What a person is told when the Rust reader itself gave up (a pyo3 PanicException: its words are the reader's
# internals, "range end index 2 out of range …"); the catalog has it in Chinese.
READER_GAVE_UP = "the reader failed on it (it may be damaged): open it in Excel or WPS and save it again as .xlsx"


def _reader_failure(error: BaseException) -> str:
    """Why the reading failed, as the refusal says it: a reader's panic in words a person can act on."""
    if type(error).__name__ == "PanicException":
        return READER_GAVE_UP
    return f"{type(error).__name__}: {error}"[:300]


def _run_child(work: Callable[[Send], None], fd: int) -> None:  # pragma: no cover - runs in the child
    code = 0
    try:
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGABRT, signal.SIGXCPU, signal.SIGUSR1):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # the worker went away: so does the parse
        # The worker's objects, copied with the fork, are never garbage here: out of the collector's sight, so
        # that no full collection walks the whole app again (and copies its pages) while the rows are sent.
        gc.freeze()
        gc.enable()  # the worker's may be off (an import or export in another thread held it): the child's is on
        cpu = limits.PARSE_CPU_SECONDS
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
        size = _address_space()
        if size:
            space = size + limits.PARSE_MEMORY_BYTES
            resource.setrlimit(resource.RLIMIT_AS, (space, space))

        def write(kind: str, value: object) -> None:
            payload = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(_HEADER.pack(len(payload)) + payload)
            while view:
                view = view[os.write(fd, view) :]

        try:
            work(lambda message: write("message", message))
            write(_DONE, None)
        except MemoryError:
            write(_MEMORY, None)
        except ValidationFailed as refused:
            write(_REFUSED, (isinstance(refused, WorkbookTooLarge), refused.message, refused.field))
        except BaseException as error:  # anything a reader raises (pyo3 panics are BaseException)
            write(_FAILED, _reader_failure(error))
    except BaseException:
        code = 1
    finally:
        os._exit(code)
