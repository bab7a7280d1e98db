"""The vocabulary residents report in: member attributes and housing conditions.

Code lists follow the style of Regsosek 2022 (Pendataan Awal Registrasi Sosial
Ekonomi): short codes stored in ``Member.details`` / ``Household.details``, labels
translated for people.
"""

from __future__ import annotations

from locales import lazy_gettext as _l

Options = list[tuple[str, object]]

RELATIONSHIP_LABELS: dict[str, object] = {
    "head": _l("Head of household"),
    "spouse": _l("Husband / wife"),
    "child": _l("Child"),
    "child_in_law": _l("Son / daughter-in-law"),
    "grandchild": _l("Grandchild"),
    "parent": _l("Parent"),
    "parent_in_law": _l("Parent-in-law"),
    "other_relative": _l("Other relative"),
    "household_help": _l("Household help"),
    "other": _l("Other"),
}
SEX_OPTIONS: Options = [("M", _l("Male")), ("F", _l("Female"))]

EDUCATION: Options = [
    ("none", _l("Never went to school")),
    ("sd", _l("Primary school (SD/MI)")),
    ("smp", _l("Junior high school (SMP/MTs)")),
    ("sma", _l("Senior high school (SMA/SMK/MA)")),
    ("diploma", _l("Diploma (D1-D3)")),
    ("university", _l("University (D4/S1 or higher)")),
]
WORK: Options = [
    ("not_working", _l("Not working")),
    ("employee", _l("Employee / wage worker")),
    ("self_employed", _l("Own business")),
    ("casual", _l("Casual worker")),
    ("family_worker", _l("Unpaid family worker")),
    ("student", _l("In school")),
    ("housekeeping", _l("Looks after the home")),
    ("retired", _l("Retired")),
]
WORKING = frozenset({"employee", "self_employed", "casual", "family_worker"})
DISABILITY: Options = [
    ("none", _l("No disability")),
    ("physical", _l("Physical")),
    ("seeing", _l("Seeing")),
    ("hearing", _l("Hearing or speaking")),
    ("intellectual", _l("Intellectual")),
    ("mental", _l("Mental")),
    ("multiple", _l("More than one")),
]
ILLNESS: Options = [
    ("none", _l("No chronic illness")),
    ("hypertension", _l("High blood pressure")),
    ("diabetes", _l("Diabetes")),
    ("heart", _l("Heart disease")),
    ("tuberculosis", _l("Tuberculosis (TB)")),
    ("cancer", _l("Cancer")),
    ("stroke", _l("Stroke")),
    ("kidney", _l("Kidney failure")),
    ("other", _l("Another chronic illness")),
]
MARITAL: Options = [
    ("single", _l("Not married")),
    ("married", _l("Married")),
    ("divorced", _l("Divorced")),
    ("widowed", _l("Widowed")),
]
MEMBER_FIELDS: Options = [
    ("education", _l("Education")),
    ("work", _l("Work")),
    ("disability", _l("Disability")),
    ("illness", _l("Chronic illness")),
    ("marital", _l("Marital status")),
]

FLOOR: Options = [
    ("marble", _l("Marble / granite")),
    ("ceramic", _l("Ceramic tiles")),
    ("tile", _l("Tiles / terrazzo")),
    ("wood", _l("Wood / boards")),
    ("cement", _l("Cement / red brick")),
    ("bamboo", _l("Bamboo")),
    ("earth", _l("Earth")),
    ("other", _l("Other")),
]
WALL: Options = [
    ("masonry", _l("Brick or concrete wall")),
    ("plastered_bamboo", _l("Plastered woven bamboo")),
    ("wood", _l("Wood / boards")),
    ("bamboo", _l("Woven bamboo")),
    ("logs", _l("Logs")),
    ("zinc", _l("Zinc sheets")),
    ("other", _l("Other")),
]
ROOF: Options = [
    ("concrete", _l("Concrete")),
    ("clay_tile", _l("Clay or ceramic tiles")),
    ("metal", _l("Zinc / metal sheets")),
    ("asbestos", _l("Asbestos")),
    ("wood", _l("Wood / shingles")),
    ("bamboo", _l("Bamboo")),
    ("thatch", _l("Straw / palm leaves")),
    ("other", _l("Other")),
]
WATER: Options = [
    ("piped", _l("Piped water (PDAM)")),
    ("bottled", _l("Bottled or refill water")),
    ("pump", _l("Pump / drilled well")),
    ("protected_well", _l("Protected well")),
    ("unprotected_well", _l("Unprotected well")),
    ("spring", _l("Spring")),
    ("surface", _l("River, lake or pond")),
    ("rain", _l("Rain water")),
]
SANITATION: Options = [
    ("own_septic", _l("Own toilet with septic tank")),
    ("own_no_septic", _l("Own toilet without septic tank")),
    ("shared", _l("Toilet shared with other households")),
    ("public", _l("Public toilet")),
    ("none", _l("No toilet")),
]
ELECTRICITY: Options = [
    ("pln_meter", _l("PLN with its own meter")),
    ("pln_shared", _l("PLN without own meter")),
    ("non_pln", _l("Generator or solar, not PLN")),
    ("none", _l("No electricity")),
]
TENURE: Options = [
    ("own", _l("Own house")),
    ("rent", _l("Rented")),
    ("free", _l("Lives there rent-free")),
    ("official", _l("Official housing")),
    ("other", _l("Other")),
]
ASSETS: Options = [
    ("fridge", _l("Refrigerator")),
    ("ac", _l("Air conditioner")),
    ("water_heater", _l("Water heater")),
    ("gas_5kg", _l("Gas cylinder of 5.5 kg or more")),
    ("computer", _l("Computer / laptop")),
    ("gold", _l("Gold or jewellery of 10 g or more")),
    ("motorcycle", _l("Motorcycle")),
    ("car", _l("Car")),
    ("boat", _l("Boat / motor boat")),
    ("land", _l("Land elsewhere")),
    ("livestock", _l("Cattle, buffalo or goats")),
]
HOUSING_FIELDS: Options = [
    ("floor", _l("Floor")),
    ("wall", _l("Walls")),
    ("roof", _l("Roof")),
    ("water", _l("Drinking water")),
    ("sanitation", _l("Toilet")),
    ("electricity", _l("Electricity")),
    ("tenure", _l("Ownership of the house")),
    ("assets", _l("Household assets")),
]
HOUSING_CHOICES: dict[str, Options] = {
    "floor": FLOOR,
    "wall": WALL,
    "roof": ROOF,
    "water": WATER,
    "sanitation": SANITATION,
    "electricity": ELECTRICITY,
    "tenure": TENURE,
}
AID_PROGRAMMES: Options = [
    ("pkh", _l("PKH (Program Keluarga Harapan)")),
    ("bpnt", _l("BPNT / Sembako")),
    ("pbi_jk", _l("PBI-JK (free BPJS health insurance)")),
    ("blt", _l("BLT (cash assistance)")),
]
