"""Medical images: intake checks, DICOM decoding without identifying tags, technical quality,
storage by content hash, encoder embeddings and similar earlier cases.

Pillow, numpy and pydicom (the `imaging` extra) are imported inside functions, and torch only
in `encoder`, so importing this package costs nothing.
"""
