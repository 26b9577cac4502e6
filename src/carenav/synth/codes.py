"""Code tables the generator draws from: ICD-10-CM, SNOMED CT, RxNorm, LOINC/UCUM, NUBC, v2/v3 codes.

Everything here is a plain, precomputed value so that building a resource is a dict literal that
reuses these objects (orjson serialises shared sub-objects as often as they are referenced).

Provenance of the codes:
- ICD-10-CM codes and titles: CDC/NCHS ICD-10-CM tabular list (FY2024 titles; F32.A, N18.30-N18.32 and
  M54.50 exist since FY2021-FY2022). Titles are the official long titles, occasionally shortened.
- SNOMED CT: only broad disorder concepts, used for the documented SNOMED-only share of conditions and
  for encounter types (the concepts Synthea itself emits).
- RxNorm: clinical drugs (SCD/SBD) are the ones present in the shared Synthea R4 sample
  (``shared/data/synthea-r4``); where no such product was at hand, the ingredient (IN) concept is used
  and the strength goes into the dosage text. Ingredient RXCUIs are listed in ``docs/synth.md``.
- LOINC and UCUM: the codes named in the carenav issue (vitals and labs a care-management panel uses).
- NUBC patient discharge status: codes as carried in HL7 v2 PV1-36; NUBC/AHA licensed, we carry the code
  with a short display only.
"""

from __future__ import annotations

from typing import Any

from carenav.patients.rules import ICD10CM, LOINC, NUBC_DISCHARGE, RXNORM, SNOMED, UCUM, V3_ACT_CODE

JSON = dict[str, Any]

PLAN_TYPE_SYSTEM = "https://carenav.org/fhir/CodeSystem/plan-type"
MBI_SYSTEM = "http://hl7.org/fhir/sid/us-mbi"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
V2_0131 = "http://terminology.hl7.org/CodeSystem/v2-0131"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSIS_ROLE = "http://terminology.hl7.org/CodeSystem/diagnosis-role"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ORGANIZATION_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
BCP47 = "urn:ietf:bcp:47"
OMB_RACE_ETHNICITY = "urn:oid:2.16.840.1.113883.6.238"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
SYNTH_BASE = "https://synth.carenav.org"


def concept(system: str, code: str, display: str) -> JSON:
    """A CodeableConcept with one coding and the display as text."""
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def icd(code: str, display: str) -> JSON:
    return concept(ICD10CM, code, display)


