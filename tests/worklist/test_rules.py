"""The worklist's ranking, by property: a total preorder; an overdue item never ranks below one of the
same kind that is not overdue; ties broken by due date then patient name; stable; the shipped priorities
follow the documented order; bad priorities refused."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carenav.errors import InvalidInput
from carenav.worklist.rules import ItemKind, WorkItem, priorities, priorities_parse, rank, sort_key

DAY = date(2025, 6, 2)

items = st.builds(
    WorkItem,
    kind=st.sampled_from(list(ItemKind)),
    patient_uuid=st.uuids().map(str),
    patient_name=st.sampled_from(["Amy Ash", "amy ash", "Ben Bell", "Cal Cole", "Dee Dunn"]),
    reason=st.just("why"),
    due_on=st.one_of(st.none(), st.integers(-40, 40).map(lambda n: DAY + timedelta(days=n))),
    overdue_days=st.integers(0, 40),
)


@given(st.lists(items, max_size=30))
def test_rank_is_sorted_by_a_total_preorder_and_stable(batch: list[WorkItem]) -> None:
    ranked = rank(batch)
    keys = [sort_key(r.item) for r in ranked]
    assert keys == sorted(keys)
    assert [r.position for r in ranked] == list(range(1, len(batch) + 1))
    assert sorted(map(id, (r.item for r in ranked))) == sorted(map(id, batch))
    # stability: items with equal keys keep their input order
    for a, b in itertools.pairwise(ranked):
        if sort_key(a.item) == sort_key(b.item):
            assert batch.index(a.item) <= batch.index(b.item) or a.item == b.item
    assert all(r.why for r in ranked)


@given(items, items, items)
def test_the_order_is_total_and_transitive(a: WorkItem, b: WorkItem, c: WorkItem) -> None:
    ka, kb, kc = sort_key(a), sort_key(b), sort_key(c)
    assert ka <= kb or kb <= ka
    if ka <= kb and kb <= kc:
        assert ka <= kc


@given(items, st.integers(1, 40))
def test_an_overdue_item_never_ranks_below_the_same_kind_not_overdue(item: WorkItem, days: int) -> None:
    on_time = WorkItem(item.kind, "b", item.patient_name, "x", item.due_on, 0)
    late = WorkItem(item.kind, "a", "Zed Zulu", "x", None, days)
    assert rank([on_time, late])[0].item is late


@given(st.sampled_from(list(ItemKind)), st.integers(0, 5), st.integers(-5, 5), st.integers(-5, 5))
def test_ties_broken_by_due_date_then_patient_name(kind: ItemKind, overdue: int, d1: int, d2: int) -> None:
    a = WorkItem(kind, "a", "Zed Zulu", "x", DAY + timedelta(days=d1), overdue)
    b = WorkItem(kind, "b", "Amy Ash", "x", DAY + timedelta(days=d2), overdue)
    first = rank([a, b])[0].item
    if d1 != d2:
        assert first is (a if d1 < d2 else b)
    else:
        assert first is b


def test_the_shipped_order() -> None:
    p = priorities()
    band = {k: p.weight(k).band for k in ItemKind}
    overdue = {k: p.weight(k).overdue_band for k in ItemKind}
    assert band[ItemKind.ALERT] == band[ItemKind.URGENT_TASK] < band[ItemKind.TRANSITION_SOON]
    assert band[ItemKind.TRANSITION_SOON] < overdue[ItemKind.FOLLOWUP] < band[ItemKind.FOLLOWUP]
    assert band[ItemKind.FOLLOWUP] < band[ItemKind.REFERRAL] == band[ItemKind.AUTHORIZATION]
    assert band[ItemKind.REFERRAL] < band[ItemKind.SCREEN] < band[ItemKind.NOT_ENGAGED]
    assert band[ItemKind.NOT_ENGAGED] < band[ItemKind.NEAR_THRESHOLD]
    assert (p.soon_business_days, p.engagement_days, p.high_tier) == (1, 30, 4)


def test_bad_priorities_refused() -> None:
    good = {k.value: {"band": 1} for k in ItemKind}
    priorities_parse({"kind": good})
    with pytest.raises(InvalidInput, match="unknown kinds"):
        priorities_parse({"kind": {**good, "nope": {"band": 1}}})
    with pytest.raises(InvalidInput, match="no weight for alert"):
        priorities_parse({"kind": {k: v for k, v in good.items() if k != "alert"}})
    with pytest.raises(InvalidInput, match="may not rank after"):
        priorities_parse({"kind": {**good, "followup": {"band": 1, "overdue_band": 2}}})
    with pytest.raises(InvalidInput, match="whole number"):
        priorities_parse({"kind": {**good, "followup": {"band": -1}}})
