"""Interoperability: FHIR R4 out (fhir.py) and HL7 v2 in; nothing heavy imported here."""
