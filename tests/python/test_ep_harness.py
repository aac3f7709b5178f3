"""Result channels for the EP multi-process tests (no tests here).

Each rank process gets its own one-way pipe. A multiprocessing.Queue
shares one writer lock between all processes: a rank SIGKILLed while its
feeder thread still held that lock (between writing its last message and
releasing the lock, a window that ASan and load widen) blocks every
other rank's later messages forever. The survivors' operations had
returned in time; their results just never reached the test (this was the
"EP hang after SIGKILL", docs/known-issues.md). A Connection has no lock.
"""
import multiprocessing.connection as mpc
import time


class Results:
    """Per-rank result pipes. spawn() starts a process with the writer end
    in place of Results.PIPE among its args (the child calls
    .send((rank, what, value)) on it); by() collects."""

    PIPE = object()

    def __init__(self, ctx):
        self._ctx = ctx
        self._readers = []
        self._stash = {}

    def spawn(self, target, args):
        r, w = self._ctx.Pipe(duplex=False)
        p = self._ctx.Process(target=target, args=tuple(w if a is Results.PIPE else a for a in args))
        p.start()
        w.close()  # the child's copy is the only writer: its death is EOF here
        self._readers.append(r)
        return p

    def by(self, what, ranks, timeout=90):
        """The `what` messages of `ranks`; other messages (ranks run ahead
        of each other) are kept for later calls. A rank's ("error", text)
        fails the test."""
        ranks = set(ranks)
        out = {r: v for (w, r), v in list(self._stash.items()) if w == what and r in ranks}
        for r in out:
            del self._stash[(what, r)]
        deadline = time.monotonic() + timeout
        while set(out) != ranks:
            left = deadline - time.monotonic()
            ready = mpc.wait(self._readers, timeout=max(0.0, left)) if self._readers else []
            if not ready:
                missing = sorted(ranks - set(out))
                raise AssertionError(f"no {what!r} from ranks {missing} within {timeout} s")
            for c in ready:
                try:
                    rank, w, val = c.recv()
                except EOFError:  # that process exited (or was killed)
                    self._readers.remove(c)
                    continue
                assert w != "error", f"rank {rank}: {val}"
                if w == what and rank in ranks:
                    out[rank] = val
                else:
                    self._stash[(w, rank)] = val
        return out
