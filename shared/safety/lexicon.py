"""Words the safety layers look for in a model's text: diagnoses (acute, and the long-term
conditions a history lists), common emergency-department drugs, and investigations.

Our own modest lists, written for what a medical model writes about a triage case. Words
match in any case; abbreviations only as written ("PE", not "pe"). Drugs the
drug-named-entity-recognition dictionary knows (shared.nlp.entities) are found there too;
this list adds the abbreviations and spellings it misses (GTN, ASA, TXA, pip-tazo).
"""

from __future__ import annotations

import re
from functools import cache

from shared.nlp.terms import term_pattern

Terms = dict[str, tuple[str, tuple[str, ...]]]

# Acute diagnoses a model may assert ("has pneumonia", "is having an MI").
ACUTE: Terms = {
    "pneumonia": (r"(?:community[- ]acquired\s+|aspiration\s+|lobar\s+)?pneumonia", ("CAP",)),
    "sepsis": (r"(?:severe\s+)?sepsis|septic\s+shock|septic(?:a)?emia|urosepsis", ()),
    "acute coronary syndrome": (r"acute\s+coronary\s+syndrome|unstable\s+angina", ("ACS",)),
    "myocardial infarction": (r"(?:acute\s+)?myocardial\s+infarction|heart\s+attack",
                              ("MI", "AMI", "STEMI", "NSTEMI")),
    "pulmonary embolism": (r"pulmonary\s+embol(?:ism|us)", ("PE",)),
    "deep vein thrombosis": (r"deep\s+ve(?:in|nous)\s+thrombosis", ("DVT",)),
    "stroke": (r"(?:acute\s+|isch(?:a)?emic\s+|ha?emorrhagic\s+)?stroke|"
               r"cerebrovascular\s+accident|transient\s+isch(?:a)?emic\s+attack", ("CVA", "TIA")),
    "subarachnoid haemorrhage": (r"subarachnoid\s+ha?emorrhage", ("SAH",)),
    "intracranial haemorrhage": (r"intracranial\s+(?:ha?emorrhage|bleed)|brain\s+bleed|"
                                 r"subdural\s+ha?ematoma", ("ICH", "SDH")),
    "aortic dissection": (r"(?:aortic|type\s+[AB])\s+dissection", ()),
    "aortic aneurysm": (r"(?:ruptured\s+)?(?:abdominal\s+)?aortic\s+aneurysm", ("AAA",)),
    "pneumothorax": (r"(?:tension\s+)?pneumothorax", ()),
    "appendicitis": (r"appendicitis", ()),
    "cholecystitis": (r"cholecystitis|biliary\s+colic|cholangitis", ()),
    "pancreatitis": (r"pancreatitis", ()),
    "bowel obstruction": (r"(?:small\s+|large\s+)?bowel\s+obstruction", ("SBO",)),
    "meningitis": (r"(?:bacterial\s+|viral\s+)?meningitis|meningococcal\s+\w+", ()),
    "encephalitis": (r"encephalitis", ()),
    "diabetic ketoacidosis": (r"(?:diabetic\s+)?ketoacidosis", ("DKA",)),
    "anaphylaxis": (r"anaphylaxis|anaphylactic\s+(?:shock|reaction)", ()),
    "ectopic pregnancy": (r"(?:ruptured\s+)?ectopic\s+pregnancy", ()),
    "urinary tract infection": (r"urinary\s+tract\s+infection", ("UTI",)),
    "pyelonephritis": (r"pyelonephritis", ()),
    "cellulitis": (r"cellulitis", ()),
    "fracture": (r"(?:(?:hip|wrist|ankle|femoral|rib|skull|vertebral|pelvic|open|displaced)\s+)?"
                 r"fracture", ()),
    "concussion": (r"concussion", ()),
    "torsion": (r"(?:testicular\s+|ovarian\s+)?torsion", ()),
    "renal colic": (r"renal\s+colic|kidney\s+stones?|nephrolithiasis|ureteric\s+(?:colic|stone)",
                    ()),
    "gastroenteritis": (r"gastroenteritis", ()),
    "exacerbation": (r"(?:acute\s+)?(?:asthma|COPD)\s+(?:exacerbation|attack|flare)|"
                     r"exacerbation\s+of\s+(?:asthma|COPD)|status\s+asthmaticus", ("AECOPD",)),
    "acute heart failure": (r"(?:acute\s+)?(?:decompensated\s+)?heart\s+failure|"
                            r"pulmonary\s+o?edema", ("AHF",)),
    "arrhythmia": (r"(?:ventricular|supraventricular)\s+tachycardia|arrhythmia|"
                   r"atrial\s+(?:fibrillation|flutter)", ("SVT", "VT", "AF", "AFib")),
    "hypoglycaemia": (r"hypoglyc(?:a)?emia", ()),
    "hyperkalaemia": (r"hyperkal(?:a)?emia", ()),
    "gastrointestinal bleed": (r"(?:upper\s+|lower\s+)?(?:GI|gastrointestinal)\s+(?:bleed|bleeding|"
                               r"ha?emorrhage)", ("UGIB", "LGIB")),
    "acute kidney injury": (r"acute\s+kidney\s+injury", ("AKI",)),
    "shock": (r"(?:cardiogenic|hypovol(?:a)?emic|distributive|obstructive|ha?emorrhagic)\s+shock",
              ()),
    "infection": (r"influenza|COVID(?:-19)?|bronchiolitis|croup|(?:upper\s+)?respiratory\s+tract\s+"
                  r"infection", ("URTI", "LRTI")),
    "seizure": (r"seizures?|status\s+epilepticus", ()),
}  # fmt: skip

