"""The benchmark lab: download.pytorch.org and PyPI imitated over HTTPS on loopback, behind a CONNECT
proxy, so that every tool (torchpin, uv, light-the-torch, torchruntime) reaches "the real hosts"
and meets the same index and the same machine; data.pyg.org's pages too.

- ``Certificates``: a throw-away CA (openssl) and one server certificate for the imitated hosts.
- ``FakePyPI``: PyPI's simple pages for the torch family from the snapshot (tiny wheels that
  declare the companions' real ``Requires-Dist`` on torch) plus real wheels from a wheelhouse.
- ``ConnectProxy``: answers ``CONNECT host:443`` for the imitated hosts only (anything else is
  refused and counted), and relays the TLS bytes to the loopback server that plays that host.
- ``Machine`` / ``shims``: fake ``nvidia-smi`` (with the real per-driver behaviour: no
  ``compute_cap`` before R510), ``rocm_agent_enumerator`` and ``lspci -nn`` for one machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import select
import socket
import socketserver
import ssl
import subprocess
import threading
import urllib.parse
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import parse_wheel_filename

from .fake_index import FakeIndexServer, FakePytorchIndex, Knobs
from .wheelmaker import wheel_bytes

# The index hosts and the file hosts their pages link to (absolute links, as production's are:
# download.pytorch.org's pages point at download-r2.pytorch.org, PyPI's at files.pythonhosted.org).
HOSTS = (
    "download.pytorch.org",
    "download-r2.pytorch.org",
    "pypi.org",
    "files.pythonhosted.org",
    "data.pyg.org",
    "github.com",
    "release-assets.githubusercontent.com",
)
FILES_HOST = "https://files.pythonhosted.org"
TORCH_FILES_HOST = "https://download-r2.pytorch.org"
# PyPI's headers: simple pages are fresh for ten minutes (pulp/pulp_python#1254 quotes
# `curl -sI https://pypi.org/simple/numpy/`), files forever (pypi/infra#22).
PYPI_PAGE_CACHE = "max-age=600, public"
PYPI_FILE_CACHE = "max-age=365000000, immutable, public"
# torch 2.13's own Requires-Dist (read from the real wheel on this disk), without the CUDA
# libraries (nvidia-*, triton) its Linux CUDA builds add: the lab serves no stand-ins for those.
TORCH_REQUIRES = (
    "filelock",
    "typing-extensions>=4.10.0",
    "setuptools>=77.0.3",
    "sympy>=1.13.3",
    "networkx>=2.5.1",
    "jinja2",
    "fsspec>=0.8.5",
)
COMPANION_REQUIRES: dict[str, tuple[str, ...]] = {"torchvision": ("numpy", "pillow!=8.3.*,>=5.3.0")}
# The dependencies' own stand-ins (py3-none-any, their real Requires-Dist), at the versions a
# wheelhouse doesn't bring: any target Python and platform resolves them.
DEPENDENCIES = {
    "filelock": ("3.20.0", ()),
    "typing-extensions": ("4.15.0", ()),
    "setuptools": ("80.9.0", ()),
    "sympy": ("1.14.0", ("mpmath<1.4,>=1.1.0",)),
    "mpmath": ("1.3.0", ()),
    "networkx": ("3.5", ()),
    "jinja2": ("3.1.6", ("MarkupSafe>=2.0",)),
    "markupsafe": ("3.0.3", ()),
    "fsspec": ("2025.9.0", ()),
    "numpy": ("2.3.4", ()),
    "pillow": ("12.0.0", ()),
}


@dataclass
class Certificates:
    """A CA made for this run and a certificate for the imitated hosts, signed by it."""

    folder: Path

    def __post_init__(self) -> None:
        self.ca = self.folder / "ca.pem"
        self.cert = self.folder / "server.pem"
        self.key = self.folder / "server.key"
        hosts = self.folder / "hosts"
        made = self.ca.exists() and self.cert.exists() and self.key.exists() and hosts.exists()
        if made and hosts.read_text() == ",".join(HOSTS):
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        ext = self.folder / "ext.cnf"
        ext.write_text(
            "subjectAltName=" + ",".join(f"DNS:{h}" for h in HOSTS) + "\nextendedKeyUsage=serverAuth\n"
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
        )
        f = str(self.folder)
        for argv in (
            [
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                f"{f}/ca.key",
                "-out",
                str(self.ca),
                "-days",
                "3",
                "-subj",
                "/CN=torchpin bench lab CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            [
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                str(self.key),
                "-out",
                f"{f}/server.csr",
                "-subj",
                f"/CN={HOSTS[0]}",
            ],
            [
                "x509",
                "-req",
                "-in",
                f"{f}/server.csr",
                "-CA",
                str(self.ca),
                "-CAkey",
                f"{f}/ca.key",
                "-CAcreateserial",
                "-out",
                str(self.cert),
                "-days",
                "3",
                "-extfile",
                str(ext),
            ],
        ):
            subprocess.run(["openssl", *argv], check=True, capture_output=True, timeout=60)
        (self.folder / "bundle.pem").unlink(missing_ok=True)
        hosts.write_text(",".join(HOSTS))

    @property
    def bundle(self) -> Path:
        """The system's roots plus the lab's CA, as a client of the real hosts would load them."""
        path = self.folder / "bundle.pem"
        if not path.exists():
            system = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
            roots = system.read_bytes() if system.exists() else b""
            path.write_bytes(roots + b"\n" + self.ca.read_bytes())
        return path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert), str(self.key))
        return ctx


class FakePyPI:
    """``/simple/<project>/`` for the torch family (the snapshot's PyPI file names) and for every
    wheel in ``wheelhouse``; files under ``/packages/``."""

    def __init__(self, index: FakePytorchIndex, wheelhouse: Path | None = None) -> None:
        self.index = index
        self.real = {p.name: p for p in sorted(wheelhouse.glob("*.whl"))} if wheelhouse else {}
        self.pages: dict[str, list[str]] = {}
        for project, releases in index.catalog.projects.items():
            for release in releases.values():
                for f in release.raw_files:
                    self.pages.setdefault(project, []).append(f["filename"])
        self.deps: dict[str, bytes] = {}
        real_versions: dict[str, set[str]] = {}
        for name in self.real:
            project, version, _, _ = parse_wheel_filename(name)
            self.pages.setdefault(str(project), []).append(name)
            real_versions.setdefault(str(project), set()).add(str(version))
        dep_version: str
        for project, (dep_version, requires) in DEPENDENCIES.items():
            # Beside a wheelhouse's binary wheel, a pure stand-in of the same version, so a target
            # of another Python or platform still resolves and an install here takes the real one.
            for v in sorted(real_versions.get(project, {dep_version})):
                name = f"{project.replace('-', '_')}-{v}-py3-none-any.whl"
                if name not in self.real:
                    self.deps[name] = wheel_bytes(project, v, requires=_real_requires(self.real, project, v, requires))
                    self.pages.setdefault(project, []).append(name)
        self._bytes: dict[str, bytes] = {}
        self.lock = threading.Lock()

    def file(self, filename: str) -> bytes | None:
        if filename in self.real:
            return self.real[filename].read_bytes()
        if filename in self.deps:
            return self.deps[filename]
        with self.lock:
            if filename not in self._bytes:
                try:
                    self._bytes[filename] = self.index.stand_in(filename, self.index.knobs.torch_requires)
                except ValueError:  # not a wheel name
                    return None
            return self._bytes[filename]

    def page(self, project: str) -> str | None:
        names = self.pages.get(project)
        if not names:
            return None
        rows = []
        for name in sorted(set(names)):
            body = self.file(name)
            if body is not None:
                digest = hashlib.sha256(body).hexdigest()
                href = f"{FILES_HOST}/packages/{urllib.parse.quote(name)}#sha256={digest}"
                rows.append(f'<a href="{href}">{name}</a><br/>')
        return "<!DOCTYPE html><html><body>\n" + "\n".join(rows) + "\n</body></html>\n"


def _real_requires(real: dict[str, Path], project: str, version: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """The Requires-Dist of a wheelhouse wheel of that project and version, else ``default``."""
    stem = f"{project.replace('-', '_')}-{version}-".lower()
    for name, path in real.items():
        if name.lower().startswith(stem):
            with zipfile.ZipFile(path) as zf:
                meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
                text = zf.read(meta).decode()
            lines = text.splitlines()
            return tuple(line.split(":", 1)[1].strip() for line in lines if line.startswith("Requires-Dist:"))
    return default


class _PyPIHandler(http.server.BaseHTTPRequestHandler):
    server: _PyPIServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:  # uv asks before a download whether it could read ranges
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        with self.server.state_lock:
            self.server.hits[path] += 1
        parts = [p for p in path.split("/") if p]
        body: bytes | None = None
        ctype = "text/html"
        if len(parts) == 2 and parts[0] == "simple":
            page = self.server.pypi.page(parts[1].lower().replace("_", "-"))
            body = page.encode() if page else None
        elif len(parts) == 2 and parts[0] == "packages":
            body, ctype = self.server.pypi.file(parts[1]), "application/octet-stream"
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", PYPI_PAGE_CACHE if ctype == "text/html" else PYPI_FILE_CACHE)
        self.end_headers()
        if not head:
            self.wfile.write(body)


class _PyPIServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # as fake_index._Server: a real host drops no SYNs

    def __init__(self, pypi: FakePyPI, tls: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _PyPIHandler)
        self.tls = tls
        self.pypi = pypi
        self.hits: Counter[str] = Counter()
        self.state_lock = threading.Lock()

    def get_request(self) -> tuple[Any, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle + delayed-ACK stalls
        # The handshake runs in the connection's own thread, as a real server's would: done in
        # accept(), each new connection waited for every one before it.
        return self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up mid-answer are not the lab's concern


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        method, _, rest = line.partition(" ")
        target = rest.split(" ", 1)[0]
        host, _, port = target.rpartition(":")
        with self.server.state_lock:
            self.server.connects[host or target] += 1
        upstream_port = self.server.routes.get(host.lower()) if method == "CONNECT" and port == "443" else None
        if upstream_port is None:
            with self.server.state_lock:
                self.server.refused[target] += 1
            self.request.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with socket.create_connection(("127.0.0.1", upstream_port), timeout=30) as upstream:
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.server.delay:  # the proxy's TCP handshake with the far host: one round trip
                import time

                time.sleep(2 * self.server.delay)
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            extra = head.split(b"\r\n\r\n", 1)[1]
            if extra:
                upstream.sendall(extra)
            _relay(self.request, upstream, self.server.delay)


def _relay(a: socket.socket, b: socket.socket, delay: float) -> None:
    """Copy bytes both ways until one side closes; with ``delay``, each direction is a delay line
    (every chunk leaves ``delay`` seconds after it arrived, chunks still overlap), which gives the
    tools a real network's round-trip time (2 x delay) for handshakes and requests alike."""
    if delay <= 0:
        peers = {a: b, b: a}
        while True:
            ready, _, _ = select.select(list(peers), [], [], 60)
            if not ready:
                return
            for s in ready:
                try:
                    data = s.recv(65536)
                    if not data:
                        return
                    peers[s].sendall(data)
                except OSError:
                    return
    threads = [
        threading.Thread(target=_delay_line, args=(src, dst, delay), daemon=True) for src, dst in ((a, b), (b, a))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _delay_line(src: socket.socket, dst: socket.socket, delay: float) -> None:
    import queue
    import time

    pending: queue.Queue[tuple[float, bytes]] = queue.Queue()

    def send() -> None:
        while True:
            due, data = pending.get()
            if not data:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)
                return
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                dst.sendall(data)
            except OSError:
                return

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    while True:
        try:
            data = src.recv(65536)
        except OSError:
            data = b""
        pending.put((time.monotonic() + delay, data))
        if not data:
            break
    sender.join()


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTPS proxy for the imitated hosts only; what it was asked for is counted."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # uv opens many tunnels at once: socketserver's 5 drops SYNs (1 s retries)

    def __init__(self, routes: dict[str, int], rtt_ms: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.routes = routes
        self.delay = rtt_ms / 2000  # one way, seconds
        self.connects: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.state_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@dataclass
class Lab:
    """The imitated hosts and the proxy in front of them; ``env()`` points a tool at them."""

    folder: Path
    wheelhouse: Path | None = None
    index: FakePytorchIndex = field(
        default_factory=lambda: FakePytorchIndex(
            knobs=Knobs(torch_requires=TORCH_REQUIRES, companion_requires=COMPANION_REQUIRES)
        )
    )

    def __enter__(self) -> Lab:
        self.certs = Certificates(self.folder / "certs")
        tls = self.certs.server_context()
        self.pytorch = FakeIndexServer(self.index, tls=tls)
        self.pypi_server = _PyPIServer(FakePyPI(self.index, self.wheelhouse), tls)
        port = self.pytorch.main.server_address[1]
        self.pytorch.main.cdn_url = self.pytorch.cdn.cdn_url = TORCH_FILES_HOST
        routes = {
            "download.pytorch.org": port,
            "download-r2.pytorch.org": self.pytorch.cdn.server_address[1],
            "pypi.org": self.pypi_server.server_address[1],
            "files.pythonhosted.org": self.pypi_server.server_address[1],
            "data.pyg.org": self.pytorch.pyg.server_address[1],
            "github.com": self.pytorch.github.server_address[1],
            "release-assets.githubusercontent.com": self.pytorch.cdn.server_address[1],
        }
        self.pytorch.github.assets_url = "https://release-assets.githubusercontent.com"
        self.proxy = ConnectProxy(routes)
        self.pytorch.__enter__()
        for srv in (self.pypi_server, self.proxy):
            threading.Thread(target=srv.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pytorch.__exit__()
        for srv in (self.pypi_server, self.proxy):
            srv.shutdown()
            srv.server_close()

    def env(self) -> dict[str, str]:
        """What every tool gets: the proxy, the lab's CA, and nothing from this machine's pip setup."""
        ca = str(self.certs.bundle)
        return {
            "HTTPS_PROXY": self.proxy.url,
            "https_proxy": self.proxy.url,
            "HTTP_PROXY": self.proxy.url,
            "http_proxy": self.proxy.url,
            "NO_PROXY": "",
            "no_proxy": "",
            "SSL_CERT_FILE": ca,
            "PIP_CERT": ca,
            "REQUESTS_CA_BUNDLE": ca,
            "PIP_CONFIG_FILE": "/dev/null",
            "UV_NO_CONFIG": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
        }

    def requests(self) -> int:
        """Every request the imitated hosts answered so far."""
        return sum(self.pytorch.hits().values()) + sum(self.pypi_server.hits.values())

    def refused(self) -> int:
        return sum(self.proxy.refused.values())


# ---- machines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gpu:
    name: str  # as nvidia-smi / lspci print it
    cc: str | None = None  # NVIDIA compute capability
    gfx: str | None = None  # AMD
    pci: str = ""  # vendor:device, as lspci -nn prints it
    chip: str = ""  # lspci's chip name


@dataclass(frozen=True)
class Machine:
    label: str
    os: str = "linux"  # linux | windows | macos
    arch: str = "x86_64"
    driver: str | None = None
    gpus: tuple[Gpu, ...] = ()

    @property
    def nvidia(self) -> tuple[Gpu, ...]:
        return tuple(g for g in self.gpus if g.cc)


def shims(machine: Machine, folder: Path) -> Path:
    """A bin folder with this machine's nvidia-smi, rocm_agent_enumerator and lspci."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "machine.json"
    spec.write_text(json.dumps({"driver": machine.driver, "gpus": [g.__dict__ for g in machine.gpus]}))
    import sys

    amd = any(g.gfx for g in machine.gpus)
    wanted = {"lspci": True, "nvidia-smi": bool(machine.nvidia), "rocm_agent_enumerator": amd}
    for name, body in _SHIMS.items():
        path = folder / name
        if not wanted[name]:  # a machine without that vendor's driver has no such tool
            path.unlink(missing_ok=True)
            continue
        path.write_text(f"#!{sys.executable}\nimport json, sys\nM = json.load(open({str(spec)!r}))\n{body}")
        path.chmod(0o755)
    return folder


_SHIMS = {
    "nvidia-smi": r"""
gpus = [g for g in M["gpus"] if g.get("cc")]
args = sys.argv[1:]
if not gpus or not M["driver"]:
    print("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    sys.exit(9)
query = next((a.split("=", 1)[1] for a in args if a.startswith("--query-gpu=")), None)
if query is None:
    print(f"| NVIDIA-SMI {M['driver']}    Driver Version: {M['driver']}    CUDA Version: 12.x |")
    sys.exit(0)
fields = query.split(",")
if "compute_cap" in fields and int(M["driver"].split(".")[0]) < 510:  # the field came with R510
    print('Field "compute_cap" is not a valid field to query.')
    sys.exit(2)
fmt = next((a.split("=", 1)[1] for a in args if a.startswith("--format=")), "csv")
if "noheader" not in fmt:
    print(", ".join(fields))
for i, g in enumerate(gpus):
    values = {"index": str(i), "uuid": f"GPU-{i:08d}-0000-0000-0000-000000000000", "name": g["name"],
              "driver_version": M["driver"], "compute_cap": g["cc"], "memory.total": "24576"}
    print(", ".join(values.get(f, "[N/A]") for f in fields))
""",
    "rocm_agent_enumerator": r"""
print("gfx000")
for g in M["gpus"]:
    if g.get("gfx"):
        print(g["gfx"])
""",
    "lspci": r"""
print("00:00.0 Host bridge [0600]: Intel Corporation Device [8086:a700] (rev 01)")
for i, g in enumerate(M["gpus"]):
    vendor = "NVIDIA Corporation" if g["pci"].startswith("10de") else "Advanced Micro Devices, Inc. [AMD/ATI]"
    print(f"{i + 1:02d}:00.0 VGA compatible controller [0300]: {vendor} {g['chip']} [{g['pci']}] (rev a1)")
""",
}


@contextlib.contextmanager
def running(folder: Path, wheelhouse: Path | None = None) -> Any:
    with Lab(folder, wheelhouse) as lab:
        yield lab
