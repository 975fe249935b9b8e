"""Giving memory-mapped weights' pages back to the kernel once they have been read.

transformers maps safetensors checkpoints into memory; a weight's pages become resident when
something reads them (the ONNX writer, the reference model during validation) and stay resident
after. `page_out` asks the kernel to reclaim such pages with `madvise(MADV_PAGEOUT)`, which never
loses data: a clean file-backed page is read again from the file on its next use, and a page
changed in memory (copy-on-write) is kept. Anonymous memory (a model built in memory) is left
alone. Elsewhere than Linux this does nothing.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PAGE = 4096
_MADV_PAGEOUT = 21


def page_out(view: memoryview) -> bool:
    """Reclaim the file-backed pages under `view` (a contiguous byte buffer); True if asked."""
    if not sys.platform.startswith("linux") or len(view) < PAGE:
        return False
    import numpy as np

    address = np.frombuffer(view, dtype=np.uint8).ctypes.data
    start = address - address % PAGE
    end = address + len(view)
    end -= end % PAGE
    if end <= start or not _file_backed(start, end):
        return False
    libc = _libc()
    if libc is None:
        return False
    return libc.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_PAGEOUT) == 0


def page_out_tensors(tensors: Any) -> int:
    """`page_out` over each contiguous CPU tensor in `tensors`; the number reclaimed."""
    import torch

    count = 0
    for tensor in tensors:
        if tensor.device.type != "cpu" or not tensor.is_contiguous() or tensor.numel() == 0:
            continue
        data = tensor.detach().reshape(-1).view(torch.uint8)
        count += page_out(memoryview(data.numpy()))
    return count


@contextmanager
def mappings_held() -> Iterator[None]:
    """Within this block `page_out` reads the process's file mappings once, not per call.

    For callers that keep the tensors they page out alive throughout (the ONNX writer pages out
    each 16 MB chunk it has written: 278 calls and 1 ms of /proc/self/maps each for BERT-base), so
    the mappings of those tensors stay as they were seen. A range not found is looked up again,
    since new mappings may appear. Were another file unmapped meanwhile and its addresses reused
    by anonymous memory that then got paged out, MADV_PAGEOUT would swap that memory, not lose it.
    """
    _HELD.append([])
    try:
        yield
    finally:
        _HELD.pop()


_HELD: list[list[tuple[int, int]]] = []


def _file_backed(start: int, end: int) -> bool:
    """Whether [start, end) lies in one mapping of a file (not the heap, not anonymous memory)."""
    if _HELD and _within(_HELD[-1], start, end):
        return True
    ranges = _file_mappings()
    if _HELD:
        _HELD[-1][:] = ranges
    return _within(ranges, start, end)


def _within(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(low <= start and end <= high for low, high in ranges)


def _file_mappings() -> list[tuple[int, int]]:
    try:
        lines = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    ranges = []
    for line in lines:
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or not fields[5].startswith("/"):
            continue
        low, high = (int(x, 16) for x in fields[0].split("-"))
        ranges.append((low, high))
    return ranges


_LIBC: list[Any] = []


def _libc() -> Any:
    if not _LIBC:
        try:
            _LIBC.append(ctypes.CDLL(None, use_errno=True))
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20


def prefer_mmap() -> None:
    """Make glibc serve every allocation of 1 MiB or more with its own mapping, returned to the
    kernel on free. By default glibc raises that threshold each time a large block is freed
    (up to 32 MiB), after which large blocks come from the heap and stay resident when freed:
    ONNX Runtime loading a model after an export then leaves a second copy's worth of freed
    heap in the process. Process-wide; elsewhere than glibc this does nothing."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return
    libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
