"""The pure rules of team pools: keys, names and members are checked, each bad value named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.errors import InvalidInput
from carenav.worklist.rules import (
    POOL_KEY_CHARS,
    POOL_KEY_MAX,
    PoolMemberKind,
    PoolMemberSpec,
    pool_key_clean,
    pool_member_label,
    pool_member_parse,
    pool_member_spec,
    pool_name_clean,
)


def test_keys_are_trimmed_and_lower_cased() -> None:
    assert pool_key_clean("  RN-Line ") == "rn-line"


@pytest.mark.parametrize("key", ["", "  ", "social work", "pharmacy!", "x" * (POOL_KEY_MAX + 1), "café"])
def test_a_bad_key_is_refused_naming_the_key(key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        pool_key_clean(key)
    assert caught.value.where == "pool key"


@given(st.text(max_size=60))
def test_a_clean_key_is_always_a_valid_key(text: str) -> None:
    try:
        key = pool_key_clean(text)
    except InvalidInput:
        return
    assert key
    assert set(key) <= POOL_KEY_CHARS
    assert len(key) <= POOL_KEY_MAX
    assert pool_key_clean(key) == key


def test_names_are_trimmed_and_bounded() -> None:
    assert pool_name_clean("  Social work ") == "Social work"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(InvalidInput) as caught:
            pool_name_clean(bad)
        assert caught.value.where == "pool name"


def test_members_parse_from_what_a_form_sends() -> None:
    assert pool_member_parse("role:care_manager") == PoolMemberSpec(PoolMemberKind.ROLE, "care_manager")
    assert pool_member_parse("discipline:social-worker") == PoolMemberSpec(
        PoolMemberKind.DISCIPLINE, "social-worker"
    )
    assert pool_member_parse("user: nina.rn ") == PoolMemberSpec(PoolMemberKind.USER, "nina.rn")
    assert str(pool_member_parse("user:nina.rn")) == "user:nina.rn"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("nina.rn", "name a member as user:NAME"),
        ("team:north", "'team' is not one of user, role, discipline"),
        ("role:auditor", "'auditor' is not a role that works tasks"),
        ("role:partner", "'partner' is not a role that works tasks"),
        ("discipline:wizard", "'wizard' is not a discipline"),
        ("user:  ", "name the user"),
    ],
)
def test_a_bad_member_is_refused_saying_why(token: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        pool_member_parse(token)
    assert caught.value.where == "pool member"


def test_a_member_by_kind_and_value() -> None:
    assert pool_member_spec("role", "supervisor").kind is PoolMemberKind.ROLE
    assert pool_member_spec(PoolMemberKind.ROLE, " admin ").value == "admin"
    with pytest.raises(InvalidInput, match="'root' is not a role"):
        pool_member_spec("role", "root")


def test_members_read_in_words() -> None:
    labels = [
        pool_member_label(pool_member_parse(token), display)
        for token, display in [
            ("user:nina.rn", "Nina Nurse"),
            ("user:sol.sw", None),
            ("role:care_manager", None),
            ("discipline:community-health-worker", None),
            ("discipline:other", None),
        ]
    ]
    assert labels == [
        "Nina Nurse (nina.rn)",
        "sol.sw (sol.sw)",
        "every care manager",
        "every community health worker",
        "every user of discipline 'other'",
    ]
