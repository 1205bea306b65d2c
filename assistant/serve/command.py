"""`assistant serve`: start (or join) Ray, deploy the answer replicas, serve HTTP until Ctrl-C.

A local Ray starts with its dashboard, usage statistics and log forwarding off, on
loopback; `--address` (or `RAY_ADDRESS`) joins a running cluster instead. Fixed replicas
(`--replicas N`) or autoscaling (`--min-replicas`, `--max-replicas`,
`--target-ongoing-requests`). Each replica gets `--threads` torch threads (default: this
machine's cores shared out among the replicas) and as many Ray CPUs.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

QUIET_RAY = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
             "RAY_SERVE_LOG_TO_STDERR": "0"}


def add_serve_parser(sub: Any, common: Callable[..., None]) -> None:
    p = sub.add_parser("serve", help="serve answers over HTTP from replicas on Ray Serve (needs the scale extra)")
    p.add_argument("--replicas", type=int, default=1, help="number of answering replicas (default: 1)")
    p.add_argument("--min-replicas", type=int, help="autoscaling: at least this many replicas")
    p.add_argument("--max-replicas", type=int, help="autoscaling: at most this many replicas")
    p.add_argument("--target-ongoing-requests", type=float, default=2.0,
                   help="autoscaling: requests in flight per replica to aim at (default: 2)")
    p.add_argument("--max-ongoing-requests", type=int, default=4, help="requests a replica takes at once (default: 4)")
    p.add_argument("--threads", type=int, help="torch threads per replica (default: cores / replicas, at least 1)")
    p.add_argument("--host", default="127.0.0.1", help="HTTP interface (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="HTTP port (default: 8000; 0: a free one)")
    p.add_argument("--address", help="a running Ray cluster to join (env: RAY_ADDRESS; default: start a local Ray)")
    common(p, article=False)


def free_port() -> int:
    """A free port below the ephemeral range (and above Ray's worker ports, 10002-19999): Ray's own
    processes take ephemeral ports while they start, so an ephemeral one picked first was taken."""
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


def deployment_options(replicas: int, min_replicas: int | None, max_replicas: int | None, target: float,
                       max_ongoing: int, threads: int) -> dict[str, Any]:
    """`AnswerReplica.options(...)`: fixed replicas, or autoscaling when a bound is given."""
    if replicas < 1 or (min_replicas is not None and min_replicas < 0) or (max_replicas is not None and
                                                                           max_replicas < 1):
        raise ValueError("--replicas and --max-replicas must be >= 1, --min-replicas >= 0")
    options: dict[str, Any] = {"max_ongoing_requests": max_ongoing, "ray_actor_options": {"num_cpus": threads}}
    if min_replicas is None and max_replicas is None:
        options["num_replicas"] = replicas
    else:
        low = min_replicas if min_replicas is not None else 1
        high = max_replicas if max_replicas is not None else max(low, replicas)
        if low > high:
            raise ValueError(f"--min-replicas {low} is above --max-replicas {high}")
        options["autoscaling_config"] = {"min_replicas": low, "max_replicas": high, "initial_replicas": max(low, 1),
                                         "target_ongoing_requests": target}
    return options


def start(config: dict[str, Any], *, replicas: int = 1, host: str = "127.0.0.1", port: int = 8000,
          address: str | None = None, min_replicas: int | None = None, max_replicas: int | None = None,
          target: float = 2.0, max_ongoing: int = 4, threads: int | None = None) -> Any:
    """Start Ray (or join `address`) and deploy; returns the app's handle (`stop()` ends it)."""
    os.environ.update({k: v for k, v in QUIET_RAY.items() if k not in os.environ})
    try:
        import ray
        from ray import serve
    except ImportError:
        from assistant.errors import ModelUnavailableError

        raise ModelUnavailableError("assistant serve needs the scale extra: pip install -e '.[scale]'") from None
    from assistant.serve.app import AnswerReplica

    cores = os.cpu_count() or 1
    threads = threads or max(1, cores // max(replicas, max_replicas or 0, 1))
    address = address or os.environ.get("RAY_ADDRESS")
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:  # Ray counts a CPU per replica: offer enough for every replica asked for
            ray.init(num_cpus=max(cores, threads * max(replicas, max_replicas or 0)), include_dashboard=False,
                     log_to_driver=False, _node_ip_address="127.0.0.1")
    serve.start(http_options={"host": host, "port": port}, logging_config={"enable_access_log": False})
    options = deployment_options(replicas, min_replicas, max_replicas, target, max_ongoing, threads)
    app = AnswerReplica.options(**options).bind({**config, "threads": threads})  # type: ignore[attr-defined]
    return serve.run(app, name="assistant", route_prefix="/")


def stop() -> None:
    import ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


def cmd_serve(args: argparse.Namespace) -> int:
    config = {"index_dir": args.index_dir, "model": args.model, "store": args.store}
    args.port = args.port or free_port()
    start(config, replicas=args.replicas, host=args.host, port=args.port, address=args.address,
          min_replicas=args.min_replicas, max_replicas=args.max_replicas, target=args.target_ongoing_requests,
          max_ongoing=args.max_ongoing_requests, threads=args.threads)
    print(f"Serving on http://{args.host}:{args.port}/ask ({args.replicas} replica(s)); Ctrl-C stops.",
          file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    return 0
