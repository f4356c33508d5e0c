"""Master data: every enumerated choice a profile uses, in one place.

Served as is by `GET /api/v1/profiles/choices`. Values are stable snake_case codes (what the
API stores and filters on); labels are what the apps show.
"""

from __future__ import annotations

from django.db import models


class Gender(models.TextChoices):
    MALE = "male", "Male"
    FEMALE = "female", "Female"


# Indian law: the Prohibition of Child Marriage Act sets 18 for a bride and 21 for a groom.
LEGAL_MIN_AGE = {Gender.FEMALE: 18, Gender.MALE: 21}
MAX_AGE = 80
HEIGHT_CM_RANGE = (120, 230)
WEIGHT_KG_RANGE = (30, 250)
MAX_INCOME_INR = 10_000_000_000  # ₹1,000 crore a year: anything above is a typo


class MaritalStatus(models.TextChoices):
    NEVER_MARRIED = "never_married", "Never married"
    AWAITING_DIVORCE = "awaiting_divorce", "Awaiting divorce"
    DIVORCED = "divorced", "Divorced"
    WIDOWED = "widowed", "Widowed"
    ANNULLED = "annulled", "Annulled"


class District(models.TextChoices):
    THIRUVANANTHAPURAM = "thiruvananthapuram", "Thiruvananthapuram"
    KOLLAM = "kollam", "Kollam"
    PATHANAMTHITTA = "pathanamthitta", "Pathanamthitta"
    ALAPPUZHA = "alappuzha", "Alappuzha"
    KOTTAYAM = "kottayam", "Kottayam"
    IDUKKI = "idukki", "Idukki"
    ERNAKULAM = "ernakulam", "Ernakulam"
    THRISSUR = "thrissur", "Thrissur"
    PALAKKAD = "palakkad", "Palakkad"
    MALAPPURAM = "malappuram", "Malappuram"
    KOZHIKODE = "kozhikode", "Kozhikode"
    WAYANAD = "wayanad", "Wayanad"
    KANNUR = "kannur", "Kannur"
    KASARAGOD = "kasaragod", "Kasaragod"
    OUTSIDE_KERALA = "outside_kerala", "Outside Kerala (India)"
    ABROAD = "abroad", "Abroad"


class Religion(models.TextChoices):
    HINDU = "hindu", "Hindu"
    CHRISTIAN = "christian", "Christian"
    MUSLIM = "muslim", "Muslim"
    JAIN = "jain", "Jain"
    SIKH = "sikh", "Sikh"
    BUDDHIST = "buddhist", "Buddhist"
    OTHER = "other", "Other"
    NO_RELIGION = "no_religion", "No religion"


# Communities as Kerala matrimony members name them, by religion. A caste must belong to its
# religion; "other" and "no_caste" exist under every religion so no one is left out.
CASTES: dict[str, list[tuple[str, str]]] = {
    Religion.HINDU: [
        ("nair", "Nair"),
        ("nair_menon", "Nair - Menon"),
        ("nair_pillai", "Nair - Pillai"),
        ("nair_kurup", "Nair - Kurup"),
        ("nair_nambiar", "Nair - Nambiar"),
        ("nair_kiryathil", "Nair - Kiryathil"),
        ("nair_vilakkithala", "Nair - Vilakkithala"),
        ("ezhava", "Ezhava"),
        ("thiyya", "Thiyya"),
        ("namboothiri", "Namboothiri"),
        ("iyer", "Iyer"),
        ("ambalavasi", "Ambalavasi"),
        ("warrier", "Warrier"),
        ("vishwakarma", "Vishwakarma"),
        ("viswakarma_achari", "Vishwakarma - Achari"),
        ("dheevara", "Dheevara"),
        ("vaniya", "Vaniya"),
        ("nadar_hindu", "Nadar"),
        ("pulaya", "Pulaya"),
        ("kshatriya", "Kshatriya"),
        ("yadava", "Yadava"),
        ("kudumbi", "Kudumbi"),
        ("chettiar", "Chettiar"),
    ],
    Religion.CHRISTIAN: [
        ("syro_malabar", "Syro-Malabar Catholic"),
        ("latin_catholic", "Latin Catholic"),
        ("syro_malankara", "Syro-Malankara Catholic"),
        ("knanaya_catholic", "Knanaya Catholic"),
        ("knanaya_jacobite", "Knanaya Jacobite"),
        ("malankara_orthodox", "Malankara Orthodox"),
        ("jacobite", "Jacobite (Syriac Orthodox)"),
        ("mar_thoma", "Mar Thoma"),
        ("csi", "CSI (Church of South India)"),
        ("pentecostal", "Pentecostal"),
        ("brethren", "Brethren"),
        ("evangelical", "Evangelical"),
        ("church_of_god", "Church of God"),
        ("seventh_day_adventist", "Seventh-day Adventist"),
        ("nadar_christian", "Nadar Christian"),
    ],
    Religion.MUSLIM: [
        ("sunni", "Sunni"),
        ("sunni_ek", "Sunni (EK)"),
        ("sunni_ap", "Sunni (AP)"),
        ("mujahid", "Mujahid (Salafi)"),
        ("jamaat_e_islami", "Jamaat-e-Islami"),
        ("thangal", "Thangal"),
        ("rawther", "Rawther"),
        ("labbai", "Labbai"),
        ("pathan", "Pathan"),
        ("shia", "Shia"),
    ],
    Religion.JAIN: [("digambar", "Digambar"), ("shwetambar", "Shwetambar")],
    Religion.SIKH: [("jat", "Jat"), ("khatri", "Khatri")],
    Religion.BUDDHIST: [("mahayana", "Mahayana"), ("theravada", "Theravada")],
    Religion.OTHER: [],
    Religion.NO_RELIGION: [],
}
for _castes in CASTES.values():
    _castes.extend([("other", "Other"), ("no_caste", "Caste no bar / none")])
