"""``emeterai serve``: the web app (local mode) or a verification service (``--verify-only``).

The skin reads the options, makes the config (with a fresh token in local mode), binds the
socket itself (so ``--port 0`` works and the printed URL names the real port) and runs uvicorn:
one process, or ``--workers N`` processes sharing the socket.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from emeterai.cli._common import read_file, state
from emeterai.errors import UsageError
from emeterai.i18n import N_, _

HELP = _(
    "Open emeterai in the browser on this computer (wallet, stamping, checking), or with "
    "--verify-only run a verification service for portals."
)


def serve_cmd(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option(metavar="PORT", help=_("Port to listen on (0: any free port)."))
    ] = 8765,
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS",
            help=_("Address to listen on. Local mode serves 127.0.0.1 only."),
        ),
    ] = "127.0.0.1",
    no_open: Annotated[bool, typer.Option("--no-open", help=_("Do not open the browser."))] = False,
    verify_only: Annotated[
        bool,
        typer.Option(
            "--verify-only",
            help=_("Only verification, health and metrics: no wallet, no stamping."),
        ),
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, metavar="N", help=_("Worker processes (--verify-only)."))
    ] = 1,
    ledger: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|URL",
            help=_(
                "Ledger of serials seen: a SQLite file or a postgresql:// URL shared by instances."
            ),
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            metavar="FILE",
            dir_okay=False,
            help=_("Access token for --verify-only (first line). Else EMETERAI_SERVE_TOKEN."),
        ),
    ] = None,
    trust: Annotated[
        list[Path] | None,
        typer.Option(metavar="PEM", help=_("Also trust this issuer's root certificate (PEM).")),
    ] = None,
    crl: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help=_("The issuer's revocation list (CRL).")),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            metavar="FOLDER",
            file_okay=False,
            help=_(
                "Folder that keeps every stamped file (default: 'stamped' in emeterai's folder)."
            ),
        ),
    ] = None,
    lock_after: Annotated[
        float,
        typer.Option(
            metavar="MINUTES", min=0.05, help=_("Lock the wallet again after this long unused.")
        ),
    ] = 10.0,
    max_upload: Annotated[
        str,
        typer.Option(metavar="SIZE", help=_("Largest upload taken (e.g. 64M).")),
    ] = "64M",
    max_files: Annotated[
        int, typer.Option(min=1, metavar="N", help=_("Most files in one batch or archive."))
    ] = 200,
    timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            metavar="SECONDS",
            help=_("Time limit of one request (of each file in a batch)."),
        ),
    ] = 120.0,
    max_in_flight: Annotated[
        int,
        typer.Option(
            min=1, metavar="N", help=_("Requests worked on at once per process; more get 503.")
        ),
    ] = 16,
) -> None:
    """Run the server until Ctrl-C (help: :data:`HELP`)."""
    from emeterai import home, i18n
    from emeterai.sizes import parse_size
    from emeterai.trust import parse_root
    from emeterai.web.config import Limits, Mode, ServeConfig, is_loopback, new_token

    st = state(ctx)
    mode = Mode.VERIFY_ONLY if verify_only else Mode.LOCAL
    if mode is Mode.LOCAL and not is_loopback(host):
        raise UsageError(
            N_(
                "--host {host}: the wallet is served to this computer only; "
                "use --verify-only to serve others"
            ),
            host=host,
        )
    if mode is Mode.LOCAL and workers > 1:
        raise UsageError(N_("--workers is for --verify-only (one person needs one process)"))
    for pem in trust or []:
        parse_root(read_file(pem), str(pem))  # a bad root is refused now, not at the first file
    if crl is not None:
        read_file(crl)
    token = new_token() if mode is Mode.LOCAL else _service_token(token_file)
    if token is None and not is_loopback(host):
        raise UsageError(
            N_(
                "a service on {host} needs an access token: set EMETERAI_SERVE_TOKEN or give "
                "--token-file"
            ),
            host=host,
        )
    if ledger is not None:
        from emeterai.ledger import open_ledger

        open_ledger(ledger).close()  # a ledger that cannot be opened stops the start
    config = ServeConfig(
        mode=mode,
        host=host,
        port=port,
        token=token,
        home=str(st.home()),
        out_dir=str(out_dir.absolute()) if out_dir is not None else None,
        ledger=ledger,
        trust=tuple(str(p.absolute()) for p in trust or []),
        crl=str(crl.absolute()) if crl is not None else None,
        lock_after_seconds=round(lock_after * 60),
        limits=Limits(
            max_upload_bytes=parse_size(max_upload),
            max_batch_files=max_files,
            max_in_flight=max_in_flight,
            request_seconds=timeout,
        ),
        language=_page_language(st.language_asked, i18n.language()),
    )
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{real_port}/"
    if mode is Mode.LOCAL:
        url += f"?token={token}"
        out = Path(config.out_dir) if config.out_dir else home.stamped_folder(st.home())
        st.err(_("emeterai serve: open this address in your browser (Ctrl-C stops):"))
        typer.echo(url)
        st.err(_("stamped files are kept in {folder}").format(folder=out))
    else:
        typer.echo(url)
        st.err(
            _("emeterai serve: verification service, {workers} worker(s); Ctrl-C stops").format(
                workers=workers
            )
        )
    sys.stdout.flush()
    _run(config, sock, workers, open_browser=mode is Mode.LOCAL and not no_open, url=url)


def _page_language(asked: str | None, speaking: str) -> str:
    """Pages speak Indonesian unless English was asked for (--lang or EMETERAI_LANG): a
    locale set to English by the machine's maker is not a person's choice."""
    return speaking if asked else "id"


def _service_token(token_file: Path | None) -> str | None:
    if token_file is not None:
        lines = read_file(token_file).decode("utf-8", "replace").splitlines()
        token = lines[0].strip() if lines else ""
        if not token:
            raise UsageError(N_("the token file is empty"), path=token_file)
        return token
    return os.environ.get("EMETERAI_SERVE_TOKEN") or None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            N_("cannot listen on {host}:{port} ({reason})"),
            host=host,
            port=port,
            reason=exc.strerror,
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _run(config: object, sock: socket.socket, workers: int, open_browser: bool, url: str) -> None:
    import uvicorn

    from emeterai.web.config import ENV, ServeConfig

    assert isinstance(config, ServeConfig)
    os.environ[ENV] = config.to_env()
    common = {"log_level": "warning", "access_log": False, "lifespan": "on"}
    if workers > 1:
        metrics_dir = tempfile.mkdtemp(prefix="emeterai-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uv = uvicorn.Config(
            "emeterai.web.app:app_from_env",
            factory=True,
            workers=workers,
            **common,  # type: ignore[arg-type]
        )
        from uvicorn.supervisors import Multiprocess

        Multiprocess(uv, sockets=[sock]).run()
        return
    from emeterai.web.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(config), **common))  # type: ignore[arg-type]
    if open_browser:
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
    server.run(sockets=[sock])


def _open_when_started(server: object, url: str) -> None:
    import time
    import webbrowser

    for _i in range(100):
        if getattr(server, "started", False):
            webbrowser.open(url)
            return
        time.sleep(0.1)
