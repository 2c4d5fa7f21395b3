"""Requested capabilities keep the key they were published under as their requests come and go
(:mod:`core.insights.capability_keys`), so each keeps its one Linear issue."""

from __future__ import annotations

from core.insights.capability_keys import assign_keys


def test_a_new_group_is_keyed_by_its_oldest_request():
    assert assign_keys([[7, 3, 9], [4]], {}) == ["cap-3", "cap-4"]


def test_a_group_keeps_the_key_most_of_its_members_carry_after_its_oldest_left():
    known = {3: "cap-3", 7: "cap-3", 9: "cap-3"}
    assert assign_keys([[7, 9, 12]], known, {"cap-3"}) == ["cap-3"]


def test_a_split_capability_keeps_its_key_in_its_larger_half_only():
    known = {m: "cap-1" for m in (1, 2, 3, 4, 5)}
    keys = assign_keys([[4, 5], [1, 2, 3]], known, {"cap-1"})
    assert keys == ["cap-4", "cap-1"]


def test_two_capabilities_merged_keep_the_larger_ones_key():
    known = {1: "cap-1", 2: "cap-1", 3: "cap-1", 8: "cap-8", 9: "cap-8"}
    assert assign_keys([[1, 2, 3, 8, 9]], known, {"cap-1", "cap-8"}) == ["cap-1"]


def test_a_lone_old_member_does_not_hand_its_key_to_another_capability():
    """One request of an old capability landing in a big new group: the new group is not it."""
    known = {1: "cap-1", 2: "cap-1", 3: "cap-1"}
    keys = assign_keys([[3, 20, 21, 22], [1, 2]], known, {"cap-1"})
    assert keys == ["cap-3", "cap-1"]


def test_a_fresh_key_never_reuses_one_already_published():
    """cap-5 was once published for requests no longer in any group: a new group whose oldest
    request is 5 must not inherit that issue."""
    assert assign_keys([[5, 6]], {}, {"cap-5"}) == ["cap-5-2"]
