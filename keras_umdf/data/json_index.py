"""The JSON index files keras_umdf leaves beside data it writes (a shard set,
a features folder): read back with their format and version checked."""

from __future__ import annotations

import json


def read_json_index(path: str, format: str, version: int, kind: str) -> dict:
    """The index at `path`, refused unless it names `format` and a version this
    keras_umdf reads (at most `version`).

    Args:
        path: the index file (it exists).
        format: the "format" entry it must hold.
        version: the newest "version" this code reads.
        kind: what the index is, for messages ("keras_umdf shard index").

    Raises:
        ValueError: another format (a file of that name another program
            wrote), or a newer version.
    """
    with open(path, encoding="utf-8") as file:
        try:
            metadata = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path!r} is not a {kind}: {error}.") from None
    if not isinstance(metadata, dict) or metadata.get("format") != format:
        found = metadata.get("format") if isinstance(metadata, dict) else None
        raise ValueError(
            f"{path!r} is not a {kind} (format {found!r}, expected {format!r})."
        )
    if metadata.get("version", 0) > version:
        raise ValueError(
            f"{path!r} has format version {metadata['version']}, newer than this "
            f"keras_umdf reads ({version}); upgrade keras_umdf."
        )
    return metadata
