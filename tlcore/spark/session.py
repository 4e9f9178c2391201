"""Starting a Spark session, after checking everything that would otherwise fail obscurely.

PySpark is an optional extra and needs a Java runtime; a cluster's master must answer. Each
is checked before a session starts, so a missing piece is a :class:`~tlcore.errors.TLCoreError`
saying what to install or start, not a Java stack trace or a session that hangs while it
retries a master that is not there.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from ..errors import TLCoreError

MIN_JAVA = 17  # PySpark 4 runs on Java 17 or newer
CONNECT_TIMEOUT_S = 3.0  # how long a master's port may take to answer
DEFAULT_PORTS = {"spark": 7077, "sc": 15002, "k8s": 443}
MASTER_FORMS = "local[*], local[N], spark://HOST:7077, sc://HOST:15002 (Spark Connect), yarn or k8s://https://HOST:PORT"
INSTALL_SPARK = "install the Spark extra: pip install -e '.[spark]' (from a checkout) or pip install 'transfer-studio[spark]'."
INSTALL_JAVA = f"install a Java {MIN_JAVA}+ runtime, e.g. sudo apt-get install default-jre-headless, or set JAVA_HOME to one."
# PySpark 4 warns about pandas 3 on every import and in every worker; tlcore's use of it works.
_PANDAS_WARNING = "PySpark does not yet fully support pandas"

_LOCAL = re.compile(r"^local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?$|^local-cluster\[\d+,\d+,\d+\]$")
_HOST_PORT = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:(\d{1,5}))?$")


@dataclass(frozen=True)
class Master:
    """A parsed master URL: ``kind`` is local, spark, sc, yarn or k8s; ``addresses`` the
    (host, port) pairs to reach (a standalone master may list several, for high availability)."""

    url: str
    kind: str
    addresses: tuple[tuple[str, int], ...] = ()

    @property
    def local(self) -> bool:
        return self.kind == "local"


def parse_master(master: str) -> Master:
    """Check the form of a master URL (:data:`MASTER_FORMS`); a :class:`TLCoreError` if it is none of them."""
    url = str(master or "").strip()
    if _LOCAL.match(url):
        return Master(url, "local")
    if url == "yarn":
        return Master(url, "yarn")
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("spark", "sc", "k8s"):
        if scheme == "k8s":  # k8s://https://host:port
            rest = rest.partition("://")[2] if "://" in rest else rest
        hosts = rest.split("/")[0].split(";")[0]
        addresses = []
        for item in hosts.split(",") if scheme == "spark" else [hosts]:
            match = _HOST_PORT.match(item)
            if not match or (match.group(3) and not 0 < int(match.group(3)) < 65536):
                break
            addresses.append((match.group(1).strip("[]"), int(match.group(3) or DEFAULT_PORTS[scheme])))
        else:
            if addresses:
                return Master(url, scheme, tuple(addresses))
    raise TLCoreError(f"{url!r} is not a Spark master URL.", f"use one of {MASTER_FORMS}.")


def require_pyspark():
    """The ``pyspark`` module, or a :class:`TLCoreError` saying how to install the extra."""
    warnings.filterwarnings("ignore", message=_PANDAS_WARNING, category=FutureWarning)
    try:
        import pyspark
    except ImportError:
        raise TLCoreError("PySpark is not installed, and `--engine spark` needs it.", INSTALL_SPARK) from None
    major = int(re.match(r"\d+", pyspark.__version__).group())
    if major < 4:
        raise TLCoreError(f"PySpark {pyspark.__version__} is installed; Transfer Studio needs PySpark 4.",
                          "pip install 'pyspark>=4,<5'.")
    return pyspark


def java_executable() -> str:
    """The ``java`` PySpark will start (``$JAVA_HOME/bin/java``, else the one on PATH), checked
    to be Java :data:`MIN_JAVA` or newer."""
    home = os.environ.get("JAVA_HOME")
    if home:
        java = os.path.join(home, "bin", "java")
        if not os.access(java, os.X_OK):
            raise TLCoreError(f"JAVA_HOME is {home}, but there is no {java}; Spark needs Java to run.",
                              "point JAVA_HOME at a Java runtime folder (the one holding bin/java), or unset it and "
                              + INSTALL_JAVA)
    else:
        java = shutil.which("java")
        if not java:
            raise TLCoreError("Java was not found (no JAVA_HOME, no `java` on PATH); Spark needs Java to run.",
                              INSTALL_JAVA)
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
        text = done.stderr + done.stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise TLCoreError(f"{java} could not be run ({err}).", INSTALL_JAVA) from None
    found = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if found:
        major = int(found.group(1)) if found.group(1) != "1" else int(found.group(2) or 0)  # "1.8.0" is Java 8
        if major < MIN_JAVA:
            raise TLCoreError(f"{java} is Java {major}; PySpark 4 needs Java {MIN_JAVA} or newer.", INSTALL_JAVA)
    return java


def check_reachable(master: Master, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse a master whose port does not answer within ``timeout`` seconds: Spark itself
    would retry it for minutes."""
    errors = []
    for host, port in master.addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as err:
            errors.append(f"{host}:{port} ({err.strerror or err.__class__.__name__})")
    if errors:
        default = DEFAULT_PORTS.get(master.kind)
        raise TLCoreError(
            f"The Spark master {master.url} does not answer: nothing listens at {', '.join(errors)}.",
            f"start the master there, or check the host name, the port (Spark's default for {master.kind}:// is "
            f"{default}) and that no firewall is in the way; --master 'local[*]' runs on this machine instead.")


