# ruff: noqa: E501  (the lexicon: one regular expression per line reads best)
"""Clinical findings in free text that the acuity rules ask about (CLINICAL.md v2), each with
its span and its ConText verdict. One combined pattern finds them all in a single pass; the
rules decide what a finding means together with the vital signs, the age and the other
findings (for example a headache is a red flag only when it is sudden or the worst ever).

The lexicon is ours, written for triage notes: clinical words, lay words, abbreviations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from shared.nlp.context import Asserted, ContextResult, assess_context
from shared.nlp.terms import expand_alternatives, first_letter

# finding id -> (label, words in any case, abbreviations matched case-sensitively).
# Order matters where phrases overlap: the first alternative that matches at a place wins,
# so the specific phrase ("vomiting blood") comes before the general one ("vomiting").
FINDINGS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # Level 1: arrest and airway
    "cardiac_arrest": (
        "cardiac or respiratory arrest",
        r"(?:cardiac|cardiopulmonary|respiratory|resp)\s+arrest|(?:went|goes|is|was)\s+into\s+arrest|"
        r"in\s+(?:cardiac\s+)?arrest|"
        # Not a limb's pulses: "pulseless L foot", "no pulses palpable in the foot" are ischaemia.
        r"pulseless(?!\s+(?:and\s+\w+\s+)?(?:\w+\s+)?(?:limb|leg|arm|foot|feet|hand|extremit\w*|toe\w*|"
        r"finger\w*|digit\w*))|no\s+pulse(?!s)(?!\s+(?:palpable\s+)?(?:in|to|at|on|below)\s)|"
        r"cpr\s+(?:in\s+progress|ongoing|started)|chest\s+compressions|"
        r"code\s+blue|defibrillated|asystole|v-?fib|ventricular\s+fibrillation|"
        r"return\s+of\s+(?:spontaneous\s+)?circulation",
        ("CPR", "ROSC", "VF", "PEA"),
    ),
    "apnoea": (
        "apnoeic or not breathing",
        r"apn(?:o)?eic|apn(?:o)?ea|not\s+breathing|stopped\s+breathing|agonal\s+(?:breathing|resp\w*)",
        (),
    ),
    "life_saving_intervention": (
        "an immediate life-saving intervention under way",
        r"(?:external(?:ly)?|transcutaneous(?:ly)?)\s+pac(?:ing|ed)|pacing\s+(?:him|her|the\s+patient)|"
        r"pacer\s+pads|cardioverted|(?:synchroni[sz]ed\s+)?cardioversion|needle\s+decompress\w*|"
        r"bag[- ]valve[- ]mask|assist(?:ed|ing)\s+ventilations?|"
        r"(?:push[- ]dose|IV|IO)\s+(?:epinephrine|adrenaline)|massive\s+transfusion",
        ("BVM",),
    ),
    "intubated": ("intubated", r"intubated|ventilated\s+by\s+bag|bag(?:ged|-valve)", ()),
    "seizing": (
        "seizing now",
        r"(?:actively\s+|currently\s+|still\s+)?(?:seizing|convulsing|fitting)|"
        r"status\s+epilepticus|seizure\s+(?:ongoing|in\s+progress|activity\s+ongoing)|"
        r"ongoing\s+seizure|continuous\s+seizure",
        (),
    ),
    "post_ictal": ("post-ictal", r"post[- ]?ictal|post[- ]seizure", ()),
    "seizure": (
        "seizure",
        r"seizures?|convulsions?|fits?\b(?!\s+(?:of|in))|tonic[- ]clonic|"
        r"grand\s+mal|epileptic\s+(?:fit|attack|episode)",
        ("Sz",),
    ),
    "uncontrolled_bleeding": (
        "uncontrolled major bleeding",
        r"(?:uncontrolled|massive|profuse|torrential|arterial|pulsatile|spurting|life[- ]threatening)"
        r"\s+(?:bleeding|ha?emorrhage|blood\s+loss)|bleeding\s+(?:heavily|profusely|uncontrollably)|"
        r"(?:won'?t|will\s+not|does\s+not|doesn'?t|cannot|can'?t)\s+stop\s+(?:the\s+)?bleeding|"
        r"bleeding\s+(?:won'?t|will\s+not|does\s+not|doesn'?t)\s+stop|"
        r"spurting|pumping\s+(?:out\s+)?blood|bleeding\s+through\s+(?:\w+\s+){0,2}"
        r"(?:dressings?|bandages?)|soaking\s+(?:through\s+)?(?:\w+\s+){0,2}(?:pads?|dressings?|towels?)|"
        r"clots\s+the\s+size\s+of",
        (),
    ),
    "controlled_bleeding": (
        "major bleeding, now controlled",
        r"bleeding\s+(?:is\s+)?(?:now\s+|currently\s+)?(?:controlled|under\s+control)|"
        r"controlled\s+(?:with\s+|by\s+)?(?:a\s+|the\s+)?(?:direct\s+)?(?:pressure|tourniquet)|"
        r"(?:now|since)\s+controlled(?!\s+(?:with|by)\s)|tourniquet",
        (),
    ),
    "major_bleeding_word": (
        "major bleeding",
        r"major|massive|heavy|heavily|significant|large\s+(?:amount|volume)|arterial|pulsatile|"
        r"lots\s+of\s+blood|blood\s+everywhere|pool\s+of\s+blood|tourniquet|soaked",
        (),
    ),
    "gi_bleed": (
        "vomiting blood or black, tarry stools",
        r"(?:vomit\w*|throw\w*\s+up|threw\s+up|coughing\s+up)\s+(?:up\s+)?(?:bright\s+red\s+)?blood|"
        r"bloody\s+(?:vomit\w*|emesis)|ha?ematemesis|coffee[- ]grounds?(?:\s+\w+)?|"
        r"mela?ena|(?:black|tarry|black\s+and\s+tarry|black,?\s+tarry|maroon)\s*"
        r"(?:-colou?red\s+)?(?:stools?|poo+p?s?|bowel\s+movements?|BMs?)|"
        r"upper\s+GI\s+bleed\w*|GI\s+bleed\w*|variceal\s+bleed\w*",
        ("GIB", "UGIB"),
    ),
    "rectal_bleeding": (
        "rectal bleeding",
        r"rectal\s+bleed\w*|bleeding\s+(?:from\s+(?:the\s+|his\s+|her\s+)?)?(?:rectum|back\s+passage|bottom)|"
        r"blood\s+(?:in|with)\s+(?:the\s+|his\s+|her\s+)?(?:stools?|poo+p?|bowel\s+movements?)|"
        r"bloody\s+(?:stools?|diarrh(?:o)?ea|bowel\s+movements?)|bright\s+red\s+blood\s+per\s+rectum|"
        r"ha?ematochezia|lower\s+GI\s+bleed\w*",
        ("BRBPR", "PR bleed", "PR bleeding", "LGIB"),
    ),
    # Anaphylaxis and airway
    "anaphylaxis": (
        "anaphylaxis",
        r"anaphyla(?:xis|ctic\w*)|(?:used|gave|given|took|administered)\s+(?:(?:his|her|an?|their)\s+)?"
        r"(?:epi-?pen|epinephrine|adrenaline|auto-?injector)|epi-?pen\s+(?:given|used)",
        (),
    ),
    "allergic_reaction": (
        "allergic reaction",
        r"allergic\s+reaction|(?:severe\s+)?allerg(?:y|ic)\s+to\s+\w+\s+and\s+(?:ate|took|was\s+stung)|"
        r"stung|wasp|hornet|ate\s+(?:\w+\s+){0,4}(?:containing|with|that\s+contained)\s+(?:\w+\s+)?"
        r"(?:peanuts?|nuts?|shellfish|shrimp|prawns?)|bee\s+sting|wasp\s+sting|stung\s+by",
        (),
    ),
    "airway_swelling": (
        "tongue, lip or throat swelling",
        r"(?:tongue|lips?|throat|uvula|face|facial)\s+(?:is\s+|are\s+)?(?:swelling|swollen)|"
        r"swollen\s+(?:tongue|lips?|throat|uvula)|swelling\s+(?:of|in)\s+(?:the\s+|his\s+|her\s+)?"
        r"(?:tongue|lips?|throat|mouth)|angioedema|throat\s+(?:is\s+|was\s+)?(?:closing|tight)|"
        r"throat\s+(?:start(?:ed|ing)?|began)\s+to\s+close|(?:can'?t|cannot|unable\s+to)\s+swallow",
        (),
    ),
    "voice_change": (
        "hoarse voice, stridor or voice change",
        r"hoarse(?:ness)?|stridor(?:ous)?|voice\s+change|change\s+in\s+(?:his\s+|her\s+)?voice|"
        r"muffled\s+voice|hot\s+potato\s+voice",
        (),
    ),
    "wheeze": ("wheeze", r"wheez\w*", ()),
    "distressed": (
        "in distress",
        r"(?:in|with|very|visibly|obviously|acutely)\s+distress(?:ed)?|distressed",
        (),
    ),
    # Breathing
    "severe_resp_distress": (
        "severe respiratory distress",
        r"severe\s+(?:respiratory\s+distress|shortness\s+of\s+breath|dyspn(?:o)?ea|resp\w*\s+distress)|"
        r"(?:cannot|can'?t|unable\s+to)\s+(?:speak|talk|complete\s+(?:a\s+)?sentences?)|"
        r"(?:only\s+)?(?:speaking|speaks|talking|answers?)\s+(?:in\s+)?(?:single|one|1|2|two)[- ]words?|"
        r"(?:can\s+)?(?:only\s+)?speak\s+(?:in\s+)?(?:single|one|1|2|two)[- ]words?|"
        r"(?:only\s+)?able\s+to\s+(?:say|speak|talk\s+in)\s+(?:only\s+)?(?:single|one|1|2|two|a\s+few)"
        r"[- ]words?|(?:says?|saying)\s+(?:only\s+)?(?:single|one|1|2|two)[- ]words?|"
        r"single[- ]word\s+(?:answers|sentences|responses|speech|dyspn(?:o)?ea)|"
        r"one[- ]word\s+(?:answers|sentences|responses)|silent\s+chest|cyanos(?:ed|is)|cyanotic|"
        r"blue\s+(?:lips|around\s+the\s+(?:lips|mouth))|(?:lips|face)\s+(?:are\s+|is\s+|turning\s+)?blue|"
        r"gasping(?:\s+for\s+(?:air|breath))?|exhausted\s+(?:from|with)\s+(?:breathing|the\s+work)|"
        r"tiring|(?:is\s+)?tired\s+from\s+breathing",
        (),
    ),
    "moderate_resp_distress": (
        "increased work of breathing",
        r"(?:increased|significant|moderate)\s+work\s+of\s+breathing|"
        r"(?:working|works)\s+hard\s+(?:at|to)\s+breath\w*|labou?red\s+(?:breathing|respirations?)|"
        r"(?:in\s+)?(?:moderate\s+|significant\s+|mild\s+)?(?:respiratory|resp)\s+distress|"
        r"(?:speaking|talking|speaks)\s+in\s+(?:short\s+)?phrases|short\s+phrases|tripod\w*|"
        r"accessory\s+(?:muscles?|muscle\s+use)|(?:intercostal|subcostal|sternal|tracheal)\s+"
        r"(?:recession|retractions?|tug\w*)|retractions|recession|nasal\s+flaring|grunting|"
        r"(?:hard|difficult)\s+time\s+breathing|struggling\s+to\s+breathe",
        ("WOB",),
    ),
    "dyspnoea": (
        "shortness of breath",
        r"short(?:ness)?\s+(?:of|of\s+the)\s+breath|dyspn(?:o)?ea|dyspn(?:o)?eic|breathless\w*|"
        r"difficulty\s+breathing|trouble\s+breathing|(?:breathing\s+)?difficult(?:y|ies)\s+"
        r"(?:with\s+)?breath\w*|hard\s+to\s+breathe|harder\s+(?:for\s+(?:him|her)\s+)?to\s+breathe|"
        r"out\s+of\s+breath|winded|(?:cannot|can'?t|couldn'?t|could\s+not)\s+breathe",
        ("SOB", "SOBOE", "DOE", "DIB"),
    ),
    # Circulation and perfusion
    "poor_perfusion": (
        "signs of poor perfusion",
        r"mottl\w+|(?:pale|cool|cold|clammy|ashen|grey|gray)(?:,?\s+(?:and\s+)?"
        r"(?:pale|cool|cold|clammy|diaphoretic|sweaty|ashen|grey|gray))*\s+"
        r"(?:and\s+)?(?:skin|peripheries|extremities|hands|feet)|"
        r"(?:skin|peripheries|extremities)\s+(?:is\s+|are\s+)?(?:pale|cool|cold|clammy|mottled|ashen)|"
        r"cool\s+(?:and|&)\s+(?:clammy|diaphoretic)|cold\s+(?:and|&)\s+clammy|pale\s+(?:and|&)\s+"
        r"(?:clammy|sweaty|diaphoretic)|clammy|ashen|(?:weak|thready)\s+(?:and\s+thready\s+)?pulses?|"
        r"pulses?\s+(?:is\s+|are\s+)?(?:weak|thready)|(?:delayed|prolonged|sluggish)\s+"
        r"(?:cap(?:illary)?\s+refill|CRT)|(?:oximeter|sats?\s+probe|pulse\s+ox)\s+"
        r"(?:cannot|can'?t|unable\s+to|won'?t|will\s+not|not|is\s+not|isn'?t)\s+"
        r"(?:read(?:ing)?|pick(?:ing)?\s+up|register(?:ing)?)|"
        r"(?:cap(?:illary)?\s+refill|CRT)(?:\s+time)?\s*(?:of|is|was|:|=)?\s*"
        r"(?:(?:>|more\s+than|over|greater\s+than)\s*[3-9]|3\.[1-9]|[4-9]|[1-9]\d)(?:\.\d+)?\s*"
        r"(?:s|secs?|seconds)|"
        r"unable\s+to\s+(?:obtain|get)\s+(?:a\s+)?(?:sats?|spo2|pulse\s+ox)",
        (),
    ),
    "pale": ("pale", r"pale|pallor|pallid", ()),
    "diaphoresis": (
        "sweating",
        r"diaphore(?:sis|tic)|sweat(?:y|ing)|sweats|clammy|drenched\s+in\s+sweat",
        (),
    ),
    "collapse": (
        "collapse or fainting",
        r"collaps\w+|syncop\w*|passed\s+out|pass(?:ing)?\s+out|faint\w*|blacked\s+out|black[- ]?out|"
        r"(?:near|pre)[- ]?syncop\w*|lost\s+consciousness|loss\s+of\s+consciousness|"
        r"knocked\s+(?:out|unconscious)",
        ("LOC",),
    ),
    "dizziness": (
        "dizziness or light-headedness",
        r"dizz\w+|light[- ]?headed\w*|vertigo|woozy|giddy",
        (),
    ),
    # Consciousness
    "altered_mental": (
        "new confusion, lethargy or disorientation",
        r"(?:acute(?:ly)?\s+|new(?:ly)?\s+|increasing(?:ly)?\s+|more\s+)?confus(?:ed|ion)|"
        r"disorient(?:ed|ation)|altered\s+(?:mental\s+status|mentation|level\s+of\s+consciousness|"
        r"consciousness|mental\s+state|sensorium)|change\s+in\s+(?:mental\s+status|mentation|"
        r"behaviou?r|(?:level\s+of\s+)?consciousness)|lethargi?c?|letharg(?:y|ic)|obtunded|"
        r"somnolent|drows(?:y|iness)|hard\s+to\s+(?:rouse|wake)|difficult\s+to\s+(?:rouse|wake)|"
        r"not\s+(?:acting\s+)?(?:like\s+)?(?:him|her|them)sel(?:f|ves)|sleeping\s+more\s+than\s+usual|"
        r"(?:not\s+making\s+sense|talking\s+nonsense)|(?:delirium|delirious)|"
        r"(?:decreased|reduced|depressed)\s+(?:level\s+of\s+consciousness|LOC|GCS)",
        ("AMS", "ALOC"),
    ),
    "unresponsive": (
        "unresponsive",
        r"unresponsive(?:ness)?|unrousable|unarousable|unconscious(?:ness)?|not\s+responding|"
        r"(?:does\s+not|doesn'?t)\s+"
        r"respond(?!\s+to\s+(?:pain|painful|treatment|medication|tylenol|\w+in\b))|"
        r"(?:no|not)\s+respon(?:se|sive)\s+to\s+(?:voice|verbal|pain)",
        (),
    ),
    # Neurological
    "stroke_signs": (
        "new stroke signs (BE-FAST)",
        r"(?:facial|face|mouth|lip)\s+(?:is\s+)?droop\w*|(?:corner\s+of\s+(?:the|his|her|my)\s+mouth"
        r"\s+(?:is\s+)?droop\w*)|droop(?:ing|y)\s+(?:face|mouth|smile|eyelid)|"
        r"slurr\w+\s+(?:speech|words)|speech\s+(?:is\s+)?slurr\w+|slurring|aphasi\w+|dysarthri\w+|"
        r"word[- ]finding\s+difficult\w*|(?:trouble|difficulty)\s+(?:speaking|talking|finding\s+words)|"
        r"(?:(?:left|right|one)[- ]sided|unilateral|(?:left|right|l|r|lt|rt)\.?)\s+"
        r"(?:arm\s+|leg\s+|facial\s+|face\s+|body\s+|side\s+)?(?:weakness|numbness|paralysis|drift)|"
        r"(?:weakness|numbness|paralysis)\s*,?\s+(?:(?:of|in)\s+(?:the\s+)?)?(?:left|right|lt\.?|rt\.?|"
        r"one)\s+(?:side|arm|leg)|(?:arm|leg)\s+(?:weakness|drift)|pronator\s+drift|"
        r"hemi(?:paresis|plegia|anopia)|(?:new\s+)?double\s+vision|diplopia|"
        r"(?:sudden\s+)?(?:loss\s+of\s+vision|vision\s+loss)|(?:can'?t|cannot|could\s*n'?t|unable\s+to)"
        r"\s+see\s+(?:out\s+of|with)|stroke|(?:brain\s+attack)|(?:can'?t|cannot)\s+close\s+"
        r"(?:(?:his|her|my|the)\s+)?(?:left|right)\s+eye|ataxi\w+|(?:loss\s+of|off)\s+balance|"
        r"unsteady\s+(?:gait|on\s+(?:his|her)\s+feet)",
        ("CVA", "TIA", "FAST+", "BEFAST+"),
    ),
    "headache": (
        "headache",
        r"head\s*aches?|head\s+pain|pain\s+(?:in\s+(?:the|his|her|my)\s+)?head|cephalgia|"
        r"pain,\s+head|migraine",
        ("HA", "H/A"),
    ),
    "neck_stiffness": (
        "neck stiffness",
        r"(?:neck\s+(?:is\s+)?stiff(?:ness)?|stiff\s+neck|nuchal\s+rigidity|meningism(?:us)?|"
        r"(?:can'?t|cannot|unable\s+to)\s+(?:bend|flex|move)\s+(?:(?:his|her|my)\s+)?neck|"
        r"(?:kernig|brudzinski)\w*\s+(?:sign\s+)?positive|positive\s+(?:kernig|brudzinski))",
        (),
    ),
    "photophobia": (
        "photophobia",
        r"photophobi\w+|light\s+(?:hurts|bothers|sensitivity)|sensitiv\w+\s+to\s+light",
        (),
    ),
    "non_blanching_rash": (
        "non-blanching rash",
        r"non[- ]?blanch\w*|petechia\w*|purpur\w*|(?:rash|spots)\s+(?:that\s+)?(?:does\s+not|doesn'?t)"
        r"\s+(?:blanch|fade)|(?:does\s+not|doesn'?t|do\s+not|don'?t)\s+(?:blanch|fade)\s+"
        r"(?:under|with)\s+(?:a\s+)?(?:glass|pressure)|glass\s+test",
        (),
    ),
    "rash": ("rash", r"rash(?:es)?|hives|urticaria", ()),
    # Known diagnoses sent in (a transfer, a result): ESI high risk, beyond CLINICAL.md
    "intracranial_bleed": (
        "bleeding in or around the brain",
        r"(?:intra[- ]?cranial|intra[- ]?cerebral|subarachnoid|sub[- ]?dural|extra[- ]?dural|"
        r"epidural|intra[- ]?parenchymal|intra[- ]?ventricular)\s+(?:ha?emorrhag\w*|bleed\w*|"
        r"ha?ematoma|blood(?!\s+patch))|(?:brain|head|cerebral)\s+bleed\w*|bleed\w*\s+(?:in|on|into)\s+"
        r"(?:the\s+|his\s+|her\s+)?brain|ha?emorrhagic\s+(?:stroke|CVA)",
        ("ICH", "SAH", "SDH", "EDH", "IPH", "IVH"),
    ),
    "aortic_emergency": (
        "aortic dissection or a leaking aneurysm",
        r"(?:aortic|aorta)\s+dissection|dissect\w+\s+(?:(?:thoracic|abdominal)\s+)?aort\w+|"
        r"type\s+[AB]\s+dissection|(?:ruptured|rupturing|leaking|symptomatic)\s+(?:abdominal\s+)?"
        r"(?:aortic\s+)?(?:aneurysm|AAA)",
        (),
    ),
    "cord_compression": (
        "spinal cord or cauda equina compression",
        r"(?:spinal\s+)?cord\s+compression|cauda\s+equina(?:\s+syndrome)?|saddle\s+"
        r"(?:an(?:a)?esthesia|numbness|paraesthesia|paresthesia)",
        ("CES", "MSCC"),
    ),
    "electrical_injury": (
        "electrical injury",
        r"electrocut\w*|electric(?:al)?\s+(?:shock|injury|injuries|burns?|current)"
        r"(?![- ]?(?:like|type|sensations?|feelings?|pains?))|"
        r"lightning\s+strike|struck\s+by\s+lightning|high[- ]voltage\s+(?:\w+\s+)?(?:injury|shock|"
        r"burns?|line|cable|wire)",
        (),
    ),
    "raised_troponin": (
        "raised troponin or a known myocardial infarction",
        r"(?:elevated|raised|high(?![- ]sensitiv)|positive|rising|abnormal|increased|up-?trending)\s+"
        r"(?:hs-?|high[- ]sensitivity\s+)?trop(?:onin)?s?\b|trop(?:onin)?s?\s+(?:is\s+|was\s+)?"
        r"(?:elevated|raised|high(?![- ]sensitiv)|positive|rising|leak|bump|up)|"
        r"(?:non[- ]ST[- ]elevation|ST[- ]elevation)\s+(?:myocardial\s+infarction|MI)",
        ("STEMI", "NSTEMI"),
    ),
    "head_injury": (
        "head injury",
        r"head\s+(?:injury|injuries|trauma|strike|lac\w*|wound)|(?:hit|struck|bumped|banged|knocked)"
        r"\s+(?:(?:his|her|their|my|the)\s+)?head|head\s+(?:hit|struck)|(?:injured|cut)\s+"
        r"(?:(?:his|her|my)\s+)?head|scalp\s+lac\w*|(?:forehead|occipital|frontal)\s+(?:lac\w*|"
        r"ha?ematoma|wound|injury|bruis\w*)|lac\w*\s+(?:to|on)\s+(?:the\s+|his\s+|her\s+)?"
        r"(?:head|forehead|scalp)|concussion",
        ("HI", "TBI"),
    ),
    "unwitnessed_fall": (
        "unwitnessed fall",
        r"unwitnessed\s+fall|unwitnessed(?=\s*[,.;]|\s*$)|found\s+(?:down|on\s+(?:the\s+)?(?:\w+\s+)?"
        r"floor|on\s+(?:the\s+)?ground|"
        r"collapsed|lying\s+on)|long\s+lie|(?:lying|was\s+on)\s+the\s+floor\s+(?:for|overnight)|"
        r"(?:doesn'?t|does\s+not|can'?t|cannot|unable\s+to)\s+(?:remember|recall)\s+"
        r"(?:the\s+fall|falling|what\s+happened|how\s+(?:he|she)\s+fell)",
        (),
    ),
    "head_injury_excluded": (
        "head injury excluded on examination",
        r"(?:did\s+not|didn'?t)\s+hit\s+(?:(?:his|her|their)\s+)?head|no\s+head\s+(?:injury|strike|"
        r"trauma)|head\s+injury\s+excluded|head\s*:?\s*no\s+(?:(?:signs?\s+of\s+)?(?:injury|injuries|"
        r"trauma)|bruising|lacerations?|ha?ematoma)|(?:head|scalp)\s+(?:is\s+)?atraumatic|atraumatic\s+"
        r"(?:head|scalp)|normocephalic,?\s+(?:and\s+)?atraumatic",
        ("NCAT",),
    ),
    "anticoagulant": (
        "anticoagulant or antiplatelet drug",
        r"warfarin|coumadin|apixaban|eliquis|rivaroxaban|xarelto|dabigatran|pradaxa|edoxaban|"
        r"savaysa|lixiana|heparin|enoxaparin|lovenox|clexane|dalteparin|fragmin|fondaparinux|"
        r"clopidogrel|plavix|ticagrelor|brilinta|prasugrel|effient|aspirin|"
        r"anti-?coagula\w+|anti-?platelets?|blood[- ]?thinners?|thin\s+(?:his|her|the)\s+blood",
        ("ASA", "DOAC", "NOAC", "INR"),
    ),
    "vomiting": (
        "vomiting",
        r"vomit\w*|throw(?:ing)?\s+up|threw\s+up|emesis|retching|emetic",
        ("N/V", "N&V", "NV"),
    ),
    "repeated_vomiting": (
        "repeated vomiting",
        r"(?:repeated|persistent|multiple|several|recurrent|continuous|intractable|numerous)\s+"
        r"(?:episodes\s+of\s+)?(?:vomit\w*|emesis)|vomit\w*\s+(?:x\s*|times\s*)?(?:[2-9]|\d\d)"
        r"(?:\s*times)?|vomit\w*\s+(?:twice|three|four|five|several|multiple|repeatedly)|"
        r"(?:[2-9]|two|three|four|five|six)\s+(?:times|episodes)\s+of\s+(?:vomit\w*|emesis)",
        (),
    ),
    # Infection and fever words
    "fever_word": (
        "fever",
        r"fevers?|febrile|pyrexi\w+|high\s+temp(?:erature)?|hot\s+to\s+(?:the\s+)?touch|rigou?rs|"
        r"chills",
        (),
    ),
    "infection": (
        "infection named",
        r"infect\w*|sepsis|septic\w*|urosepsis|pneumonia|cellulitis|abscess\w*|pyelo\w*|"
        r"meningitis|cholangitis|urinary\s+tract\s+infection|(?:hurts|burns|burning|pain)\s+"
        r"(?:to|when\s+(?:I|she|he)|on|with)\s+(?:pee|urinat\w+)|dysuria|productive\s+cough|"
        r"(?:wound|incision)\s+(?:is\s+)?(?:red|hot|oozing|draining|discharging)|pus|"
        r"necroti[sz]ing|osteomyelitis|endocarditis|peritonitis|appendicitis|cystitis",
        ("UTI", "CAP", "HAP", "SSTI"),
    ),
    "sepsis_word": ("sepsis", r"sepsis|septic(?:\s+shock)?|urosepsis", ()),
    # Lay words for an infection in the blood: an infection, not a poisoning and not (yet) a
    # clinician's sepsis (read before "poisoning").
    "blood_poisoning": ("blood poisoning (an infection)", r"blood\s+poisoning", ()),
    # Food poisoning is a gastrointestinal illness, not a poisoning (read before "poisoning").
    "food_poisoning": ("food poisoning", r"food\s+poisoning", ()),
    "anuria": (
        "no urine for 18 hours",
        r"anuri\w+|no\s+urine(?:\s+output)?|(?:hasn'?t|has\s+not|not)\s+(?:passed\s+urine|peed|"
        r"urinated|voided)|no\s+wet\s+nappies|no\s+wet\s+diapers",
        (),
    ),
    "immunosuppressed": (
        "immunosuppression",
        r"chemo(?:therapy)?|on\s+chemo|transplant\w*|neutropeni\w+|immuno(?:suppress|compromis)\w*|"
        r"(?:long[- ]term|chronic|high[- ]dose)\s+(?:oral\s+)?(?:steroids|prednis\w+|dexamethasone)|"
        r"(?:on|takes|taking)\s+(?:daily\s+)?prednis\w+|tacrolimus|cyclosporin\w*|ciclosporin|"
        r"mycophenolate|methotrexate|azathioprine|biologics?|rituximab",
        (),
    ),
    # Chest pain features
    "chest_pain": (
        "chest pain or discomfort",
        r"chest\s+(?:pain|pressure|tightness|heaviness|discomfort|ache|squeezing|burning|"
        r"hurts|hurting|is\s+(?:tight|heavy|hurting))|(?:pain|pressure|tightness|heaviness|"
        r"discomfort|ache)\s+(?:in|across|over|to)\s+(?:the\s+|his\s+|her\s+|my\s+)?(?:chest|sternum)|"
        r"(?:pain|discomfort|pressure),\s+chest|(?:crushing|substernal|retrosternal|central|"
        r"pleuritic|anginal?|cardiac)\s+(?:chest\s+)?(?:pain|pressure|discomfort|tightness)|"
        r"angina|(?:tight|heavy)\s+chest|(?:elephant|weight)\s+on\s+(?:the\s+|my\s+|his\s+|her\s+)?chest",
        ("CP",),
    ),
    "acs_features": (
        "features of acute coronary syndrome",
        r"crushing|squeezing|radiat\w+\s+(?:down\s+|up\s+|in)?(?:to\s+)?(?:the\s+|his\s+|her\s+|my\s+)?"
        r"(?:left\s+|right\s+|l\s+|r\s+|both\s+)?(?:arms?|jaw|neck|back|shoulders?)|"
        r"(?:left\s+|l\s+)?(?:arm|jaw)\s+(?:pain|numbness|heaviness)|elephant|"
        r"(?:STEMI|ST\s+elevation|ischemic\s+changes|ischaemic\s+changes)",
        ("STEMI", "NSTEMI", "ACS"),
    ),
    "chest_wall_cause": (
        "chest-wall cause",
        r"reproducible(?:\s+(?:on|with)\s+palpation)?|tender(?:ness)?\s+(?:to|on)\s+palpation|"
        r"chest\s+wall\s+(?:pain|tenderness|injury|strain)|(?:rib|costochondral)\s+"
        r"(?:injury|fracture|pain|tenderness)|costochondritis|(?:worse|hurts)\s+(?:on|with)\s+"
        r"(?:palpation|pressing|movement|moving\s+(?:his|her)\s+arm)|pulled\s+a\s+muscle|muscle\s+strain",
        (),
    ),
    "tearing_pain": (
        "tearing or ripping pain",
        r"tearing|ripping|(?:ripp|tear)\w*\s+(?:me\s+)?apart",
        (),
    ),
    # Mental health and toxicology
    "suicidal": (
        "suicidal thoughts",
        r"suicid\w+|wants?\s+to\s+(?:die|end\s+(?:it|(?:his|her|my)\s+life))|kill\s+(?:him|her|my|them)"
        r"sel(?:f|ves)|(?:hurt(?:ing)?|harm(?:ing)?)\s+(?:him|her|my|them)sel(?:f|ves)|self[- ]harm\w*|"
        r"self[- ]inflicted|end\s+(?:his|her|my)\s+life|(?:better\s+off|not\s+want\s+to\s+live)\s*dead|"
        r"does\s*n[o']t\s+want\s+to\s+(?:live|be\s+alive)|(?:slash|slit|cut)\w*\s+"
        r"(?:(?:his|her|my|their|both)\s+)?(?:wrists?|throat)|hang(?:ing)?\s+(?:him|her|my)self|tried\s+to\s+(?:hang|kill)",
        ("SI", "DSH", "SH"),
    ),
    "overdose": (
        "overdose or poisoning",
        r"over\s*dos\w*|poison\w*|ingest\w*|(?:found\s+with\s+)?(?:an?\s+)?empty\s+(?:pill\s+|"
        r"medication\s+|tablet\s+)?(?:bottles?|packets?|blister\s+packs?)(?:\s+of\s+(?:\w+\s+){0,3}"
        r"(?:pills|tablets|medication|\w+))?|(?:took|swallowed|taken)\s+(?:about\s+|around\s+)?"
        r"(?:\d{2,3}|an?\s+unknown\s+(?:number|amount))\s+(?:\w+['\u2019]?s?\s+){0,2}\w+|(?:took|swallowed|taken|drank|ate)\s+(?:a\s+(?:whole\s+)?|"
        r"the\s+(?:whole\s+|entire\s+)?|an?\s+entire\s+|all\s+(?:of\s+)?(?:(?:his|her|my|the)\s+)?|"
        r"(?:about\s+|approx\w*\s+|around\s+)?\d+\s+|(?:eight|ten|twenty|thirty|fifty|several|"
        r"many|a\s+handful\s+of|a\s+lot\s+of)\s+)(?:\w+\s+){0,3}(?:tabs?|tablets?|pills?|capsules?|"
        r"bottle|pack\w*)|toxic\s+ingestion|(?:drank|swallowed)\s+(?:bleach|antifreeze|"
        r"cleaning|detergent|weed\s*killer|paraquat|pesticide)|"
        r"(?:narcan|naloxone)(?!\s+(?:nasal\s+spray\s+)?(?:kits?|prescription|refill|script|"
        r"training|supply|at\s+home))",
        ("OD", "TOX"),
    ),
    "overdose_intent": (
        "with intent, or unknown substance or amount",
        r"intention\w*|on\s+purpose|deliberate\w*|to\s+(?:die|kill|end)|want(?:s|ed)?\s+to\s+die|"
        r"after\s+(?:an?\s+)?(?:argument|fight|row|break[- ]?up)|empty\s+(?:\w+\s+)?(?:bottles?|packets?)|"
        r"suicid\w+|unknown\s+(?:amount|quantity|number|substance|pills?|tablets?|drug|medication)|"
        r"(?:doesn'?t|does\s+not|don'?t|unsure)\s+(?:know|sure)\s+(?:what|how\s+many|how\s+much)|"
        r"(?:unsure|not\s+sure)\s+(?:what|how\s+(?:many|much))",
        (),
    ),
    "suicide_plan": (
        "intent, plan or lethal means",
        r"plan(?:ned|s)?\s+to|(?:has|with|had|a|specific|detailed)\s+(?:a\s+)?plan|intent\w*|"
        r"(?:gun|firearm|rope|knife|pills|overdose|bridge|jump\w*)|wrote\s+a\s+(?:suicide\s+)?note|"
        r"goodbye|attempt\w*",
        (),
    ),
    "lethal_means": (
        "lethal means",
        r"(?:to|on|of)\s+(?:the\s+|his\s+|her\s+)?(?:neck|throat)|deep\s+(?:cuts?|lac\w*|wounds?)|"
        r"gun|firearm|rope|ligature|noose|hanging|overdose|pills|razor(?:\s+blades?)?|blades?|"
        r"knife|knives|scalpel",
        (),
    ),
    "homicidal": (
        "homicidal thoughts",
        r"homicid\w+|(?:wants?|going|threaten\w*)\s+to\s+(?:kill|hurt|harm|stab|shoot)\s+"
        r"(?:his|her|my|their|the|someone|somebody|people|others|him|them)",
        ("HI",),
    ),
    # Injury mechanisms
    "high_risk_mechanism": (
        "high-risk mechanism of injury",
        r"(?:fell|fall(?:en)?|jumped)\s+(?:\w+\s+){0,3}(?:from|off|out\s+of)\s+(?:a\s+|the\s+|his\s+|her\s+)?"
        r"(?:\w+\s+){0,2}(?:ladder|roof|balcony|scaffold\w*|window|height|tree|bridge|building|"
        r"wall|cliff|horse|stairs?|flight)|(?:fell|fall(?:en)?)\s+down\s+(?:a\s+|the\s+)?"
        r"(?:\w+\s+)?(?:flight\s+of\s+)?(?:stairs|steps)|(?:rolled\s+over|roll-?over)|"
        r"eject\w+|(?:pedestrian|ped|cyclist|bicyclist|motorcyclist)\s+(?:\w+\s+){0,2}"
        r"(?:struck|hit|vs\.?|versus|knocked)|(?:struck|hit|knocked\s+(?:down|over))\s+by\s+"
        r"(?:a\s+|an\s+)?(?:car|vehicle|truck|bus|van|auto\w*|train)|"
        r"(?:high[- ]speed|head[- ]on)\s+(?:collision|crash|MVC|MVA|RTC)|"
        r"(?:gunshot|shotgun|bullet)\s*(?:wound|injur\w+)?|(?:been|was|got|were)\s+shot|"
        r"shot\s+(?:in|to)\s+the|stab(?:bed|bing)?\s*(?:wound|injur\w+)?|impal\w+|"
        r"penetrating\s+(?:injury|trauma|wound)|entrapment|trapped\s+in|prolonged\s+extrication",
        ("GSW", "SW"),
    ),
    "fall": ("fall", r"fall(?:s|en)?|fell|tripped|slipped", ()),
    # Metabolic
    "hypoglycaemia": (
        "hypoglycaemia",
        r"hypo(?:glyc(?:a)?emi\w*)?\b|low\s+(?:blood\s+)?(?:sugar|glucose|BGL|BSL|BG)",
        (),
    ),
    "ketoacidosis": (
        "possible ketoacidosis",
        r"(?:diabetic\s+)?keto\w*acidosis|ketones?\s+(?:high|raised|elevated|positive|\d)|"
        r"(?:high|raised|elevated|positive)\s+ketones?|kussmaul\w*|fruity\s+breath",
        ("DKA", "HHS"),
    ),
    # Pregnancy and obstetric
    "vaginal_bleeding": (
        "vaginal bleeding",
        r"(?:vaginal|PV|per\s+vagina)\s+(?:bleed\w*|blood|spotting|haemorrhage|hemorrhage)|"
        r"bleed\w*\s+(?:from\s+(?:the|her)\s+)?vagina\w*|(?:passing|passed)\s+clots|spotting|"
        r"(?:bleeding|bleed),\s+vaginal|(?:like|as\s+if)\s+(?:I\s+have\s+|I'?m\s+having\s+|she\s+has\s+|"
        r"having\s+)?(?:my|her|a)\s+period",
        ("PVB", "VB", "PV bleed", "PV bleeding"),
    ),
    "early_pregnancy": (
        "early or suspected pregnancy",
        r"missed\s+(?:(?:her|a|my|last)\s+)?(?:period|menses|menstrual\s+period)|late\s+period|"
        r"period\s+is\s+late|(?:positive|\+ve?)\s+(?:home\s+)?(?:pregnancy\s+test|preg\w*\s+test|"
        r"urine\s+hcg|beta[- ]?hcg|hcg|UPT)|(?:pregnancy\s+test|UPT|hcg)\s+(?:was\s+|is\s+)?"
        r"positive|(?:[1-9]|1[0-9])\s*(?:weeks?|wks?)\s+(?:pregnant|gestation)|"
        r"(?:first|1st)\s+trimester|early\s+pregnancy|(?:may|might|could)\s+be\s+pregnant|"
        r"possibl[ey]\s+pregnan\w+",
        ("LMP",),
    ),
    "visual_disturbance": (
        "visual disturbance",
        r"blurr\w+\s+vision|vision\s+(?:is\s+)?blurr\w+|seeing\s+(?:spots|stars|flashing\s+lights|"
        r"double)|flashing\s+lights|visual\s+(?:disturbance|changes?|symptoms?)|scotoma\w*|"
        r"spots\s+in\s+(?:(?:her|his|my)\s+)?vision",
        (),
    ),
    "epigastric_ruq_pain": (
        "epigastric or right upper quadrant pain",
        r"epigastri\w+(?:\s+(?:pain|discomfort|tenderness))?|(?:right\s+upper\s+quadrant|RUQ)\s*"
        r"(?:pain|discomfort|tenderness)?|(?:pain|discomfort)\s+(?:under|below)\s+(?:the\s+|her\s+)?"
        r"(?:right\s+)?ribs",
        ("RUQ",),
    ),
    "testicular_pain": (
        "testicular or scrotal pain",
        r"(?:testic\w+|testes|testis|scrot\w+|groin)\s+(?:pain|swelling|ache)|"
        r"(?:pain|swelling|ache)\s+(?:in|of)\s+(?:the\s+|his\s+|my\s+)?(?:left\s+|right\s+)?"
        r"(?:testic\w+|testes|testis|scrotum|balls?|nuts)|(?:pain,\s+)(?:testic\w+|scrot\w+)|"
        r"torsion",
        (),
    ),
    "abdominal_or_back_pain": (
        "abdominal or back pain",
        r"(?:abdominal|abdo|abd|belly|stomach|tummy|flank|back|epigastric|pelvic|lower\s+abdominal)"
        r"\s*(?:pain|ache|discomfort|cramps?)|(?:LLQ|RLQ|LUQ|suprapubic|(?:left|right)\s+(?:lower|"
        r"upper)\s+quadrant|(?:left|right)\s+iliac\s+fossa)\s*(?:pain|ache|discomfort|tenderness)|"
        r"(?:pain|ache|discomfort),?\s+(?:in\s+(?:the|his|her|my)\s+)?"
        r"(?:abdomen|abdominal|belly|stomach|back|flank)|belly\s*ache|stomach\s*ache|tummy\s*ache",
        (),
    ),
    # Infants
    "poor_feeding": (
        "poor feeding",
        r"(?:poor|decreased|reduced|not|isn'?t|refus\w+|won'?t)\s+(?:feeding|eating|nursing|"
        r"drinking|taking\s+(?:(?:the|her|his)\s+)?(?:bottle|breast|feeds?|formula))|"
        r"off\s+(?:(?:her|his)\s+)?feeds?|feeding\s+poorly|not\s+interested\s+in\s+feeds?",
        (),
    ),
    "floppy_infant": (
        "limp or floppy",
        r"limp|floppy|hypotoni\w+|(?:like\s+a\s+)?rag\s*doll",
        (),
    ),
    # Level-4/5 context
    "dialysis_missed": (
        "missed dialysis",
        r"miss\w*\s+(?:(?:his|her|their|a|the)\s+)?(?:last\s+)?(?:dialysis|HD|haemodialysis|"
        r"hemodialysis)|(?:did\s+not|didn'?t|not)\s+(?:go\s+to|attend|have)\s+(?:(?:his|her)\s+)?"
        r"dialysis",
        (),
    ),
    "alcohol_withdrawal": (
        "alcohol withdrawal signs",
        r"(?:alcohol|ETOH|EtOH|etoh)\s+withdrawal|withdraw\w*\s+from\s+(?:alcohol|drinking)|"
        r"delirium\s+tremens|tremor\w*|tremulous|the\s+shakes|shaky|shaking|"
        r"(?:(?:visual|tactile)\s*)?hallucinat\w+",
        ("DTs", "CIWA"),
    ),
    "alcohol": (
        "alcohol use",
        r"alcohol\w*|drink(?:s|ing|er)|drunk|intoxicat\w+|beers?|vodka|whisk(?:e)?y|wine|liquor",
        ("ETOH", "EtOH", "Etoh"),
    ),
    "sickle_crisis": (
        "sickle cell crisis",
        r"sickle[- ]cell\s+(?:pain\s+)?crisis|(?:vaso-?occlusive|sickle)\s+crisis|"
        r"sickle[- ]cell\s+(?:disease|anaemia|anemia)\s+(?:\w+\s+){0,8}(?:crisis|pain)",
        ("VOC",),
    ),
    "deformity": (
        "deformity or suspected fracture",
        r"(?:obvious|gross|visible)\s+deformit\w+|deform(?:ed|ity)|angulat\w+|open\s+fracture|"
        r"compound\s+fracture|(?:shortened|shortening)\s+(?:and\s+)?(?:externally\s+|internally\s+)?"
        r"rotat\w+|dislocat\w+|bone\s+(?:sticking|protruding|poking)\s+out|"
        r"(?:can'?t|cannot|unable\s+to)\s+(?:bear|put)\s+weight|in\s+a\s+sling|fractur\w+|"
        r"broken\s+(?:arm|leg|wrist|ankle|hip|bone)",
        (),
    ),
    "laceration": (
        "laceration",
        r"lacerations?|(?:deep|gaping|large)\s+(?:cut|wound)|cut\s+(?:his|her|my)\s+\w+\s+open|"
        r"needs?\s+(?:stitches|sutures)",
        ("lac",),
    ),
    # Expected-resources context (ESI v4 level 3), beyond CLINICAL.md
    "local_infection": (
        "signs of a local infection",
        r"(?:red|reddened|erythematous|warm|hot|swollen|tender)"
        r"(?:\s*(?:,|and|,\s*and)\s*(?:red|reddened|erythematous|warm|hot|swollen|tender|painful)"
        r"(?:\s+to\s+(?:the\s+)?touch)?){2,}",
        (),
    ),
    "implant": (
        "a joint replacement or implant",
        r"(?:knee|hip|shoulder|joint|elbow)\s+(?:replacement|arthroplasty|prosthesis)|"
        r"prosthe(?:sis|tic)\s+(?:joint|knee|hip)|(?:TKR|THR|TKA|THA)\b",
        (),
    ),
    "vte_risk": (
        "a risk factor for a clot (travel, immobility, hormones)",
        r"long[- ](?:haul\s+)?(?:flight|drive|car\s+ride|journey|trip|bus\s+ride)|"
        r"(?:sitting|sat|driving|been)\s+in\s+(?:a|the)\s+car\s+for|"
        r"immobil(?:e|i[sz]ed|ity)|bed[- ]?(?:bound|ridden)|leg\s+(?:in\s+)?(?:a\s+)?(?:cast|plaster)|"
        r"on\s+the\s+(?:contraceptive\s+)?pill|oral\s+contracepti\w+|obese|obesity",
        ("OCP", "OCPs"),
    ),
    "failed_antibiotics": (
        "an infection not settling on antibiotics",
        r"(?:on|taking|finished|completed|after)\s+(?:\w+\s+){0,2}antibiotics\s+(?:for\s+)?"
        r"(?:\d+|a\s+few|several|two|three|four|five)\s+days|"
        r"(?:not\s+(?:getting\s+)?better|no\s+better|worse)\s+(?:\w+\s+){0,2}(?:on|despite)\s+"
        r"(?:\w+\s+){0,2}antibiotics",
        (),
    ),
    "recent_surgery": (
        "recent surgery",
        r"(?:surgery|operation|procedure|bypass|-ectomy|ectomy)\s+(?:\d+|one|two|three|four|five|a)\s+"
        r"(?:days?|weeks?)\s+ago|post[- ]?op(?:erative)?(?:\s+day)?|recent(?:ly)?\s+(?:had\s+)?"
        r"(?:surgery|operation|procedure)",
        ("POD",),
    ),
    "comorbidity": (
        "significant comorbidity",
        r"(?:chronic\s+)?renal\s+failure|kidney\s+(?:failure|disease)|dialysis|heart\s+failure|"
        r"diabet\w+|cancer|malignan\w+|metasta\w+|cirrhosis|COPD|emphysema|transplant\w*|"
        r"immuno\w+|HIV|sickle|lymphoma|leuka?emia",
        ("CKD", "ESRD", "CHF", "DM", "T2DM", "T1DM", "IDDM", "NIDDM"),
    ),
    "defibrillator_shock": (
        "shock from an implanted defibrillator",
        r"(?:defibrillator|AICD|ICD|pacemaker)\s+(?:\w+\s+){0,3}(?:shock\w*|fired|discharged|went\s+off)|"
        r"(?:shocked|fired)\s+by\s+(?:(?:his|her)\s+)?(?:defibrillator|AICD|ICD)",
        (),
    ),
    # General words last: a specific finding at the same place wins
    "peripheral_site": (
        "a limb, joint, skin or superficial site",
        r"ankles?|wrists?|knees?|elbows?|shoulders?|hands?|fingers?|thumbs?|toes?|toenails?|"
        r"feet|foot|heels?|arms?|legs?|calf|calves|thighs?|shins?|forearms?|hips?|palms?|knuckles?|"
        r"digits?|index\s+finger|upper\s+arm|lower\s+leg|buttocks?|soles?|"
        r"tooth|teeth|dental|gums?|ears?|throat|skin|nail|finger\s*nail|lip",
        (),
    ),
    "pain": (
        "pain",
        r"pain\w*|ache|aches|aching|hurts?|hurting|sore(?:ness)?|discomfort|cramp\w*|colic|"
        r"tender(?:ness)?",
        (),
    ),
    "pain_severe": (
        "severe pain words",
        r"severe|excruciating|worst|unbearable|agoni[sz]ing|agony|terrible|intense|"
        r"(?:screaming|crying|moaning|writhing|doubled\s+over)\s+(?:in|with)\s+pain|"
        r"(?:moaning|writhing|screaming)|unbelievable|(?:[89]|10|[2-9]\d)\s*(?:/|out\s+of)\s*10",
        (),
    ),
    "pain_moderate": ("moderate pain words", r"moderate|significant", ()),
    "pain_mild": ("mild pain words", r"mild|slight|minor|little\s+bit", ()),
    "chronic": (
        "chronic or usual",
        r"chronic|long[- ]standing|(?:his|her|my|their)\s+usual|as\s+usual|same\s+as\s+(?:usual|always|"
        r"before)|recurrent|for\s+(?:years|months)|ongoing\s+for\s+(?:years|months)|flare",
        (),
    ),
    "pain_new_or_worst": (
        "new, different or worst-ever",
        r"(?:new|different|worse)\s+than\s+(?:usual|before|ever)|not\s+(?:like\s+)?(?:(?:his|her|my)\s+)?"
        r"usual|worst\s+(?:ever|of\s+(?:my|his|her)\s+life)|never\s+(?:had|felt)\s+"
        r"(?:anything\s+)?like\s+this|(?:new|different)\s+(?:kind|type)\s+of\s+pain|"
        r"an?\s+new\s+pain|different\s+(?:from|to|than)\s+(?:(?:his|her|my|their|the)\s+)?"
        r"(?:usual|before|normal|previous)",
        (),
    ),
    "sudden": (
        "sudden onset",
        r"sudden(?:ly)?|abrupt(?:ly)?|thunderclap|out\s+of\s+nowhere|all\s+of\s+a\s+sudden|"
        r"(?:came|come)\s+on\s+(?:all\s+at\s+once|suddenly|fast)|instant(?:ly|aneous)|"
        r"within\s+(?:seconds|a\s+minute)|maximal\s+at\s+onset",
        (),
    ),
    "worst_ever": (
        "worst ever",
        r"worst\s+(?:headache\s+)?(?:ever|of\s+(?:my|his|her|their)\s+life|in\s+(?:my|his|her)\s+life|"
        r"(?:i'?ve|he'?s|she'?s|they'?ve)\s+ever\s+had)|thunderclap",
        (),
    ),
}

# Findings found within another finding's words: the general finding is added too.
IMPLIES: dict[str, tuple[str, ...]] = {
    "gi_bleed": ("vomiting",),
    "repeated_vomiting": ("vomiting",),
    "seizing": ("seizure",),
    "post_ictal": ("seizure",),
    "unwitnessed_fall": ("fall",),
    "high_risk_mechanism": (),
    "chest_pain": ("pain",),
    "headache": ("pain",),
    "testicular_pain": ("pain",),
    "abdominal_or_back_pain": ("pain",),
    "epigastric_ruq_pain": ("pain",),
    "sepsis_word": ("infection",),
    "blood_poisoning": ("infection",),
    "worst_ever": ("pain_severe",),
    "poor_perfusion": (),
    "severe_resp_distress": ("dyspnoea",),
    "moderate_resp_distress": ("dyspnoea",),
}


@dataclass(frozen=True)
class FindingMention(Asserted):
    """One finding in a text: which, where, and ConText's verdict."""

    finding: str
    label: str
    text: str
    start: int
    end: int
    context: ContextResult


