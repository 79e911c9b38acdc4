"""The "port taken" check: only a listener takes a port; TIME-WAIT and clients do not."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from devstack.common import (
    CONNECTIONS,
    FREE,
    LISTENER,
    TIME_WAIT,
    UNKNOWN,
    StackError,
    TcpSocket,
    _hex_addr,
    judge_port,
    port_in_use,
    require_free,
    tcp_sockets,
)

pytestmark = pytest.mark.unit


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s
    s.close()


def _time_wait_on(port_of: str, listener: socket.socket) -> int:
    """Make one connection to `listener` and close it so that the server side ("server") or
    the client side ("client") ends in TIME-WAIT; returns the port left in TIME-WAIT."""
    client = socket.socket()
    client.bind(("127.0.0.1", 0))
    client.connect(listener.getsockname())
    port = listener.getsockname()[1] if port_of == "server" else client.getsockname()[1]
    accepted, _ = listener.accept()
    first, second = (accepted, client) if port_of == "server" else (client, accepted)
    first.close()  # the side that closes first keeps TIME-WAIT
    second.recv(1)
    second.close()
    assert any(s.state == "TIME-WAIT" for s in tcp_sockets(port))
    return int(port)


def test_a_listener_takes_the_port_and_is_named(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    assert port_in_use(port)
    with pytest.raises(StackError) as err:
        require_free(port, "BIANMIN_KAFKA_PORT")
    assert f"pid {os.getpid()}" in str(err.value)
    assert "BIANMIN_KAFKA_PORT=" in str(err.value)


def test_the_server_side_of_a_closed_connection_in_time_wait_is_free(
    listener: socket.socket,
) -> None:
    port = _time_wait_on("server", listener)
    listener.close()  # the server is gone; its closed connection lingers in TIME-WAIT
    assert not port_in_use(port)
    require_free(port, "BIANMIN_KAFKA_PORT", time_wait_grace=0)


def test_a_clients_time_wait_is_not_called_taken(listener: socket.socket) -> None:
    port = _time_wait_on("client", listener)
    assert not port_in_use(port)
    with pytest.raises(StackError) as err:  # it cannot be bound yet, and we say why
        require_free(port, "BIANMIN_PG_PORT", time_wait_grace=0)
    assert "TIME-WAIT" in str(err.value)
    assert "is taken" not in str(err.value)


def test_judge_port() -> None:
    def row(state: str) -> TcpSocket:
        return TcpSocket("127.0.0.1:19092", "127.0.0.1:40000", state, 1)

    assert judge_port(True, [row("TIME-WAIT")]) == FREE
    assert judge_port(False, [row("TIME-WAIT"), row("LISTEN")]) == LISTENER
    assert judge_port(False, [row("TIME-WAIT"), row("TIME-WAIT")]) == TIME_WAIT
    assert judge_port(False, [row("ESTABLISHED"), row("TIME-WAIT")]) == CONNECTIONS
    assert judge_port(False, []) == UNKNOWN


def test_proc_net_tcp_addresses() -> None:
    assert _hex_addr("0100007F:4A94") == ("127.0.0.1", 19092)
    assert _hex_addr("00000000000000000000000001000000:3C48") == ("[::1]", 15432)
