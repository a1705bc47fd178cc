"""The form decoder's fast path reads exactly what parse_qs reads."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote_plus, urlencode

from hypothesis import given
from hypothesis import strategies as st

from trustbot.slack.requests import form_fields


def _parse_qs(text: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(text).items()}


@given(st.text())
def test_any_text_decodes_as_parse_qs_decodes_it(text: str) -> None:
    assert form_fields(text) == _parse_qs(text)


@given(st.text(), st.text(min_size=1))
def test_an_encoded_field_decodes_as_parse_qs_decodes_it(name: str, value: str) -> None:
    form = urlencode({name or "payload": value})
    assert form_fields(form) == _parse_qs(form)


@given(st.text(alphabet="%+=&;_~.-*aZ09 \n\r\tFfé", max_size=40))
def test_awkward_characters_decode_as_parse_qs_decodes_them(text: str) -> None:
    assert form_fields("payload=" + text) == _parse_qs("payload=" + text)


def test_a_slack_interaction_payload_round_trips() -> None:
    payload = {
        "type": "block_actions",
        "text": "Vi tror på, at trust (tillid) kommer indefra = 100%",
    }
    form = "payload=" + quote_plus(json.dumps(payload))

    assert json.loads(form_fields(form)["payload"]) == payload


def test_a_broken_escape_or_a_second_field_takes_the_slow_path() -> None:
    assert form_fields("payload=%E2%82") == _parse_qs("payload=%E2%82")  # cut-off UTF-8
    assert form_fields("payload=%zz1") == {"payload": "%zz1"}
    assert form_fields("a=1&b=2") == {"a": "1", "b": "2"}
    assert form_fields("payload=") == {}
