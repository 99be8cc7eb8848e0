"""The output directory of a run: created new, resumed, or refused.

Rules (the same for `keras-umdf train`, `evaluate` and `reproduce`):

- a directory that does not exist (or is empty) is created and a new run starts;
- a directory holding an unfinished run of the same configuration resumes it;
- a directory holding an unfinished run of another configuration is refused,
  with the settings that differ named;
- a directory holding a finished or failed run, or anything else, is refused,
  naming what it holds, unless `overwrite=True` (`--overwrite`), which removes
  the files that a run of the same kind writes (`KIND_OUTPUTS`; never any other
  file) and starts anew;
- `overwrite` never replaces another command's run (an `evaluate --overwrite`
  into a training run would delete the model it evaluates), never removes or
  writes over a file that no run recorded there, and never touches the
  command's own inputs (`inputs`).

The directory's `run.json` records the configuration and the run's status
("running", "finished" or "failed"), so the decision needs nothing else.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from collections.abc import Mapping

from keras_umdf.data.atomic_file import temporary_target
from keras_umdf.data.atomic_file import write_text_atomically

RUN_FILE = "run.json"
"""The file that marks a keras_umdf run directory."""

REPORT_OUTPUTS = ("results.json", "results.md", "figures")

KIND_OUTPUTS = {
    "train": (
        RUN_FILE,
        "model.keras",
        "model.tmp.keras",
        "checkpoint.keras",
        "checkpoint.tmp.keras",
        "training_state",
        "history.json",
        "history.csv",
        "logs",
        *REPORT_OUTPUTS,
    ),
    "evaluate": (RUN_FILE, *REPORT_OUTPUTS),
    "reproduce": (RUN_FILE, "runs", *REPORT_OUTPUTS),
    "missing_text": (RUN_FILE, "runs", *REPORT_OUTPUTS),
}
"""The names each kind of run writes in its directory; `overwrite` removes
those of the run's own kind and nothing else."""

RUN_OUTPUTS = tuple(dict.fromkeys(n for names in KIND_OUTPUTS.values() for n in names))
"""Every name some keras_umdf run writes in its directory."""

NEW, RESUME, FINISHED = "new", "resume", "finished"