def _group(finding: str) -> str:
    return f"f_{finding}"


def _alternatives(finding: str) -> str:
    """The finding's words (any case; a typed or curly apostrophe) and abbreviations."""
    _, words, abbreviations = FINDINGS[finding]
    words = _curly_apostrophes(words)
    return "|".join([f"(?i:{words})", *(re.escape(a) for a in abbreviations)])


def _curly_apostrophes(pattern: str) -> str:
    """Let each apostrophe of a pattern match a typed or a curly one (also inside [...])."""
    out, in_set = [], False
    for i, char in enumerate(pattern):
        escaped = i > 0 and pattern[i - 1] == "\\"
        if char == "[" and not escaped:
            in_set = True
        elif char == "]" and not escaped:
            in_set = False
        if char == "'":
            out.append("'\u2019" if in_set else "['\u2019]")
        else:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class _Scanner:
    """Per first letter, one pattern of the finding phrases that start with it (lexicon order,
    so the specific phrase wins); `misc` for the phrases that start with a digit or a sign
    ("2 episodes of", "+ve"). One regex call per word instead of every phrase at every word."""

    by_letter: dict[str, re.Pattern[str]]
    misc: re.Pattern[str] | None
    owner: dict[str, str]  # group name -> finding


# How a phrase that is not filed under a letter may start: it is tried only at words that
# start with a digit or a sign, so one that could start with a letter would never be tried.
_MISC_START = re.compile(r"(?:\(\?i:)?(?:\d|\\d|\[\d|\\\+|-)")