ALL_CASTES = sorted({code for castes in CASTES.values() for code, _ in castes})
CASTE_LABELS = {code: label for castes in CASTES.values() for code, label in castes}


def caste_belongs_to(caste: str, religion: str) -> bool:
    return any(code == caste for code, _ in CASTES.get(religion, []))


# The 27 nakshatras with their Malayalam names (as used in Kerala horoscopes).
STARS: list[tuple[str, str]] = [
    ("ashwini", "Ashwini (Ashwathi / അശ്വതി)"),
    ("bharani", "Bharani (ഭരണി)"),
    ("krittika", "Krittika (Karthika / കാർത്തിക)"),
    ("rohini", "Rohini (രോഹിണി)"),
    ("mrigashira", "Mrigashira (Makayiram / മകയിരം)"),
    ("ardra", "Ardra (Thiruvathira / തിരുവാതിര)"),
    ("punarvasu", "Punarvasu (Punartham / പുണർതം)"),
    ("pushya", "Pushya (Pooyam / പൂയം)"),
    ("ashlesha", "Ashlesha (Ayilyam / ആയില്യം)"),
    ("magha", "Magha (Makam / മകം)"),
    ("purva_phalguni", "Purva Phalguni (Pooram / പൂരം)"),
    ("uttara_phalguni", "Uttara Phalguni (Uthram / ഉത്രം)"),
    ("hasta", "Hasta (Atham / അത്തം)"),
    ("chitra", "Chitra (Chithira / ചിത്തിര)"),
    ("swati", "Swati (Chothi / ചോതി)"),
    ("vishakha", "Vishakha (Vishakham / വിശാഖം)"),
    ("anuradha", "Anuradha (Anizham / അനിഴം)"),
    ("jyeshtha", "Jyeshtha (Thrikketta / തൃക്കേട്ട)"),
    ("mula", "Mula (Moolam / മൂലം)"),
    ("purva_ashadha", "Purva Ashadha (Pooradam / പൂരാടം)"),
    ("uttara_ashadha", "Uttara Ashadha (Uthradam / ഉത്രാടം)"),
    ("shravana", "Shravana (Thiruvonam / തിരുവോണം)"),
    ("dhanishta", "Dhanishta (Avittam / അവിട്ടം)"),
    ("shatabhisha", "Shatabhisha (Chathayam / ചതയം)"),
    ("purva_bhadrapada", "Purva Bhadrapada (Pooruruttathi / പൂരുരുട്ടാതി)"),
    ("uttara_bhadrapada", "Uttara Bhadrapada (Uthrattathi / ഉത്രട്ടാതി)"),
    ("revati", "Revati (Revathi / രേവതി)"),
]
Star = models.TextChoices("Star", [(code, (code, label)) for code, label in STARS])


class MotherTongue(models.TextChoices):
    MALAYALAM = "malayalam", "Malayalam"
    TAMIL = "tamil", "Tamil"
    KANNADA = "kannada", "Kannada"
    TULU = "tulu", "Tulu"
    KONKANI = "konkani", "Konkani"
    TELUGU = "telugu", "Telugu"
    HINDI = "hindi", "Hindi"
    ENGLISH = "english", "English"
    OTHER = "other", "Other"


