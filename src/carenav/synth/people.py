"""Who the synthetic people are: names, addresses, phones, identifiers, and the care network around them.

All names are drawn from common US given and family names; streets are made up; cities and ZIP codes are
real so addresses look plausible; phone numbers use the 555-0100..555-0199 range reserved for fiction.
MBIs follow the CMS Medicare Beneficiary Identifier format (11 characters, fixed letter/digit positions,
no S, L, O, I, B, Z); they are a bijection of the patient index, so they are unique within a run but may
by chance equal a real person's MBI. They identify nobody.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

FEMALE_GIVEN: tuple[str, ...] = (
    "Mary",
    "Patricia",
    "Linda",
    "Barbara",
    "Elizabeth",
    "Jennifer",
    "Susan",
    "Margaret",
    "Dorothy",
    "Lisa",
    "Nancy",
    "Karen",
    "Betty",
    "Helen",
    "Sandra",
    "Donna",
    "Carol",
    "Ruth",
    "Sharon",
    "Michelle",
    "Laura",
    "Sarah",
    "Kimberly",
    "Deborah",
    "Jessica",
    "Shirley",
    "Cynthia",
    "Angela",
    "Melissa",
    "Brenda",
    "Amy",
    "Anna",
    "Rebecca",
    "Virginia",
    "Kathleen",
    "Pamela",
    "Martha",
    "Debra",
    "Amanda",
    "Stephanie",
    "Carolyn",
    "Christine",
    "Marie",
    "Janet",
    "Catherine",
    "Frances",
    "Ann",
    "Joyce",
    "Diane",
    "Alice",
    "Julie",
    "Gloria",
    "Evelyn",
    "Jean",
    "Cheryl",
    "Mildred",
    "Katherine",
    "Joan",
    "Ashley",
    "Judith",
    "Rose",
    "Janice",
    "Kelly",
    "Nicole",
    "Judy",
    "Christina",
    "Kathy",
    "Theresa",
    "Beverly",
    "Denise",
    "Tammy",
    "Irene",
    "Jane",
    "Lori",
    "Rachel",
    "Marilyn",
    "Andrea",
    "Kathryn",
    "Louise",
    "Sara",
    "Anne",
    "Jacqueline",
    "Wanda",
    "Bonnie",
    "Julia",
    "Ruby",
    "Lois",
    "Tina",
    "Phyllis",
    "Norma",
    "Paula",
    "Diana",
    "Annie",
    "Lillian",
    "Emily",
    "Robin",
    "Peggy",
    "Crystal",
    "Gladys",
    "Rita",
    "Dawn",
    "Connie",
    "Florence",
    "Tracy",
    "Edna",
    "Tiffany",
    "Carmen",
    "Rosa",
    "Cindy",
    "Grace",
    "Wendy",
    "Victoria",
    "Edith",
    "Kim",
    "Sherry",
    "Sylvia",
    "Josephine",
    "Thelma",
    "Shannon",
    "Sheila",
    "Ethel",
    "Ellen",
    "Elaine",
    "Marjorie",
    "Carrie",
    "Mei",
    "Linh",
    "Aaliyah",
    "Zoë",
    "Renée",
    "Chloé",
)
MALE_GIVEN: tuple[str, ...] = (
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Richard",
    "Charles",
    "Joseph",
    "Thomas",
    "Christopher",
    "Daniel",
    "Paul",
    "Mark",
    "Donald",
    "George",
    "Kenneth",
    "Steven",
    "Edward",
    "Brian",
    "Ronald",
    "Anthony",
    "Kevin",
    "Jason",
    "Matthew",
    "Gary",
    "Timothy",
    "Larry",
    "Jeffrey",
    "Frank",
    "Scott",
    "Eric",
    "Stephen",
    "Andrew",
    "Raymond",
    "Gregory",
    "Joshua",
    "Jerry",
    "Dennis",
    "Walter",
    "Patrick",
    "Peter",
    "Harold",
    "Douglas",
    "Henry",
    "Carl",
    "Arthur",
    "Ryan",
    "Roger",
    "Joe",
    "Juan",
    "Jack",
    "Albert",
    "Jonathan",
    "Justin",
    "Terry",
    "Gerald",
    "Keith",
    "Samuel",
    "Willie",
    "Ralph",
    "Lawrence",
    "Nicholas",
    "Roy",
    "Benjamin",
    "Bruce",
    "Brandon",
    "Adam",
    "Harry",
    "Fred",
    "Wayne",
    "Billy",
    "Steve",
    "Louis",
    "Jeremy",
    "Aaron",
    "Randy",
    "Howard",
    "Eugene",
    "Carlos",
    "Russell",
    "Bobby",
    "Victor",
    "Martin",
    "Ernest",
    "Phillip",
    "Todd",
    "Jesse",
    "Craig",
    "Alan",
    "Shawn",
    "Clarence",
    "Sean",
    "Philip",
    "Chris",
    "Johnny",
    "Earl",
    "Jimmy",
    "Antonio",
    "Danny",
    "Bryan",
    "Tony",
    "Luis",
    "Mike",
    "Stanley",
    "Leonard",
    "Nathan",
    "Dale",
    "Manuel",
    "Rodney",
    "Curtis",
    "Norman",
    "Allen",
    "Marvin",
    "Vincent",
    "Glenn",
    "Jeffery",
    "Travis",
    "Jeff",
    "Chad",
    "Jacob",
    "Lee",
    "Melvin",
    "Alfred",
    "Kyle",
    "Wei",
    "Minh",
    "Hiroshi",
    "Omar",
    "Jürgen",
    "François",
)
HISPANIC_FEMALE_GIVEN: tuple[str, ...] = (
    "María",
    "Guadalupe",
    "Rosa",
    "Ana",
    "Carmen",
    "Josefina",
    "Juana",
    "Margarita",
    "Verónica",
    "Leticia",
    "Sofía",
    "Lucía",
    "Isabel",
    "Teresa",
    "Yolanda",
    "Gabriela",
    "Elena",
    "Patricia",
    "Alejandra",
    "Beatriz",
)
HISPANIC_MALE_GIVEN: tuple[str, ...] = (
    "José",
    "Juan",
    "Luis",
    "Carlos",
    "Jesús",
    "Miguel",
    "Francisco",
    "Jorge",
    "Antonio",
    "Alejandro",
    "Manuel",
    "Ramón",
    "Raúl",
    "Andrés",
    "Sergio",
    "Fernando",
    "Héctor",
    "Rubén",
    "Javier",
    "Óscar",
)
FAMILY: tuple[str, ...] = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Hughes",
    "Price",
    "Sanders",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Graham",
    "Marshall",
    "Owens",
    "Harrison",
    "Gibson",
    "Wallace",
    "Kim",
    "Nguyen",
    "Chen",
    "Patel",
    "Lee",
    "Wang",
    "Tran",
    "Le",
    "Pham",
    "Ali",
    "Cohen",
    "Schmidt",
    "Müller",
    "O'Brien",
    "Kowalski",
    "Ivanov",
    "Haddad",
    "Jean-Baptiste",
    "Pierre",
)
HISPANIC_FAMILY: tuple[str, ...] = (
    "García",
    "Rodríguez",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Reyes",
    "Morales",
    "Cruz",
    "Ortiz",
    "Gutiérrez",
    "Chávez",
    "Ramos",
    "Ruiz",
    "Álvarez",
    "Mendoza",
    "Castillo",
    "Jiménez",
    "Moreno",
    "Romero",
    "Herrera",
    "Medina",
)
STREETS: tuple[str, ...] = (
    "Oak",
    "Maple",
    "Cedar",
    "Pine",
    "Elm",
    "Walnut",
    "Willow",
    "Birch",
    "Hickory",
    "Magnolia",
    "Sycamore",
    "Washington",
    "Lincoln",
    "Jefferson",
    "Madison",
    "Jackson",
    "Franklin",
    "Highland",
    "Lakeview",
    "Sunset",
    "Ridge",
    "Meadow",
    "River",
    "Hillcrest",
    "Park",
    "Church",
    "Mill",
    "Spring",
    "Center",
    "Prospect",
    "Mesa",
    "Palo Verde",
    "Saguaro",
    "Bluebonnet",
    "Live Oak",
    "Mockingbird",
    "Coral",
    "Palmetto",
    "Buckeye",
)
STREET_KINDS: tuple[str, ...] = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Cir")


@dataclass(frozen=True)
class City:
    name: str
    state: str
    zip3: str
    area_code: str


@dataclass(frozen=True)
class Region:
    """A service area: its cities, its hospitals and clinics, and the Medicaid program's name."""

    key: str
    state: str
    medicaid: str
    cities: tuple[City, ...]
    hospitals: tuple[str, ...]
    clinics: tuple[str, ...]
    spanish_weight: float  # multiplies the Spanish-speaking share