@cache
def _scanner() -> _Scanner:
    groups: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for finding, (_, words, abbreviations) in FINDINGS.items():
        parts = [f"(?i:{p})" for p in expand_alternatives(_curly_apostrophes(words))]
        parts += [re.escape(a) for a in abbreviations]
        for part in parts:
            bare = part[4:-1] if part.startswith("(?i:") else part
            letter = first_letter(bare) if not bare.startswith("\\") else ""
            if not letter and not _MISC_START.match(part):
                raise ValueError(f"{finding}: {bare!r} must start with a letter, digit or sign")
            name = f"g{len(owner)}"
            owner[name] = finding
            groups.setdefault(letter, []).append(f"(?P<{name}>{part})")
    misc = groups.pop("", None)

    def compile_(parts: list[str]) -> re.Pattern[str]:
        return re.compile(f"(?:{'|'.join(parts)})(?![\\w/])")

    return _Scanner(
        by_letter={letter: compile_(parts) for letter, parts in groups.items()},
        misc=compile_(misc) if misc else None,
        owner=owner,
    )


_WORD_START = re.compile(r"(?<![\w/])[\w+]")


def _matches(text: str) -> list[tuple[str, int, int]]:
    """(finding, start, end) left to right, never overlapping; at one place the finding
    earliest in the lexicon wins (alternatives are tried in lexicon order)."""
    scanner = _scanner()
    found: list[tuple[str, int, int]] = []
    resume = 0
    for word in _WORD_START.finditer(text):
        at = word.start()
        if at < resume:
            continue
        first = text[at]
        pattern = scanner.by_letter.get(first.lower()) if first.isalpha() else scanner.misc
        match = pattern.match(text, at) if pattern is not None else None
        if match is not None and match.lastgroup is not None:
            found.append((scanner.owner[match.lastgroup], at, match.end()))
            resume = match.end()
    return found


