"""Property tests (hypothesis) for the worker protocol: whatever a worker writes, the parent's
reader keeps each line within its bound and turns it into texts or one clear error (ProtocolError,
WorkerError), never another exception; whatever the parent (or anyone) writes, the worker answers
one JSON reply and goes on."""
from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from members.live import worker as protocol
from members.live.vlm import ProtocolError, WorkerError, batch_outputs, parse_reply

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Replies shaped like the protocol's more often than random values are.
reply_like = st.one_of(
    json_values,
    st.fixed_dictionaries({"id": st.one_of(st.just(1), json_values)}, optional={
        "outputs": st.one_of(st.lists(st.one_of(st.fixed_dictionaries({"text": json_values}),
                                                st.fixed_dictionaries({"error": json_values}), json_values),
                                      max_size=4), json_values),
        "error": json_values,
    }),
)
lines = st.one_of(
    st.binary(max_size=200),
    reply_like.map(lambda value: json.dumps(value).encode()),
    st.integers(1, 20_000).map(lambda depth: b"[" * depth + b"]" * depth),  # deep nesting
    st.text(max_size=50).map(lambda text: text.encode("utf-8", "surrogatepass")),
)


@FUZZ
@given(st.lists(st.binary(max_size=40), max_size=8), st.integers(1, 16))
def test_read_lines_keeps_every_line_within_its_bound(pieces, limit):
    data = b"\n".join(pieces)
    got = list(protocol.read_lines(io.BytesIO(data), limit))
    assert all(item is protocol.TOO_LONG or len(item) <= limit + 1 for item in got)
    # every line comes out once, in order: whole when within the bound, else as TOO_LONG
    *ended, last = data.split(b"\n")
    lines_in = [line + b"\n" for line in ended] + ([last] if last else [])
    expected = [protocol.TOO_LONG if len(line) > limit + line.endswith(b"\n") else line for line in lines_in]
    assert got == expected
    assert [item is protocol.TOO_LONG for item in got] == [item is protocol.TOO_LONG for item in expected]


@FUZZ
@given(lines, st.integers(0, 4))
def test_any_reply_line_gives_texts_or_one_clear_error(line, count):
    try:
        reply = parse_reply(line)
    except ProtocolError as error:
        assert "\n" not in str(error) and len(str(error)) < 400
        return
    assert isinstance(reply, dict)
    try:
        outputs = batch_outputs(reply, 1, count, "member 'w'")
    except (ProtocolError, WorkerError) as error:
        assert "\n" not in str(error) and str(error).isprintable() and len(str(error)) < 800
        return
    assert len(outputs) == count
    for output in outputs:
        assert isinstance(output, str) or (isinstance(output, WorkerError) and str(output).isprintable())


def test_a_line_over_the_bound_is_a_protocol_error():
    try:
        parse_reply(protocol.TOO_LONG)
    except ProtocolError as error:
        assert f"longer than {protocol.MAX_REPLY_LINE} bytes" in str(error)
    else:
        raise AssertionError("TOO_LONG parsed")


@FUZZ
@given(lines)
def test_the_worker_answers_any_line_with_one_json_reply(line):
    worker = protocol.Worker()
    try:
        reply = worker.handle(line)
    finally:
        worker.close()
    assert isinstance(reply, dict)
    json.dumps(reply, ensure_ascii=False).encode("utf-8")  # writable as one protocol line