REGIONS: tuple[Region, ...] = (
    Region(
        "tx",
        "TX",
        "Texas Medicaid (STAR+PLUS)",
        (
            City("San Antonio", "TX", "782", "210"),
            City("El Paso", "TX", "799", "915"),
            City("Laredo", "TX", "780", "956"),
            City("Austin", "TX", "787", "512"),
            City("Corpus Christi", "TX", "784", "361"),
        ),
        ("Mission Valley Medical Center", "Rio Grande Regional Hospital"),
        ("Alamo Family Health", "Westside Community Clinic", "Hill Country Primary Care"),
        1.9,
    ),
    Region(
        "fl",
        "FL",
        "Florida Medicaid (SMMC)",
        (
            City("Miami", "FL", "331", "305"),
            City("Tampa", "FL", "336", "813"),
            City("Orlando", "FL", "328", "407"),
            City("Hialeah", "FL", "330", "786"),
            City("Jacksonville", "FL", "322", "904"),
        ),
        ("Bayshore General Hospital", "Coral Coast Medical Center"),
        ("Biscayne Primary Care", "Sunrise Family Medicine", "Gulf Breeze Health Center"),
        1.4,
    ),
    Region(
        "az",
        "AZ",
        "Arizona Medicaid (AHCCCS)",
        (
            City("Phoenix", "AZ", "850", "602"),
            City("Tucson", "AZ", "857", "520"),
            City("Mesa", "AZ", "852", "480"),
            City("Yuma", "AZ", "853", "928"),
        ),
        ("Desert Valley Hospital", "Saguaro Regional Medical Center"),
        ("Camelback Family Practice", "Sonoran Community Health", "Tucson Senior Care Clinic"),
        1.1,
    ),
    Region(
        "oh",
        "OH",
        "Ohio Medicaid",
        (
            City("Columbus", "OH", "432", "614"),
            City("Cleveland", "OH", "441", "216"),
            City("Cincinnati", "OH", "452", "513"),
            City("Dayton", "OH", "454", "937"),
            City("Toledo", "OH", "436", "419"),
        ),
        ("Buckeye Memorial Hospital", "Lakeshore University Hospital"),
        ("Scioto Primary Care", "Riverside Internal Medicine", "Maumee Valley Family Health"),
        0.25,
    ),
)
REGION_WEIGHTS: tuple[float, ...] = (0.32, 0.30, 0.18, 0.20)
PCPS_PER_CLINIC = 10
HOSPITALISTS_PER_HOSPITAL = 6