def check_spark(master: str) -> Master:
    """Every check that can be made before a session starts: PySpark, the master URL, Java
    (a Spark Connect client needs none) and whether the master answers."""
    require_pyspark()
    parsed = parse_master(master)
    if parsed.kind != "sc":
        java_executable()
    check_reachable(parsed)
    return parsed


def spark_session(master: str = "local[2]", app_name: str = "transfer-studio",
                  conf: dict[str, Any] | None = None):
    """A :class:`pyspark.sql.SparkSession` on ``master``, after :func:`check_spark`.

    Args:
        master: ``local[N]`` runs N tasks on this machine; ``spark://HOST:PORT`` a standalone
            cluster; ``sc://HOST:PORT`` a Spark Connect server (needs ``pyspark[connect]``).
        app_name: The name the cluster's UI shows.
        conf: Extra Spark settings (``{"spark.task.cpus": "2"}``); they win over tlcore's.

    Returns:
        The session (an already active one in this process, with its own master, if any).
    """
    parsed = check_spark(master)
    from pyspark.sql import SparkSession

    settings = {"spark.ui.showConsoleProgress": "false",  # tlcore reports progress itself
                "spark.executorEnv.PYTHONWARNINGS": f"ignore:{_PANDAS_WARNING}:FutureWarning"}
    if parsed.local:
        # On this machine the workers must run this Python (with tlcore and TensorFlow), not
        # whatever `python3` is on PATH, PySpark's default.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings.update({k: str(v) for k, v in (conf or {}).items()})
    if parsed.kind == "sc":
        builder = SparkSession.builder.remote(parsed.url)
    else:
        builder = SparkSession.builder.master(parsed.url)
    builder = builder.appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except ImportError as err:  # Spark Connect's client libraries (grpcio, …)
        raise TLCoreError(f"Spark Connect needs libraries that are not installed ({err}).",
                          "pip install 'pyspark[connect]>=4,<5'.") from None
    except Exception as err:  # PySparkRuntimeError (JAVA_GATEWAY_EXITED), Py4J and gRPC errors
        raise TLCoreError(f"Spark could not start on {parsed.url}: {str(err).strip()[:400]}",
                          f"check the master and the Spark settings; on this machine, {INSTALL_JAVA}") from None
    if not is_connect(session):
        session.sparkContext.setLogLevel("ERROR")
    return session


def is_connect(spark) -> bool:
    """True for a Spark Connect session (no SparkContext: files travel as artifacts)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def active_session():
    """This process's active session, or None (a Databricks notebook's ``spark``, a test's)."""
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


__all__ = ["MASTER_FORMS", "Master", "check_spark", "is_connect", "java_executable", "parse_master",
           "require_pyspark", "spark_session"]
