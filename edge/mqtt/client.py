"""The paho-mqtt client as every part of edge makes it: user name and password, TLS with
the configured CA (and client certificate), and a diagnosis when a connection fails,
because paho itself only retries and says nothing of why."""

from __future__ import annotations

import socket
import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge.config import MqttConfig
from edge.errors import ConfigError


def make_client(
    cfg: MqttConfig,
    client_id: str,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311,
) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    if cfg.username is not None:
        client.username_pw_set(cfg.username, cfg.password)
    if cfg.tls:
        try:
            client.tls_set(
                ca_certs=cfg.ca_file,
                certfile=cfg.client_cert_file,
                keyfile=cfg.client_key_file,
            )
        except (OSError, ssl.SSLError, ValueError) as exc:
            raise ConfigError(
                f"mqtt.ca_file = {cfg.ca_file!r}, mqtt.client_cert_file ="
                f" {cfg.client_cert_file!r}: cannot be loaded: {exc}"
            ) from None
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client


def diagnose(cfg: MqttConfig, timeout_s: float = 3.0) -> str:
    """Why a connection to the broker fails, in one line (a blocking probe)."""
    where = f"{cfg.host}:{cfg.port}"
    try:
        sock = socket.create_connection((cfg.host, cfg.port), timeout=timeout_s)
    except OSError as exc:
        return f"cannot reach {where}: {exc}"
    with sock:
        if not cfg.tls:
            return f"{where} accepts TCP but the MQTT connection failed (is it a TLS port?)"
        ctx = ssl.create_default_context(cafile=cfg.ca_file)
        if cfg.client_cert_file is not None:
            ctx.load_cert_chain(cfg.client_cert_file, cfg.client_key_file)
        try:
            with ctx.wrap_socket(sock, server_hostname=cfg.host):
                pass
        except (ssl.SSLError, OSError) as exc:
            return f"TLS handshake with {where} failed: {exc} (check mqtt.ca_file)"
    return f"{where} completes TLS but the MQTT connection failed"
