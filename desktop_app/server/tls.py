"""HTTPS for the server: a self-signed certificate made on first use, or the user's own.

Browsers only allow camera and microphone on secure pages (or localhost), so a phone on
the LAN needs HTTPS. The generated certificate and key live in the user data dir and
are reused, so a browser's "accept this certificate" exception survives restarts.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

from desktop_app.errors import ConfigError
from desktop_app.storage import atomic_write_bytes

VALID_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)


def self_signed_paths(data_dir: Path) -> tuple[Path, Path]:
    folder = data_dir / "server"
    return folder / "cert.pem", folder / "key.pem"


def ensure_self_signed_cert(data_dir: Path, hosts: list[str] | None = None) -> tuple[Path, Path]:
    """The certificate and key in ``data_dir/server/``, created (or renewed) when needed."""
    cert_path, key_path = self_signed_paths(data_dir)
    if cert_path.exists() and key_path.exists() and _still_valid(cert_path):
        return cert_path, key_path
    cert_pem, key_pem = _generate(hosts or [])
    atomic_write_bytes(key_path, key_pem, private=True)
    atomic_write_bytes(cert_path, cert_pem)
    return cert_path, key_path


def ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert), str(key))
    except FileNotFoundError as exc:
        raise ConfigError(f"certificate or key file not found: {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"cannot use certificate {cert} with key {key}: {exc.__class__.__name__}") from None
    return context


def _still_valid(cert_path: Path) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return False
    return cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc) > RENEW_BEFORE


def _generate(hosts: list[str]) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for host in ["localhost", socket.gethostname(), "127.0.0.1", "::1", *hosts]:
        if not host or host in seen or host in ("0.0.0.0", "::"):
            continue
        seen.add(host)
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AI Webcam (self-signed)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