class RunDirectory:
    """A run's output directory and its `run.json`.

    Args:
        path: the directory.
        kind: what runs there: "train", "evaluate", "reproduce".

    Example:

    ```python
    run = RunDirectory("out/mosi-seed0", "train")
    state = run.prepare(config, overwrite=False)  # "new" or "resume"
    ...
    run.mark_finished()
    ```
    """

    def __init__(self, path, kind: str):
        self.path = os.fspath(path)
        self.kind = kind

    def file(self, *names: str) -> str:
        """A path inside the directory."""
        return os.path.join(self.path, *names)

    def read(self) -> dict | None:
        """The `run.json` record, or None when there is none."""
        path = self.file(RUN_FILE)
        if not os.path.exists(path):
            return None
        try:
            with open(path) as file:
                record = json.load(file)
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(
                f"{path!r} is not a readable keras_umdf run record ({error}); "
                "choose another output directory or pass --overwrite."
            ) from error
        if not isinstance(record, dict) or "config" not in record:
            raise ValueError(
                f"{path!r} is not a keras_umdf run record; choose another output "
                "directory or pass --overwrite."
            )
        return record

    def prepare(
        self,
        config: Mapping,
        *,
        overwrite: bool = False,
        reuse_finished: bool = False,
        recorded_defaults: Mapping | None = None,
        inputs=(),
    ) -> str:
        """Creates, resumes or refuses the directory for a run of `config`.

        Args:
            config: the run's configuration (JSON-serialisable); a run resumes
                only when it equals the recorded one.
            overwrite: remove what an earlier keras_umdf run wrote here and
                start anew.
            reuse_finished: return "finished" for a finished run of the same
                configuration instead of refusing it (used by `reproduce`,
                whose finished units are kept).
            recorded_defaults: top-level configuration keys added after runs
                were recorded without them, with the value such a run had
                (e.g. `{"select_epoch": "last"}`): a record that lacks the key
                compares as if it held that value.
            inputs: files the command reads (a model to evaluate); a directory
                where the run would remove or write over one is refused.

        Returns:
            "new", "resume" or "finished".

        Raises:
            FileExistsError: the directory holds a finished or failed run or
                other files, and `overwrite` is False; or, whatever
                `overwrite`, another command's run, files that no run recorded
                under names this run writes, or one of `inputs` among them.
            ValueError: it holds an unfinished run of another configuration.
            PermissionError, OSError: it cannot be created or written.
        """
        config = _jsonable(config)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise FileExistsError(
                f"--output {self.path!r} is a file, not a directory; choose a "
                "directory."
            )
        record = self.read() if os.path.isdir(self.path) else None
        self._check_inputs(inputs)
        if record is not None and record.get("kind") != self.kind:
            raise FileExistsError(
                f"{self.path!r} holds a keras_umdf {record.get('kind')!r} run, not "
                f"a {self.kind!r} run, and --overwrite replaces only a run of the "
                "same command; choose another output directory."
            )
        if record is not None and not overwrite:
            status = record.get("status")
            recorded = {**_jsonable(recorded_defaults or {}), **record["config"]}
            differences = _differences(recorded, config)
            if status == "running":
                if differences:
                    raise ValueError(
                        f"{self.path!r} holds an unfinished run with another "
                        f"configuration ({'; '.join(differences)}); rerun with the "
                        "same settings to resume it, or pass --overwrite to start "
                        "anew."
                    )
                self.remove_stale_temporaries()
                return RESUME
            if status == FINISHED and reuse_finished and not differences:
                self.remove_stale_temporaries()
                return FINISHED
            what = (
                f"a failed run ({record.get('error', 'no reason recorded')})"
                if status == "failed"
                else f"a {status} run"
            )
            raise FileExistsError(
                f"{self.path!r} already holds {what}; choose another output "
                "directory or pass --overwrite to replace it."
            )
        if os.path.isdir(self.path):
            entries = sorted(os.listdir(self.path))
            if entries and record is None and not overwrite:
                shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
                raise FileExistsError(
                    f"{self.path!r} exists and holds files that are not a "
                    f"keras_umdf run ({shown}); choose a new or empty directory, "
                    "or pass --overwrite to write beside them."
                )
            clashes = [e for e in entries if e in self.outputs]
            if record is None and clashes:
                raise FileExistsError(
                    f"{self.path!r} holds {', '.join(clashes)}, which no keras_umdf "
                    f"run recorded there and a {self.kind!r} run would replace; "
                    "--overwrite never removes such files: move them or choose "
                    "another output directory."
                )
            if overwrite:
                self.clear()
        os.makedirs(self.path, exist_ok=True)
        self.write(
            {
                "kind": self.kind,
                "status": "running",
                "created": _now(),
                "config": config,
            }
        )
        return NEW

    @property
    def outputs(self) -> tuple[str, ...]:
        """The names a run of this kind writes here (`KIND_OUTPUTS`)."""
        return KIND_OUTPUTS.get(self.kind, RUN_OUTPUTS)

    def _check_inputs(self, inputs) -> None:
        """Refuses a directory where this run would replace one of `inputs`."""
        for input_path in inputs:
            real = os.path.realpath(input_path)
            for name in self.outputs:
                output = os.path.realpath(self.file(name))
                if real == output or real.startswith(output + os.sep):
                    raise FileExistsError(
                        f"--output {self.path!r} would replace {input_path!r}, "
                        "which this command reads; choose another output "
                        "directory."
                    )

    def remove_stale_temporaries(self) -> None:
        """Removes the temporary files that a killed run of this kind left
        here (`keras_umdf.data.atomic_file.temporary_name`): those of its
        outputs whose writer is gone ("history.json.tmp-<pid>") or not named
        ("model.tmp.keras")."""
        for entry in os.listdir(self.path):
            owner = temporary_target(entry)
            if owner is None:
                continue
            target, pid = owner
            if target in self.outputs and (pid is None or not _process_alive(pid)):
                os.remove(self.file(entry))

    def clear(self) -> None:
        """Removes the files a run of this kind writes here (`outputs`)."""
        for name in self.outputs:
            path = self.file(name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            elif os.path.lexists(path):
                os.remove(path)

    def write(self, record: Mapping) -> None:
        """Writes `run.json` through a temporary file and a rename."""
        text = json.dumps(_jsonable(record), indent=2) + "\n"
        write_text_atomically(self.file(RUN_FILE), text)

    def update(self, **fields) -> None:
        """Sets fields of `run.json` (e.g. `status="finished"`)."""
        record = self.read() or {"kind": self.kind, "config": {}}
        record.update(fields)
        self.write(record)

    def mark_finished(self, **fields) -> None:
        """Records that the run finished."""
        self.update(status=FINISHED, finished=_now(), **fields)

    def mark_failed(self, error: str) -> None:
        """Records that the run failed (e.g. the loss became NaN) and why."""
        self.update(status="failed", error=error, failed=_now())


def _process_alive(pid: int) -> bool:
    """Whether process `pid` runs (True where it cannot be told: on Windows,
    `os.kill` would end the process instead of probing it)."""
    if pid == os.getpid() or os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process, or a platform that cannot tell
    return True


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _jsonable(value):
    """A JSON round trip, so a configuration compares equal to its record."""
    return json.loads(json.dumps(value, default=str))


def _differences(recorded: Mapping, current: Mapping, prefix: str = "") -> list[str]:
    differences = []
    for key in sorted(set(recorded) | set(current)):
        name = f"{prefix}{key}"
        old, new = recorded.get(key, "<unset>"), current.get(key, "<unset>")
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            differences += _differences(old, new, prefix=f"{name}.")
        elif old != new:
            differences.append(f"{name}: recorded {old!r}, now {new!r}")
    return differences
