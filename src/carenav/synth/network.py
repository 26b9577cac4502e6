"""The care network every synthetic patient belongs to: hospitals, clinics, PCPs and hospitalists.

The network depends on the seed only (never on the number of patients), so patient k's content depends
only on (seed, k, as-of) whatever the size of the run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from carenav.synth.codes import (
    IDENTIFIER_TYPE,
    JSON,
    NPI_SYSTEM,
    ORGANIZATION_TYPE,
    SYNTH_BASE,
    concept,
)
from carenav.synth.ids import MAX_PATIENTS, PatientIds
from carenav.synth.people import (
    HOSPITALISTS_PER_HOSPITAL,
    PCPS_PER_CLINIC,
    REGIONS,
    City,
    Region,
    npi,
    person_name,
    phone,
    postal_code,
    slug,
    street_line,
)

NETWORK_INDEX = MAX_PATIENTS - 1  # the id "patient index" reserved for shared resources
_PROVIDER_TYPE = [concept(ORGANIZATION_TYPE, "prov", "Healthcare Provider")]


@dataclass(frozen=True)
class Facility:
    id: str
    name: str
    mrn_system: str
    visit_system: str
    staff: tuple[str, ...]  # Practitioner ids: PCPs of a clinic, hospitalists of a hospital


@dataclass(frozen=True)
class RegionNetwork:
    region: Region
    hospitals: tuple[Facility, ...]
    clinics: tuple[Facility, ...]


@dataclass(frozen=True)
class Network:
    regions: tuple[RegionNetwork, ...]
    organizations: tuple[JSON, ...]
    practitioners: tuple[JSON, ...]


def build_network(seed: int, tag: str) -> Network:
    rng = random.Random(f"carenav-synth-network:{seed}")
    ids = PatientIds(tag, NETWORK_INDEX)
    organizations: list[JSON] = []
    practitioners: list[JSON] = []
    regions: list[RegionNetwork] = []

    def practitioner(city: City) -> str:
        female = rng.random() < 0.5
        given, family = person_name(rng, female=female, hispanic=rng.random() < 0.15)
        pid = ids.next("Practitioner")
        practitioners.append(
            {
                "resourceType": "Practitioner",
                "id": pid,
                "identifier": [{"type": IDENTIFIER_TYPE["NPI"], "system": NPI_SYSTEM, "value": npi(rng)}],
                "active": True,
                "name": [{"use": "official", "family": family, "given": [given], "prefix": ["Dr."]}],
                "telecom": [{"system": "phone", "value": phone(rng, city), "use": "work"}],
                "gender": "female" if female else "male",
            }
        )
        return pid

    def facility(name: str, city: City, staff_count: int) -> Facility:
        oid = ids.next("Organization")
        key = slug(name)
        organizations.append(
            {
                "resourceType": "Organization",
                "id": oid,
                "identifier": [{"system": f"{SYNTH_BASE}/organization", "value": key}],
                "active": True,
                "type": _PROVIDER_TYPE,
                "name": name,
                "telecom": [{"system": "phone", "value": phone(rng, city), "use": "work"}],
                "address": [
                    {
                        "line": [street_line(rng)],
                        "city": city.name,
                        "state": city.state,
                        "postalCode": postal_code(rng, city),
                        "country": "US",
                    }
                ],
            }
        )
        staff = tuple(practitioner(city) for _ in range(staff_count))
        return Facility(
            id=oid,
            name=name,
            mrn_system=f"{SYNTH_BASE}/facility/{key}/mrn",
            visit_system=f"{SYNTH_BASE}/facility/{key}/visit",
            staff=staff,
        )

    for region in REGIONS:
        hospitals = tuple(
            facility(name, region.cities[i % len(region.cities)], HOSPITALISTS_PER_HOSPITAL)
            for i, name in enumerate(region.hospitals)
        )
        clinics = tuple(
            facility(name, region.cities[i % len(region.cities)], PCPS_PER_CLINIC)
            for i, name in enumerate(region.clinics)
        )
        regions.append(RegionNetwork(region, hospitals, clinics))
    return Network(tuple(regions), tuple(organizations), tuple(practitioners))
