"""The CPU's cache size, which the attention kernels size their chunks by.

Read at run time rather than tuned to one machine: a chunk of the attention's
logits that the last-level cache holds passes from one operation to the next
without a round trip to memory, and that size differs from CPU to CPU.
"""

import functools
import os

FALLBACK_CACHE_BYTES = 32 * 2**20
"""The last-level cache assumed where the machine does not report its own."""


@functools.cache
def last_level_cache_bytes(folder: str = "/sys/devices/system/cpu/cpu0/cache") -> int:
    """The CPU's largest cache, in bytes, as Linux reports it for CPU 0 (the
    `size` files of `folder`'s entries, such as "32768K");
    `FALLBACK_CACHE_BYTES` where it reports none."""
    largest = 0
    try:
        entries = os.listdir(folder)
    except OSError:
        entries = []
    for entry in entries:
        try:
            with open(os.path.join(folder, entry, "size")) as file:
                size = file.read().strip()
        except OSError:
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        factor = units.get(size[-1:].upper(), 1)
        digits = size[:-1] if size[-1:].upper() in units else size
        if digits.isdigit():
            largest = max(largest, int(digits) * factor)
    return largest or FALLBACK_CACHE_BYTES
