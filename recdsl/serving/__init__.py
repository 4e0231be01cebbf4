"""7. A trained run -> a SavedModel that takes raw feature values: `signature` describes what
it takes (no TensorFlow), `savedmodel` writes it, `errors` are what both raise."""