# "SI/HI", "SI, HI", "SI or HI", "HI/SI": beside suicidal ideation, HI is homicidal ideation
# (alone, in a trauma note, it is a head injury).
_JOINED = re.compile(r"\s*(?:/|,|or|and|&)?\s*")


def _psychiatric_hi(text: str, found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    def si(i: int) -> bool:
        return 0 <= i < len(found) and text[found[i][1] : found[i][2]] == "SI"

    out = list(found)
    for i, (finding, start, end) in enumerate(found):
        if finding != "head_injury" or text[start:end] != "HI":
            continue
        if (si(i - 1) and _JOINED.fullmatch(text, found[i - 1][2], start)) or (
            si(i + 1) and _JOINED.fullmatch(text, end, found[i + 1][1])
        ):
            out[i] = ("homicidal", start, end)
    return out


@cache
def _single(finding: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w/])(?:{_alternatives(finding)})(?![\w/])")


def find_findings(text: str) -> list[FindingMention]:
    """Every finding mentioned in `text`, asserted or not, in order, with ConText verdicts.

    A finding found inside a wider one ("vomiting" inside "vomiting blood") is reported too.
    """
    mentions: list[FindingMention] = []
    for finding, start, end in _psychiatric_hi(text, _matches(text)):
        context = assess_context(text, start, end)
        for name in (finding, *IMPLIES.get(finding, ())):
            mentions.append(
                FindingMention(name, FINDINGS[name][0], text[start:end], start, end, context)
            )
    return mentions


def in_span(finding: str, text: str, start: int, end: int) -> re.Match[str] | None:
    """The first mention of `finding` inside text[start:end] (a modifier near an anchor)."""
    return _single(finding).search(text, start, end)