_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_MBI_ALNUM = "0123456789" + _MBI_LETTERS


_MBI_POSITIONS: tuple[str, ...] = (
    "123456789",
    _MBI_LETTERS,
    _MBI_ALNUM,
    "0123456789",
    _MBI_LETTERS,
    _MBI_ALNUM,
    "0123456789",
    _MBI_LETTERS,
    _MBI_LETTERS,
    "0123456789",
    "0123456789",
)
MBI_CAPACITY = 9 * 20**4 * 30**2 * 10**4
_MBI_STEP = 1_000_003  # prime, coprime with the capacity (whose prime factors are 2, 3 and 5)


def mbi(seed: int, index: int) -> str:
    """A Medicare Beneficiary Identifier in the CMS format (C A AN N A AN N A A N N).

    A bijection of the patient index (for one seed), so no two synthetic members share one.
    """
    value = (index * _MBI_STEP + seed * 7_777_777) % MBI_CAPACITY
    chars: list[str] = []
    for alphabet in reversed(_MBI_POSITIONS):
        value, digit = divmod(value, len(alphabet))
        chars.append(alphabet[digit])
    return "".join(reversed(chars))


def npi(rng: random.Random) -> str:
    """A 10-digit NPI whose last digit is the Luhn check digit over the prefix 80840 + the first 9."""
    body = str(rng.randrange(100_000_000, 300_000_000))
    digits = [int(d) for d in "80840" + body]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def npi_is_valid(value: str) -> bool:
    """The Luhn check an NPI must pass (used by tests and by anyone who doubts the generator)."""
    if len(value) != 10 or not value.isdigit():
        return False
    digits = [int(d) for d in "80840" + value]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def phone(rng: random.Random, city: City) -> str:
    return f"{city.area_code}-555-01{rng.randrange(100):02d}"


def street_line(rng: random.Random) -> str:
    return f"{rng.randrange(100, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"


def postal_code(rng: random.Random, city: City) -> str:
    return f"{city.zip3}{rng.randrange(1, 99):02d}"


def person_name(rng: random.Random, *, female: bool, hispanic: bool) -> tuple[str, str]:
    """(given, family)."""
    if hispanic and rng.random() < 0.8:
        given = rng.choice(HISPANIC_FEMALE_GIVEN if female else HISPANIC_MALE_GIVEN)
        family = rng.choice(HISPANIC_FAMILY)
    else:
        given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
        family = rng.choice(HISPANIC_FAMILY if hispanic else FAMILY)
    return given, family


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
