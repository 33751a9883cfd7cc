"""Site calibration: a model learned from the site's own outcomes that may only make a level more
urgent (issue 13; README: Site calibration). scikit-learn and numpy are imported lazily."""
