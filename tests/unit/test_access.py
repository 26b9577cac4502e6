"""Who sees which patient: organization, caseload and team, on both databases. Outside reach is NotFound."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from carenav.access import Actor, patient_visible
from carenav.accounts.services import user_actor
from carenav.errors import NotFound
from carenav.patients.models import PatientName
from carenav.patients.queries import PatientCriteria, patient_labels, patient_read, patient_search
from tests.builders import make_org, make_patient
from tests.web.users import assign, cheap_passwords, make_user

__all__ = ["cheap_passwords"]


@pytest.fixture
def world(session: Session, cheap_passwords: object) -> dict[str, object]:
    """Two organizations. In the first: team North (supervisor sam, care managers amy and ben), care
    manager cy outside the team, an admin and an auditor; each care manager has one patient, and one
    patient is on nobody's caseload."""
    org = make_org(session)
    other = make_org(session)
    people = {
        "sam": make_user(session, org, "sam.sup", "supervisor", team="North"),
        "amy": make_user(session, org, "amy.cm", "care_manager", team="North"),
        "ben": make_user(session, org, "ben.cm", "care_manager", team="North"),
        "cy": make_user(session, org, "cy.cm", "care_manager"),
        "ada": make_user(session, org, "ada.admin", "admin"),
        "aud": make_user(session, org, "al.audit", "auditor"),
        "zed": make_user(session, other, "zed.admin", "admin"),
    }
    patients = {
        "amy": make_patient(session, org, family="Ames", given="Ann"),
        "ben": make_patient(session, org, family="Bell", given="Bo"),
        "cy": make_patient(session, org, family="Cole", given="Cy"),
        "none": make_patient(session, org, family="Noone", given="Nia"),
        "other": make_patient(session, other, family="Other", given="Otto"),
    }
    for who in ("amy", "ben", "cy"):
        assign(session, org, people[who], patients[who])
    return {"org": org, "other": other, "people": people, "patients": patients}


def _seen(session: Session, actor: Actor) -> set[str]:
    page = patient_search(session=session, actor=actor, criteria=PatientCriteria(), limit=100)
    return {p.names[0].family or "" for p in page.items}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("amy", {"Ames"}),
        ("cy", {"Cole"}),
        ("sam", {"Ames", "Bell"}),
        ("ada", {"Ames", "Bell", "Cole", "Noone"}),
        ("aud", set()),
        ("zed", {"Other"}),
    ],
)
def test_each_role_sees_its_own_reach(session: Session, world: dict, who: str, expected: set[str]) -> None:
    actor = user_actor(world["people"][who])
    assert _seen(session, actor) == expected
    for _key, patient in world["patients"].items():
        visible = (patient.names[0].family or "") in expected
        if visible:
            assert patient_visible(session=session, actor=actor, patient_uuid=patient.uuid).id == patient.id
        else:
            with pytest.raises(NotFound):
                patient_visible(session=session, actor=actor, patient_uuid=patient.uuid)
            with pytest.raises(NotFound):
                patient_read(session=session, actor=actor, patient_uuid=patient.uuid)


def test_operator_sees_its_whole_organization_only(session: Session, world: dict) -> None:
    assert _seen(session, Actor.operator(world["org"].id)) == {"Ames", "Bell", "Cole", "Noone"}
    with pytest.raises(NotFound):
        patient_visible(
            session=session,
            actor=Actor.operator(world["org"].id),
            patient_uuid=world["patients"]["other"].uuid,
        )


def test_assigning_a_patient_puts_them_on_the_caseload(session: Session, world: dict) -> None:
    amy = world["people"]["amy"]
    assign(session, world["org"], amy, world["patients"]["none"])
    assert _seen(session, user_actor(amy)) == {"Ames", "Noone"}
    assign(session, world["org"], amy, world["patients"]["none"])  # twice: still one membership
    assert _seen(session, user_actor(amy)) == {"Ames", "Noone"}


def test_patients_of_another_organization_cannot_be_assigned(session: Session, world: dict) -> None:
    with pytest.raises(NotFound):
        assign(session, world["org"], world["people"]["amy"], world["patients"]["other"])


def test_a_page_asks_once_whether_its_patient_is_within_reach(
    fresh_db_url: str, cheap_passwords: object
) -> None:
    """In a reads-first unit (a page opened) each panel's question is answered once; in a unit that writes
    it is asked each time, since its own writes may change the answer."""
    from sqlalchemy import event

    from carenav.db.session import make_session_factory, unit_of_work
    from tests.databases import engine_for

    with engine_for(fresh_db_url) as engine:
        sessions = make_session_factory(engine)
        with unit_of_work(sessions) as setup:
            org = make_org(setup)
            amy = make_user(setup, org, "amy.cm")
            ames = make_patient(setup, org, family="Ames")
            assign(setup, org, amy, ames)
        asked: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *a: asked.append(a[2]))

        def questions() -> int:
            return sum("FROM patients" in s and "care_team_members" in s for s in asked)

        for reads_first, expected in ((True, 1), (False, 3)):
            asked.clear()
            with unit_of_work(sessions, reads_first=reads_first) as session:
                actor = user_actor(session.get_one(type(amy), amy.id))
                for _ in range(3):
                    assert patient_visible(session=session, actor=actor, patient_uuid=ames.uuid).id == ames.id
                with pytest.raises(NotFound):
                    patient_visible(session=session, actor=actor, patient_uuid="no-such-patient")
            assert questions() == expected + 1, f"reads_first={reads_first}"


def test_labels_name_patients_as_their_record_does(session: Session, world: dict) -> None:
    """``patient_labels`` (lists read columns, not records) names each patient as ``name_shown`` does: the
    first-ranked name, "(no name)" without one; a key that is no patient is left out."""
    ann, bo = world["patients"]["amy"], world["patients"]["ben"]
    bo.names.insert(0, PatientName(rank=0, family="Bellamy", given="Bo J"))
    for rank, name in enumerate(bo.names):
        name.rank = rank
    nia = world["patients"]["none"]
    nia.names.clear()
    session.flush()
    labels = patient_labels(session, [ann.id, bo.id, nia.id, -1])
    assert {pid: (label.uuid, label.name) for pid, label in labels.items()} == {
        ann.id: (ann.uuid, "Ann Ames"),
        bo.id: (bo.uuid, "Bo J Bellamy"),
        nia.id: (nia.uuid, "(no name)"),
    }
    session.expire_all()
    assert [labels[p.id].name for p in (ann, bo, nia)] == [p.name_shown for p in (ann, bo, nia)]