# ---------------------------------------------------------------- conditions (ICD-10-CM)
# Titles of every ICD-10-CM code the generator can emit. Keep one place so tests can check them.
ICD10CM_TITLES: dict[str, str] = {
    # hypertension and its combination codes (ICD-10-CM presumes the link with CKD / heart disease)
    "I10": "Essential (primary) hypertension",
    "I11.0": "Hypertensive heart disease with heart failure",
    "I12.9": "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, "
    "or unspecified chronic kidney disease",
    "I12.0": "Hypertensive chronic kidney disease with stage 5 chronic kidney disease or end stage renal "
    "disease",
    "I13.0": "Hypertensive heart and chronic kidney disease with heart failure and stage 1 through stage 4 "
    "chronic kidney disease, or unspecified chronic kidney disease",
    "E78.5": "Hyperlipidemia, unspecified",
    "E78.00": "Pure hypercholesterolemia, unspecified",
    "E78.2": "Mixed hyperlipidemia",
    "E11.9": "Type 2 diabetes mellitus without complications",
    "E11.22": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
    "E11.40": "Type 2 diabetes mellitus with diabetic neuropathy, unspecified",
    "E11.65": "Type 2 diabetes mellitus with hyperglycemia",
    "E11.319": "Type 2 diabetes mellitus with unspecified diabetic retinopathy without macular edema",
    "E11.51": "Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene",
    "E10.9": "Type 1 diabetes mellitus without complications",
    "E66.9": "Obesity, unspecified",
    "E66.01": "Morbid (severe) obesity due to excess calories",
    "N18.2": "Chronic kidney disease, stage 2 (mild)",
    "N18.30": "Chronic kidney disease, stage 3 unspecified",
    "N18.31": "Chronic kidney disease, stage 3a",
    "N18.32": "Chronic kidney disease, stage 3b",
    "N18.4": "Chronic kidney disease, stage 4 (severe)",
    "N18.5": "Chronic kidney disease, stage 5",
    "N18.6": "End stage renal disease",
    "Z99.2": "Dependence on renal dialysis",
    "I25.10": "Atherosclerotic heart disease of native coronary artery without angina pectoris",
    "I25.119": "Atherosclerotic heart disease of native coronary artery with unspecified angina pectoris",
    "I25.2": "Old myocardial infarction",
    "I50.9": "Heart failure, unspecified",
    "I50.22": "Chronic systolic (congestive) heart failure",
    "I50.32": "Chronic diastolic (congestive) heart failure",
    "I50.42": "Chronic combined systolic (congestive) and diastolic (congestive) heart failure",
    "I48.91": "Unspecified atrial fibrillation",
    "I48.0": "Paroxysmal atrial fibrillation",
    "I48.20": "Chronic atrial fibrillation, unspecified",
    "I48.19": "Other persistent atrial fibrillation",
    "Z86.73": "Personal history of transient ischemic attack (TIA), and cerebral infarction without "
    "residual deficits",
    "I69.351": "Hemiplegia and hemiparesis following cerebral infarction affecting right dominant side",
    "I69.30": "Unspecified sequelae of cerebral infarction",
    "J44.9": "Chronic obstructive pulmonary disease, unspecified",
    "J43.9": "Emphysema, unspecified",
    "J45.909": "Unspecified asthma, uncomplicated",
    "J45.20": "Mild intermittent asthma, uncomplicated",
    "J45.30": "Mild persistent asthma, uncomplicated",
    "J45.40": "Moderate persistent asthma, uncomplicated",
    "J45.50": "Severe persistent asthma, uncomplicated",
    "F32.A": "Depression, unspecified",
    "F32.9": "Major depressive disorder, single episode, unspecified",
    "F32.1": "Major depressive disorder, single episode, moderate",
    "F33.1": "Major depressive disorder, recurrent, moderate",
    "F33.9": "Major depressive disorder, recurrent, unspecified",
    "F41.1": "Generalized anxiety disorder",
    "F41.9": "Anxiety disorder, unspecified",
    "F03.90": "Unspecified dementia, unspecified severity, without behavioral disturbance, psychotic "
    "disturbance, mood disturbance, and anxiety",
    "G30.9": "Alzheimer's disease, unspecified",
    "F01.50": "Vascular dementia, unspecified severity, without behavioral disturbance, psychotic "
    "disturbance, mood disturbance, and anxiety",
    "F10.20": "Alcohol dependence, uncomplicated",
    "F11.20": "Opioid dependence, uncomplicated",
    "F17.210": "Nicotine dependence, cigarettes, uncomplicated",
    "C50.911": "Malignant neoplasm of unspecified site of right female breast",
    "C61": "Malignant neoplasm of prostate",
    "C18.9": "Malignant neoplasm of colon, unspecified",
    "C34.90": "Malignant neoplasm of unspecified part of unspecified bronchus or lung",
    "C67.9": "Malignant neoplasm of bladder, unspecified",
    "C78.00": "Secondary malignant neoplasm of unspecified lung",
    "C78.7": "Secondary malignant neoplasm of liver and intrahepatic bile duct",
    "C79.51": "Secondary malignant neoplasm of bone",
    "C79.31": "Secondary malignant neoplasm of brain",
    "K76.0": "Fatty (change of) liver, not elsewhere classified",
    "K70.30": "Alcoholic cirrhosis of liver without ascites",
    "K74.60": "Unspecified cirrhosis of liver",
    "B18.2": "Chronic viral hepatitis C",
    "K76.6": "Portal hypertension",
    "M06.9": "Rheumatoid arthritis, unspecified",
    "M05.79": "Rheumatoid arthritis with rheumatoid factor of multiple sites without organ or systems "
    "involvement",
    "M81.0": "Age-related osteoporosis without current pathological fracture",
    "E03.9": "Hypothyroidism, unspecified",
    "I73.9": "Peripheral vascular disease, unspecified",
    "B20": "Human immunodeficiency virus [HIV] disease",
    "F20.9": "Schizophrenia, unspecified",
    "F31.9": "Bipolar disorder, unspecified",
    "F25.9": "Schizoaffective disorder, unspecified",
    # acute reasons for admissions and ED visits (encounter diagnoses)
    "I50.23": "Acute on chronic systolic (congestive) heart failure",
    "I50.33": "Acute on chronic diastolic (congestive) heart failure",
    "J44.1": "Chronic obstructive pulmonary disease with (acute) exacerbation",
    "J45.901": "Unspecified asthma with (acute) exacerbation",
    "N17.9": "Acute kidney failure, unspecified",
    "A41.9": "Sepsis, unspecified organism",
    "J18.9": "Pneumonia, unspecified organism",
    "I21.4": "Non-ST elevation (NSTEMI) myocardial infarction",
    "I63.9": "Cerebral infarction, unspecified",
    "S72.001A": "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",
    "N39.0": "Urinary tract infection, site not specified",
    "R55": "Syncope and collapse",
    "K92.2": "Gastrointestinal hemorrhage, unspecified",
    "E86.0": "Dehydration",
    "F10.239": "Alcohol dependence with withdrawal, unspecified",
    "T40.2X1A": "Poisoning by other opioids, accidental (unintentional), initial encounter",
    "E11.649": "Type 2 diabetes mellitus with hypoglycemia without coma",
    "R07.9": "Chest pain, unspecified",
    "R10.9": "Unspecified abdominal pain",
    "J06.9": "Acute upper respiratory infection, unspecified",
    "M54.50": "Low back pain, unspecified",
    "S09.90XA": "Unspecified injury of head, initial encounter",
    "R06.02": "Shortness of breath",
    "R51.9": "Headache, unspecified",
}