class EducationLevel(models.TextChoices):
    BELOW_SSLC = "below_sslc", "Below SSLC"
    SSLC = "sslc", "SSLC (10th)"
    PLUS_TWO = "plus_two", "Plus Two (12th)"
    DIPLOMA = "diploma", "Diploma / ITI"
    BACHELORS = "bachelors", "Bachelor's degree"
    PROFESSIONAL_BACHELORS = "professional_bachelors", "Professional degree (B.Tech, MBBS, LLB…)"
    MASTERS = "masters", "Master's degree"
    PROFESSIONAL_MASTERS = "professional_masters", "Professional master's (M.Tech, MD, MBA…)"
    DOCTORATE = "doctorate", "Doctorate (PhD)"


class OccupationGroup(models.TextChoices):
    NOT_WORKING = "not_working", "Not working"
    STUDENT = "student", "Student"
    GOVERNMENT = "government", "Government / PSU"
    PRIVATE = "private", "Private sector"
    IT_SOFTWARE = "it_software", "IT / Software"
    DOCTOR = "doctor", "Doctor"
    NURSE = "nurse", "Nurse / Healthcare"
    ENGINEER = "engineer", "Engineer"
    TEACHER = "teacher", "Teacher / Lecturer"
    BUSINESS = "business", "Business / Self-employed"
    DEFENCE = "defence", "Defence / Police"
    GULF = "gulf", "Working in the Gulf"
    ABROAD = "abroad", "Working abroad (other)"
    AGRICULTURE = "agriculture", "Agriculture"
    OTHER = "other", "Other"


class Diet(models.TextChoices):
    VEGETARIAN = "vegetarian", "Vegetarian"
    EGGETARIAN = "eggetarian", "Eggetarian"
    NON_VEGETARIAN = "non_vegetarian", "Non-vegetarian"


class Habit(models.TextChoices):
    NO = "no", "No"
    OCCASIONALLY = "occasionally", "Occasionally"
    YES = "yes", "Yes"


class YesNoUnknown(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    DONT_KNOW = "dont_know", "Don't know"


class FamilyType(models.TextChoices):
    NUCLEAR = "nuclear", "Nuclear"
    JOINT = "joint", "Joint"


class FamilyStatus(models.TextChoices):
    MIDDLE_CLASS = "middle_class", "Middle class"
    UPPER_MIDDLE_CLASS = "upper_middle_class", "Upper middle class"
    RICH = "rich", "Rich"
    AFFLUENT = "affluent", "Affluent"


class CreatedBy(models.TextChoices):
    SELF = "self", "Self"
    PARENT = "parent", "Parent"
    SIBLING = "sibling", "Sibling"
    RELATIVE = "relative", "Relative"
    FRIEND = "friend", "Friend"


class PhotoVisibility(models.TextChoices):
    ALL_MEMBERS = "all_members", "All members"
    ACCEPTED_INTERESTS = "accepted_interests", "Only members whose interest I accepted"


class VerificationStatus(models.TextChoices):
    NOT_SUBMITTED = "NotSubmitted", "Not submitted"
    PENDING = "Pending", "Pending"
    APPROVED = "Approved", "Approved"
    REJECTED = "Rejected", "Rejected"


def _pairs(choices: type[models.TextChoices] | list[tuple[str, str]]) -> list[dict[str, str]]:
    items = choices if isinstance(choices, list) else choices.choices
    return [{"value": value, "label": label} for value, label in items]


def all_choices() -> dict[str, object]:
    """Every choice, as the apps fetch it once and cache it."""
    return {
        "genders": _pairs(Gender),
        "marital_statuses": _pairs(MaritalStatus),
        "districts": _pairs(District),
        "religions": _pairs(Religion),
        "castes_by_religion": {religion: _pairs(castes) for religion, castes in CASTES.items()},
        "stars": _pairs(STARS),
        "mother_tongues": _pairs(MotherTongue),
        "education_levels": _pairs(EducationLevel),
        "occupation_groups": _pairs(OccupationGroup),
        "diets": _pairs(Diet),
        "habits": _pairs(Habit),
        "chovva_dosham": _pairs(YesNoUnknown),
        "family_types": _pairs(FamilyType),
        "family_statuses": _pairs(FamilyStatus),
        "created_by": _pairs(CreatedBy),
        "photo_visibility": _pairs(PhotoVisibility),
        "legal_min_age": {str(k): v for k, v in LEGAL_MIN_AGE.items()},
        "height_cm": {"min": HEIGHT_CM_RANGE[0], "max": HEIGHT_CM_RANGE[1]},
    }
