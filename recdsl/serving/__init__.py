"""7. A trained run -> a SavedModel that takes raw feature values."""