ICD_CONCEPTS: dict[str, JSON] = {code: icd(code, title) for code, title in ICD10CM_TITLES.items()}

# One broad SNOMED CT disorder per chronic category, used for the SNOMED-only share.
SNOMED_BY_CATEGORY: dict[str, tuple[str, str]] = {
    "hypertension": ("38341003", "Hypertensive disorder, systemic arterial (disorder)"),
    "hyperlipidemia": ("55822004", "Hyperlipidemia (disorder)"),
    "diabetes": ("44054006", "Diabetes mellitus type 2 (disorder)"),
    "obesity": ("414916001", "Obesity (disorder)"),
    "ckd": ("709044004", "Chronic kidney disease (disorder)"),
    "ihd": ("414545008", "Ischemic heart disease (disorder)"),
    "heart_failure": ("84114007", "Heart failure (disorder)"),
    "afib": ("49436004", "Atrial fibrillation (disorder)"),
    "stroke": ("230690007", "Cerebrovascular accident (disorder)"),
    "copd": ("13645005", "Chronic obstructive lung disease (disorder)"),
    "asthma": ("195967001", "Asthma (disorder)"),
    "depression": ("35489007", "Depressive disorder (disorder)"),
    "anxiety": ("197480006", "Anxiety disorder (disorder)"),
    "dementia": ("52448006", "Dementia (disorder)"),
    "alcohol": ("7200002", "Alcoholism (disorder)"),
    "rheumatoid": ("69896004", "Rheumatoid arthritis (disorder)"),
    "osteoporosis": ("64859006", "Osteoporosis (disorder)"),
    "hypothyroid": ("40930008", "Hypothyroidism (disorder)"),
    "pvd": ("400047006", "Peripheral vascular disease (disorder)"),
    "liver": ("19943007", "Cirrhosis of liver (disorder)"),
    "smi": ("58214004", "Schizophrenia (disorder)"),
}
SNOMED_CONCEPTS: dict[str, JSON] = {
    key: concept(SNOMED, code, display) for key, (code, display) in SNOMED_BY_CATEGORY.items()
}

