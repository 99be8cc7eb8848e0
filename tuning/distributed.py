"""Chief/worker searches over several processes or machines (KerasTuner's mode).

KerasTuner distributes a search with three environment variables:
`KERASTUNER_TUNER_ID` ("chief" for the process that runs the oracle, any other
distinct name such as "tuner0" for each worker), `KERASTUNER_ORACLE_IP` and
`KERASTUNER_ORACLE_PORT`. The chief serves the oracle over gRPC and runs no
trial; each worker asks it for hyper-parameters, trains, and reports back; all
of them write into one shared results directory.

The oracle's gRPC service is unauthenticated and unencrypted: anyone who can
reach its port can read the search and feed it trials. The chief therefore
listens on the loopback address 127.0.0.1 unless an address is named; name one
(e.g. the machine's address on a private cluster network) only on a network
you trust, and keep the port closed to everything else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time

LOOPBACK = "127.0.0.1"
CHIEF_ID = "chief"
ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"


@dataclasses.dataclass(frozen=True)
class DistributedSettings:
    """One process's part in a distributed search.

    Args:
        tuner_id: "chief" (a name containing "chief", as KerasTuner decides)
            for the oracle's process; a distinct name such as "tuner0" for each
            worker. A worker restarted with the same id gets its unfinished
            trial back.
        port: the oracle's TCP port.
        address: the chief listens on it; workers connect to it. Default
            127.0.0.1 (loopback): the gRPC service is unauthenticated.

    Example:

    ```python
    chief = DistributedSettings("chief", port=8000)  # listens on 127.0.0.1
    worker = DistributedSettings("tuner0", port=8000, address="10.0.0.5")
    ```
    """

    tuner_id: str
    port: int
    address: str = LOOPBACK

    def __post_init__(self) -> None:
        if not isinstance(self.tuner_id, str) or not self.tuner_id.strip():
            raise ValueError(
                f"tuner_id must be a non-empty name such as 'chief' or 'tuner0'; "
                f"received {self.tuner_id!r}."
            )
        if any(c in self.tuner_id for c in "/\\") or self.tuner_id.startswith("."):
            raise ValueError(
                f"tuner_id names a file of the search; received {self.tuner_id!r}. "
                "Use letters, digits, '-' and '_'."
            )
        port = self.port
        try:
            port = int(port)
        except (TypeError, ValueError):
            port = None
        if port is None or not 1 <= port <= 65535 or isinstance(self.port, bool):
            raise ValueError(
                f"The oracle port must be an integer in [1, 65535]; received "
                f"{self.port!r}."
            )
        object.__setattr__(self, "port", port)
        if not isinstance(self.address, str) or not self.address.strip():
            raise ValueError(
                f"The oracle address must be a host name or IP address; received "
                f"{self.address!r}."
            )

    @property
    def is_chief(self) -> bool:
        return CHIEF_ID in self.tuner_id

    @classmethod
    def resolve(
        cls,
        tuner_id: str | None = None,
        address: str | None = None,
        port: int | None = None,
        environ=None,
    ) -> DistributedSettings | None:
        """Settings from explicit values, then KerasTuner's environment variables.

        Returns None for a single-process search: no `tuner_id` given and no
        `KERASTUNER_ORACLE_IP` in the environment (KerasTuner's own test).

        Raises:
            ValueError: a distributed search lacks its port or tuner id, or an
                address or port is given without a tuner id.
        """
        environ = os.environ if environ is None else environ
        from_environment = tuner_id is None and ENV_ORACLE_IP in environ
        if tuner_id is None and not from_environment:
            if address is not None or port is not None:
                raise ValueError(
                    "An oracle address or port was given without a tuner id; a "
                    "distributed search also needs --tuner-id (chief for the "
                    "oracle, e.g. tuner0, tuner1 for the workers)."
                )
            return None
        if tuner_id is None:
            tuner_id = environ.get(ENV_TUNER_ID)
            if not tuner_id:
                raise ValueError(
                    f"{ENV_ORACLE_IP} is set, so this is a distributed search, but "
                    f"{ENV_TUNER_ID} is not; set it to 'chief' for the oracle or a "
                    "distinct name such as 'tuner0' for each worker."
                )
        if port is None:
            port = environ.get(ENV_ORACLE_PORT)
            if port is None:
                raise ValueError(
                    f"The distributed search of tuner {tuner_id!r} needs the "
                    f"oracle's port: pass --oracle-port or set {ENV_ORACLE_PORT}."
                )
        if address is None:
            address = environ.get(ENV_ORACLE_IP, LOOPBACK)
        return cls(tuner_id=tuner_id, port=port, address=address)

    def environment(self) -> dict[str, str]:
        """KerasTuner's three environment variables for this process."""
        return {
            ENV_TUNER_ID: self.tuner_id,
            ENV_ORACLE_IP: self.address,
            ENV_ORACLE_PORT: str(self.port),
        }

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@contextlib.contextmanager
def distributed_environment(settings: DistributedSettings | None):
    """Sets KerasTuner's environment variables for the block, then restores them.

    KerasTuner reads them when a tuner is created and when it searches. With
    `settings=None` (a single-process search) they are removed for the block,
    so that a stray variable cannot turn a local search into a client.
    """
    names = (ENV_TUNER_ID, ENV_ORACLE_IP, ENV_ORACLE_PORT)
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in names:
            os.environ.pop(name, None)
        if settings is not None:
            os.environ.update(settings.environment())
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wait_for_chief(
    settings: DistributedSettings, timeout: float = 3600.0, interval: float = 0.1
) -> None:
    """Blocks until the chief's oracle accepts connections (a worker's first step).

    Workers may start before the chief; each then asks for its first trial as
    soon as the oracle is up (gRPC alone would retry with growing back-off).

    Raises:
        TimeoutError: no chief answered within `timeout` seconds.
    """
    import socket

    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            with socket.create_connection((settings.address, settings.port), 1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"No chief answered at {settings.address}:{settings.port} for "
                    f"{timeout:.0f} s; start one with --tuner-id chief and the same "
                    "--oracle-address and --oracle-port."
                ) from None
            if not announced:
                print(
                    f"Worker {settings.tuner_id}: waiting for the chief's oracle at "
                    f"{settings.address}:{settings.port}.",
                    flush=True,
                )
                announced = True
            time.sleep(interval)


def serve_oracle(tuner, settings: DistributedSettings, poll_interval: float = 0.5):
    """Runs the chief: serves `tuner`'s oracle until every worker has finished.

    What `tuner.search()` does on a KerasTuner chief, plus two checks: the port
    must be free (KerasTuner would wait forever on a port it could not bind),
    and the chief returns within `poll_interval` seconds of the last worker
    finishing.

    Raises:
        OSError: the chief cannot listen on the address and port.
    """
    import grpc

    try:
        # KerasTuner's servicer (its public API exposes only `tuner.search()`).
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer
        from keras_tuner.src.distribute.oracle_chief import exit_chief
    except ImportError:  # A KerasTuner without these modules: its own loop.
        tuner.search()
        return
    from concurrent import futures

    tuner.save()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = OracleServicer(tuner.oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    target = f"{settings.address}:{settings.port}"
    try:
        bound = server.add_insecure_port(target)
    except RuntimeError:
        bound = 0
    if not bound:
        raise OSError(
            f"The chief cannot listen on {target}: the port is in use or the "
            "address is not one of this machine's. Choose another --oracle-port, "
            "or an --oracle-address of this machine."
        )
    server.start()
    print(f"Chief: the oracle listens on {target} (unauthenticated gRPC).", flush=True)
    try:
        while not (servicer.stop_triggered and exit_chief(tuner.oracle)):
            time.sleep(poll_interval)
    finally:
        server.stop(grace=2.0)