# Long-term conditions: "has hypertension" is history, not a diagnosis made now.
CHRONIC: Terms = {
    "hypertension": (r"hypertension", ("HTN",)),
    "diabetes": (r"(?:type\s+[12]\s+)?diabetes(?:\s+mellitus)?", ("DM", "DM2", "T2DM", "T1DM")),
    "COPD": (r"chronic\s+obstructive\s+pulmonary\s+disease|emphysema", ("COPD",)),
    "asthma": (r"asthma", ()),
    "chronic kidney disease": (r"chronic\s+kidney\s+disease", ("CKD", "ESRD")),
    "coronary artery disease": (r"coronary\s+artery\s+disease|isch(?:a)?emic\s+heart\s+disease",
                                ("CAD", "IHD")),
    "epilepsy": (r"epilepsy", ()),
    "hyperlipidaemia": (r"hyperlipid(?:a)?emia|high\s+cholesterol", ("HLD",)),
    "dementia": (r"dementia|alzheimer'?s(?:\s+disease)?", ()),
    "depression": (r"depression", ("MDD",)),
    "cancer": (r"cancer|malignancy|carcinoma|lymphoma|leuka?emia", ()),
    "hypothyroidism": (r"hypothyroidism", ()),
    "arthritis": (r"(?:rheumatoid\s+|osteo)?arthritis", ("RA",)),
    "cirrhosis": (r"cirrhosis", ()),
    "HIV": (r"HIV|human\s+immunodeficiency\s+virus", ()),
}  # fmt: skip

# canonical (the dictionary's generic name, lower case) -> (words, abbreviations)
DRUGS: Terms = {
    "aspirin": (r"aspirin|acetylsalicylic\s+acid", ("ASA",)),
    "nitroglycerin": (r"nitroglycerine?|glyceryl\s+trinitrate|GTN\s+spray", ("GTN", "NTG")),
    "acetaminophen": (r"paracetamol|acetaminophen", ()),
    "albuterol": (r"salbutamol|albuterol|ventolin", ()),
    "ipratropium": (r"ipratropium|atrovent", ()),
    "epinephrine": (r"adrenaline|epinephrine|epi-?pen", ()),
    "norepinephrine": (r"noradrenaline|norepinephrine", ()),
    "tranexamic acid": (r"tranexamic\s+acid", ("TXA",)),
    "alteplase": (r"alteplase|tenecteplase|thrombolysis|thrombolytics?", ("tPA", "TNK")),
    "piperacillin-tazobactam": (r"piperacillin(?:[- ]tazobactam)?|pip[- ]?tazo|tazocin", ()),
    "ceftriaxone": (r"ceftriaxone", ()),
    "vancomycin": (r"vancomycin", ()),
    "amoxicillin": (r"amoxicillin|co-amoxiclav|augmentin", ()),
    "morphine": (r"morphine", ()),
    "fentanyl": (r"fentanyl", ()),
    "ketamine": (r"ketamine", ()),
    "naloxone": (r"naloxone|narcan", ()),
    "ondansetron": (r"ondansetron|zofran", ()),
    "metoclopramide": (r"metoclopramide", ()),
    "heparin": (r"heparin|enoxaparin|clexane|lovenox", ("LMWH", "UFH")),
    "lorazepam": (r"lorazepam|midazolam|diazepam|benzodiazepines?", ()),
    "levetiracetam": (r"levetiracetam|keppra", ()),
    "amiodarone": (r"amiodarone", ()),
    "adenosine": (r"adenosine", ()),
    "atropine": (r"atropine", ()),
    "furosemide": (r"furosemide|frusemide|lasix", ()),
    "prednisolone": (r"prednisolone|prednisone|dexamethasone|hydrocortisone|steroids?", ()),
    "insulin": (r"insulin", ()),
    "dextrose": (r"dextrose|glucagon|glucose\s+gel", ()),
    "clopidogrel": (r"clopidogrel|ticagrelor", ()),
    "warfarin": (r"warfarin|coumadin", ()),
    "apixaban": (r"apixaban|eliquis|rivaroxaban|xarelto|dabigatran", ("DOAC", "NOAC")),
    "metoprolol": (r"metoprolol|bisoprolol|atenolol|labetalol|beta[- ]blockers?", ()),
    "magnesium sulfate": (r"magnesium\s+sulph?ate", ("MgSO4",)),
    "haloperidol": (r"haloperidol|olanzapine", ()),
    "metformin": (r"metformin", ()),
    "ibuprofen": (r"ibuprofen|naproxen|NSAIDs?", ()),
}  # fmt: skip

