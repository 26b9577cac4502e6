"""The shipped instruments as FHIR Questionnaires: read by id, searched by url, name or LOINC code.
Reference data of the product, the same for every organization; no patient data."""

from __future__ import annotations

from carenav.assessments.instruments import Instrument, instrument_get, instruments
from carenav.errors import NotFound
from carenav.fhir.mappers.common import FHIRDict

QUESTIONNAIRE = "Questionnaire"
LOINC = "http://loinc.org"


def questionnaire_resource(questionnaire_id: str) -> FHIRDict:
    """The Questionnaire of instrument ``questionnaire_id``; NotFound when none is shipped."""
    try:
        instrument = instrument_get(questionnaire_id)
    except NotFound as exc:
        raise NotFound(f"no Questionnaire {questionnaire_id}", where=QUESTIONNAIRE) from exc
    return _resource(instrument)


def questionnaire_search(*, url: str | None, name: str | None, code: str | None) -> list[FHIRDict]:
    """Every shipped Questionnaire matching all the given criteria, by id."""
    found = []
    for instrument in instruments():
        q = instrument.questionnaire
        if url is not None:
            canonical, _, version = url.partition("|")
            if canonical != q.url or (version and version != q.version):
                continue
        if name is not None and not (
            instrument.id.lower().startswith(name.lower()) or q.title.lower().startswith(name.lower())
        ):
            continue
        if code is not None:
            system, _, value = code.rpartition("|")
            if (system and system != LOINC) or value not in q.codes:
                continue
        found.append(_resource(instrument))
    return found


def _resource(instrument: Instrument) -> FHIRDict:
    return dict(instrument.questionnaire.resource)
