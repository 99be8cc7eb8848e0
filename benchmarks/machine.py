"""The machine a benchmark ran on: CPU model, instruction sets, cores, load.

Recorded with every set of figures, since throughput on a CPU depends on which
vector and matrix instructions the libraries can use (AVX-512, AMX, ...).
"""

from __future__ import annotations

import datetime
import os
import platform

INSTRUCTION_SETS = (
    # x86-64, as /proc/cpuinfo's "flags" spell them.
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    # AArch64, as its "Features" line spells them.
    "asimd",
    "asimddp",
    "sve",
    "sve2",
    "bf16",
    "i8mm",
)
"""The instruction-set extensions that matter to float32/bfloat16 matrix
products, in this order when reported."""


def cpu_info(path: str = "/proc/cpuinfo") -> tuple[str, list[str]]:
    """The CPU's model name and its instruction sets among `INSTRUCTION_SETS`.

    Reads Linux's `/proc/cpuinfo` (its first processor); elsewhere the model
    is `platform.processor()` and the list is empty.
    """
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        with open(path) as file:
            for line in file:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model name", "cpu model") and value.strip():
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
                if not line.strip() and flags:
                    break  # The end of the first processor's block.
    except OSError:
        pass
    return model, [name for name in INSTRUCTION_SETS if name in flags]


def machine_description(threads: int) -> dict:
    """The machine now: CPU, instruction sets, cores, `threads` per run,
    load average, Python, platform and date."""
    cpu, instruction_sets = cpu_info()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": cpu,
        "instruction_sets": instruction_sets,
        "cores": os.cpu_count(),
        "threads": threads,
        "load_average_at_start": load,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }
