"""BLAS threads for model fits that run beside the engine."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Keep OpenBLAS to one thread for what runs inside (process-wide while it runs).

    The fits here call BLAS on small matrices or beside DuckDB, which already uses every core:
    OpenBLAS threads then mostly spin waiting for each other and take the engine's cores (a
    churn fit took 14× longer with them on a busy machine, 0.9 s → 12 s; the report's value and
    driver fits slowed its queries). threadpoolctl (a scikit-learn dependency) limits them when
    installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - without it the fits are the same, only slower under load
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
