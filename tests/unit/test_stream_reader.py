"""A replayed message's position, read off its reply subject as nats-py would."""

from __future__ import annotations

from nats.aio.msg import Msg

from shared.messaging.stream_reader import reply_position


def test_a_replayed_message_s_position_is_read_off_its_reply_subject() -> None:
    for reply in (
        "$JS.ACK.PAIRING.c1.1.4711.4700.1732867200000000000.12",
        "$JS.ACK.hub.ACCOUNTHASH.PAIRING.c1.1.4711.4700.1732867200000000000.12.tok",
    ):
        msg = Msg(None, subject="x", reply=reply)  # type: ignore[arg-type]
        metadata = msg.metadata
        assert reply_position(msg) == (metadata.sequence.stream, metadata.num_pending) == (4711, 12)