INVESTIGATIONS: Terms = {
    "ECG": (r"electrocardiogram|12[- ]lead(?:\s+ECG)?", ("ECG", "EKG")),
    "troponin": (r"(?:high[- ]sensitivity\s+)?troponin|trop", ("hs-cTnT", "hsTnI")),
    "lactate": (r"lactate|lactic\s+acid", ()),
    "glucose": (r"(?:blood\s+)?glucose|blood\s+sugar|capillary\s+glucose", ("BGL", "BSL", "CBG")),
    "chest X-ray": (r"chest\s+(?:X-?ray|radiograph|film)", ("CXR",)),
    "CT": (r"CT(?:\s+(?:head|scan|chest|abdomen|angiogram|pulmonary\s+angiogram))?|"
           r"computed\s+tomography", ("CTPA", "CTA")),
    "X-ray": (r"X-?rays?|radiographs?", ()),
    "ultrasound": (r"ultrasound|sonograph\w*|FAST\s+scan|echocardiogra\w+", ("POCUS", "echo")),
    "blood count": (r"full\s+blood\s+count|complete\s+blood\s+count|white\s+(?:cell\s+)?count|"
                    r"ha?emoglobin", ("FBC", "CBC", "WBC", "WCC", "Hb")),
    "CRP": (r"C-reactive\s+protein", ("CRP",)),
    "D-dimer": (r"D-?dimer", ()),
    "INR": (r"international\s+normali[sz]ed\s+ratio", ("INR",)),
    "electrolytes": (r"potassium|sodium|electrolytes|creatinine|urea", ("K+", "U&E", "UEs", "BUN")),
    "blood gas": (r"(?:arterial|venous)\s+blood\s+gas|blood\s+gas", ("ABG", "VBG")),
    "ketones": (r"ketones", ()),
    "pregnancy test": (r"pregnancy\s+test|beta[- ]?hCG|urine\s+hCG", ("hCG", "bHCG", "UPT")),
    "urinalysis": (r"urinalysis|urine\s+dip(?:stick)?", ("UA",)),
    "blood cultures": (r"blood\s+cultures?", ()),
    "lipase": (r"lipase|amylase", ()),
    "BNP": (r"(?:NT-?pro)?BNP|natriuretic\s+peptide", ()),
}  # fmt: skip


def _alternatives(terms: Terms) -> str:
    parts = []
    for words, abbreviations in terms.values():
        parts.append(f"(?i:{words})")
        parts += [re.escape(a) for a in abbreviations]
    return "|".join(parts)


# One pattern for every diagnosis, for the framing rules to embed.
DIAGNOSIS = rf"(?<![\w/])(?:{_alternatives(ACUTE)}|{_alternatives(CHRONIC)})(?![\w/])"
ACUTE_DIAGNOSIS = rf"(?<![\w/])(?:{_alternatives(ACUTE)})(?![\w/])"


@cache
def patterns(kind: str) -> list[tuple[str, re.Pattern[str]]]:
    """(canonical name, pattern) for "acute", "chronic", "drug" or "investigation"."""
    table = {"acute": ACUTE, "chronic": CHRONIC, "drug": DRUGS, "investigation": INVESTIGATIONS}
    return [(name, term_pattern(w, a)) for name, (w, a) in table[kind].items()]


def find_terms(kind: str, text: str) -> list[tuple[str, int, int]]:
    """(canonical, start, end) of each term of one kind, longest first where they overlap."""
    found: list[tuple[str, int, int]] = []
    for name, pattern in patterns(kind):
        for m in pattern.finditer(text):
            found.append((name, m.start(), m.end()))
    found.sort(key=lambda f: (f[1], -(f[2] - f[1])))
    out: list[tuple[str, int, int]] = []
    for item in found:
        if not any(item[1] < e and s < item[2] for _, s, e in out):
            out.append(item)
    return out