CLINICAL_STATUS: dict[str, JSON] = {
    s: {"coding": [{"system": CONDITION_CLINICAL, "code": s}]}
    for s in ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
}
VERIFICATION_STATUS: dict[str, JSON] = {
    s: {"coding": [{"system": CONDITION_VERIFICATION, "code": s}]}
    for s in ("unconfirmed", "provisional", "confirmed")
}
CATEGORY_PROBLEM_LIST: list[JSON] = [concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")]
CATEGORY_ENCOUNTER_DIAGNOSIS: list[JSON] = [
    concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")
]

# ---------------------------------------------------------------- encounters
ENCOUNTER_CLASS: dict[str, JSON] = {
    "AMB": {"system": V3_ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "EMER": {"system": V3_ACT_CODE, "code": "EMER", "display": "emergency"},
    "IMP": {"system": V3_ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
}
ENCOUNTER_TYPE: dict[str, list[JSON]] = {
    "checkup": [concept(SNOMED, "185349003", "Encounter for check up (procedure)")],
    "followup": [concept(SNOMED, "390906007", "Follow-up encounter (procedure)")],
    "emergency": [concept(SNOMED, "50849002", "Emergency room admission (procedure)")],
    "admission": [concept(SNOMED, "32485007", "Hospital admission (procedure)")],
    "emergency_admission": [concept(SNOMED, "183452005", "Emergency hospital admission (procedure)")],
}
DIAGNOSIS_USE: dict[str, JSON] = {
    "AD": concept(DIAGNOSIS_ROLE, "AD", "Admission diagnosis"),
    "DD": concept(DIAGNOSIS_ROLE, "DD", "Discharge diagnosis"),
    "CM": concept(DIAGNOSIS_ROLE, "CM", "Comorbidity diagnosis"),
}
ADMIT_FROM_ED: JSON = concept(ADMIT_SOURCE, "emd", "From accident/emergency department")
ADMIT_FROM_PHYSICIAN: JSON = concept(ADMIT_SOURCE, "gp", "General Practitioner referral")
PARTICIPANT_ATTENDER: list[JSON] = [concept(PARTICIPANT_TYPE, "ATND", "attender")]
PARTICIPANT_PRIMARY: list[JSON] = [concept(PARTICIPANT_TYPE, "PPRF", "primary performer")]

NUBC_TITLES: dict[str, str] = {
    "01": "Discharged to home or self care (routine discharge)",
    "02": "Discharged/transferred to a short-term general hospital for inpatient care",
    "03": "Discharged/transferred to skilled nursing facility (SNF) with Medicare certification",
    "06": "Discharged/transferred to home under care of organized home health service organization",
    "07": "Left against medical advice or discontinued care",
    "20": "Expired",
    "50": "Hospice - home",
    "62": "Discharged/transferred to an inpatient rehabilitation facility (IRF)",
}
DISCHARGE_DISPOSITION: dict[str, JSON] = {
    code: concept(NUBC_DISCHARGE, code, title) for code, title in NUBC_TITLES.items()
}

# ---------------------------------------------------------------- observations (LOINC + UCUM)
CATEGORY_VITALS: list[JSON] = [concept(OBSERVATION_CATEGORY, "vital-signs", "Vital Signs")]
CATEGORY_LAB: list[JSON] = [concept(OBSERVATION_CATEGORY, "laboratory", "Laboratory")]
LOINC_CONCEPTS: dict[str, JSON] = {
    "hba1c": concept(LOINC, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"),
    "egfr_mdrd": concept(
        LOINC,
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by "
        "Creatinine-based formula (MDRD)",
    ),
    "egfr_ckdepi": concept(
        LOINC,
        "62238-1",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by "
        "Creatinine-based formula (CKD-EPI)",
    ),
    "ldl": concept(LOINC, "18262-6", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay"),
    "bp": concept(LOINC, "85354-9", "Blood pressure panel with all children optional"),
    "sbp": concept(LOINC, "8480-6", "Systolic blood pressure"),
    "dbp": concept(LOINC, "8462-4", "Diastolic blood pressure"),
    "weight": concept(LOINC, "29463-7", "Body weight"),
    "bmi": concept(LOINC, "39156-5", "Body mass index (BMI) [Ratio]"),
}
UNITS: dict[str, tuple[str, str]] = {  # key -> (unit, UCUM code)
    "hba1c": ("%", "%"),
    "egfr_mdrd": ("mL/min/{1.73_m2}", "mL/min/{1.73_m2}"),
    "egfr_ckdepi": ("mL/min/{1.73_m2}", "mL/min/{1.73_m2}"),
    "ldl": ("mg/dL", "mg/dL"),
    "sbp": ("mm[Hg]", "mm[Hg]"),
    "dbp": ("mm[Hg]", "mm[Hg]"),
    "weight": ("kg", "kg"),
    "bmi": ("kg/m2", "kg/m2"),
}
UCUM_SYSTEM = UCUM

# ---------------------------------------------------------------- medications (RxNorm)
# key -> (RXCUI, display, dosage text). SCD/SBD codes come from the shared Synthea sample; the rest are
# RxNorm ingredient (IN) concepts with the strength in the dosage text.
MEDICATIONS: dict[str, tuple[str, str, str]] = {
    "metformin": (
        "860975",
        "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
        "Take 2 tablets (1000 mg) by mouth daily with the evening meal",
    ),
    "insulin_70_30": (
        "106892",
        "insulin human, isophane 70 UNT/ML / Regular Insulin, Human 30 UNT/ML "
        "Injectable Suspension [Humulin]",
        "Inject 20 units under the skin twice daily before meals",
    ),
    "insulin_glargine": (
        "274783",
        "insulin glargine",
        "Inject 24 units (100 units/mL) under the skin at bedtime",
    ),
    "empagliflozin": ("1545653", "empagliflozin", "Take 10 mg by mouth once daily"),
    "sitagliptin": ("593411", "sitagliptin", "Take 100 mg by mouth once daily"),
    "semaglutide": ("1991302", "semaglutide", "Inject 0.5 mg under the skin once weekly"),
    "lisinopril": ("29046", "lisinopril", "Take 10 mg by mouth once daily"),
    "losartan": ("52175", "losartan", "Take 50 mg by mouth once daily"),
    "amlodipine": ("197361", "Amlodipine 5 MG Oral Tablet", "Take 1 tablet by mouth once daily"),
    "hctz": ("316049", "Hydrochlorothiazide 25 MG", "Take 1 tablet by mouth every morning"),
    "atorvastatin": ("259255", "Atorvastatin 80 MG Oral Tablet", "Take 1 tablet by mouth at bedtime"),
    "simvastatin": ("312961", "Simvastatin 20 MG Oral Tablet", "Take 1 tablet by mouth in the evening"),
    "furosemide": ("4603", "furosemide", "Take 40 mg by mouth every morning"),
    "metoprolol": (
        "866414",
        "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet [Toprol]",
        "Take 1 tablet by mouth once daily",
    ),
    "carvedilol": ("20352", "carvedilol", "Take 6.25 mg by mouth twice daily with food"),
    "spironolactone": ("9997", "spironolactone", "Take 25 mg by mouth once daily"),
    "digoxin": ("197604", "Digoxin 0.125 MG Oral Tablet", "Take 1 tablet by mouth once daily"),
    "apixaban": ("1364430", "apixaban", "Take 5 mg by mouth twice daily"),
    "warfarin": (
        "855332",
        "Warfarin Sodium 5 MG Oral Tablet",
        "Take as directed by the anticoagulation clinic",
    ),
    "aspirin": ("1191", "aspirin", "Take 81 mg by mouth once daily"),
    "clopidogrel": ("309362", "Clopidogrel 75 MG Oral Tablet", "Take 1 tablet by mouth once daily"),
    "nitroglycerin": (
        "705129",
        "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray",
        "1 spray under the tongue as needed for chest pain; may repeat every 5 minutes, up to 3",
    ),
    "tiotropium": ("69120", "tiotropium", "Inhale 2 puffs (2.5 mcg each) once daily"),
    "fluticasone_salmeterol": (
        "896209",
        "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler",
        "Inhale 1 puff twice daily",
    ),
    "albuterol": ("435", "albuterol", "Inhale 2 puffs (90 mcg each) every 4 to 6 hours as needed"),
    "sertraline": ("36437", "sertraline", "Take 50 mg by mouth once daily"),
    "escitalopram": ("321988", "escitalopram", "Take 10 mg by mouth once daily"),
    "bupropion": ("42347", "bupropion", "Take 150 mg (extended release) by mouth every morning"),
    "donepezil": ("135447", "donepezil", "Take 10 mg by mouth at bedtime"),
    "memantine": (
        "996740",
        "Memantine hydrochloride 2 MG/ML Oral Solution",
        "Take 5 mL by mouth twice daily",
    ),
    "galantamine": (
        "310436",
        "Galantamine 4 MG Oral Tablet",
        "Take 1 tablet by mouth twice daily with meals",
    ),
    "naltrexone": ("7243", "naltrexone", "Take 50 mg by mouth once daily"),
    "buprenorphine": ("1819", "buprenorphine", "Dissolve 8 mg under the tongue once daily"),
    "levothyroxine": (
        "966222",
        "Levothyroxine Sodium 0.075 MG Oral Tablet",
        "Take 1 tablet by mouth every morning on an empty stomach",
    ),
    "alendronate": (
        "904419",
        "Alendronic acid 10 MG Oral Tablet",
        "Take 1 tablet by mouth every morning with a full glass of water",
    ),
    "methotrexate": ("6851", "methotrexate", "Take 15 mg by mouth once weekly"),
    "quetiapine": ("51272", "quetiapine", "Take 200 mg by mouth at bedtime"),
    "aripiprazole": ("89013", "aripiprazole", "Take 10 mg by mouth once daily"),
    "lithium": ("6448", "lithium", "Take 300 mg by mouth twice daily"),
    "acetaminophen": (
        "313782",
        "Acetaminophen 325 MG Oral Tablet",
        "Take 2 tablets by mouth every 6 hours as needed for pain",
    ),
    "omeprazole": ("7646", "omeprazole", "Take 20 mg by mouth once daily before breakfast"),
    "gabapentin": ("25480", "gabapentin", "Take 300 mg by mouth three times daily"),
    "nicotine_patch": ("198031", "24hr nicotine transdermal patch", "Apply 1 patch to the skin daily"),
    "amoxicillin_clavulanate": (
        "562251",
        "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet",
        "Take 1 tablet by mouth every 8 hours for 7 days",
    ),
}
MEDICATION_CONCEPTS: dict[str, JSON] = {
    key: concept(RXNORM, code, display) for key, (code, display, _text) in MEDICATIONS.items()
}
MEDICATION_DOSAGE: dict[str, list[JSON]] = {
    key: [{"sequence": 1, "text": text}] for key, (_code, _display, text) in MEDICATIONS.items()
}

# ---------------------------------------------------------------- people
IDENTIFIER_TYPE: dict[str, JSON] = {
    "MR": concept(V2_0203, "MR", "Medical record number"),
    "MB": concept(V2_0203, "MB", "Member Number"),
    "MC": concept(V2_0203, "MC", "Patient's Medicare number"),
    "VN": concept(V2_0203, "VN", "Visit number"),
    "NPI": concept(V2_0203, "NPI", "National provider identifier"),
}
CONTACT_RELATIONSHIP: list[JSON] = [concept(V2_0131, "N", "Next-of-Kin")]

LANGUAGES: dict[str, JSON] = {
    code: concept(BCP47, code, display)
    for code, display in (
        ("en", "English"),
        ("es", "Spanish"),
        ("zh", "Chinese"),
        ("vi", "Vietnamese"),
        ("ru", "Russian"),
        ("ko", "Korean"),
        ("ar", "Arabic"),
        ("ht", "Haitian Creole"),
    )
}


def _omb(url: str, code: str, display: str) -> JSON:
    return {
        "url": url,
        "extension": [
            {
                "url": "ombCategory",
                "valueCoding": {"system": OMB_RACE_ETHNICITY, "code": code, "display": display},
            },
            {"url": "text", "valueString": display},
        ],
    }


RACE_EXTENSIONS: dict[str, JSON] = {
    key: _omb(US_CORE_RACE, code, display)
    for key, code, display in (
        ("white", "2106-3", "White"),
        ("black", "2054-5", "Black or African American"),
        ("asian", "2028-9", "Asian"),
        ("aian", "1002-5", "American Indian or Alaska Native"),
        ("nhpi", "2076-8", "Native Hawaiian or Other Pacific Islander"),
    )
}
ETHNICITY_EXTENSIONS: dict[bool, JSON] = {
    True: _omb(US_CORE_ETHNICITY, "2135-2", "Hispanic or Latino"),
    False: _omb(US_CORE_ETHNICITY, "2186-5", "Not Hispanic or Latino"),
}
INTERPRETER_EXTENSION: JSON = {"url": INTERPRETER_REQUIRED, "valueBoolean": True}
